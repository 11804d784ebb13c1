//! Property tests of the text paths. 256 cases each by default; `PROPTEST_CASES` overrides.

use proptest::prelude::*;
use ttc::model::TopLogprob;
use ttc::problem::Problem;
use ttc::run::fill;
use ttc::safe::{clip, redact, sanitize};
use ttc::steps::{split_steps, StepSplitter};
use ttc::strategy::revise::{RevisePrompt, HISTORY};
use ttc::tui::app::one_line;
use ttc::tui::text::{latex_to_unicode, Highlighter};
use ttc::tui::theme;
use ttc::verify::arith::find_claims;
use ttc::verify::JudgeTemplate;

fn config() -> ProptestConfig {
    // `with_cases` would ignore PROPTEST_CASES; the default config reads it.
    let env = ProptestConfig::default();
    ProptestConfig {
        cases: if std::env::var_os("PROPTEST_CASES").is_some() { env.cases } else { 256 },
        ..env
    }
}

/// Text made of what breaks splitters: blank lines, multi-byte and combining characters.
fn stepish() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::collection::vec(
            prop_oneof![
                Just("\n".to_string()), Just("\n\n".to_string()), Just(" ".to_string()),
                Just("×".to_string()), Just("π".to_string()), Just("✓".to_string()), Just("—".to_string()),
                Just("中文".to_string()), Just("🙂".to_string()), Just("e\u{301}".to_string()),
                Just("\r\n".to_string()), Just("a".to_string()), Just("12".to_string()),
            ],
            0..40,
        ).prop_map(|v| v.concat()),
        1 => any::<String>(),
    ]
}

/// Math-heavy text: LaTeX commands, Markdown and code markers, multi-byte characters.
fn mathish() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::collection::vec(
            prop_oneof![
                Just("\\frac"), Just("\\sqrt["), Just("\\boxed"), Just("\\pi"), Just("\\text"), Just("\\"),
                Just("{"), Just("}"), Just("$"), Just("$$"), Just("^"), Just("_"), Just("`"), Just("```"),
                Just("*"), Just("**"), Just("["), Just("]("), Just(")"), Just("\\["), Just("\\]"), Just("\\("),
                Just("#"), Just("- "), Just("1."), Just(">"), Just("~~~"), Just("\n"), Just(" "), Just("x"),
                Just("2"), Just("×"), Just("中"), Just("🙂"), Just("e\u{301}"), Just("\t"), Just("\u{202E}"),
            ],
            0..60,
        ).prop_map(|v| v.concat()),
        1 => any::<String>(),
    ]
}

/// Char-boundary cut points of `text` from arbitrary numbers.
fn cuts(text: &str, raw: &[usize]) -> Vec<usize> {
    let bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
    let mut c: Vec<usize> = raw.iter().map(|r| bounds[r % bounds.len()]).collect();
    c.sort_unstable();
    c
}

fn is_hostile(c: char) -> bool {
    (c.is_control() && c != '\n') || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_splitter_under_any_chunking_equals_splitting_the_whole(
        text in stepish(),
        raw in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let mut s = StepSplitter::new();
        let mut steps = Vec::new();
        let mut from = 0;
        for cut in cuts(&text, &raw) {
            steps.extend(s.feed(&text[from..cut]));
            from = cut;
        }
        steps.extend(s.feed(&text[from..]));
        steps.extend(s.finish());
        prop_assert_eq!(steps, split_steps(&text));
    }

    #[test]
    fn sanitize_leaves_no_control_or_bidi_character(text in any::<String>()) {
        let out = sanitize(&text);
        prop_assert!(!out.contains(is_hostile), "{:?}", out);
    }

    #[test]
    fn redact_never_leaves_a_password(
        before in "[^:/]{0,20}",
        scheme in "[a-z][a-z0-9+]{0,7}",
        user in "[a-zA-Z0-9._-]{0,8}",
        password in "[a-zA-Z0-9!$%&*+=~]{1,16}",
        host in "[a-z0-9.-]{1,12}(:[0-9]{1,5})?",
        after in "(/[^ ]{0,10})?( .{0,20})?",
    ) {
        let text = format!("{before}{scheme}://{user}:{password}@{host}{after}");
        let out = redact(&text);
        let leaked = format!(":{password}@");
        prop_assert!(!out.contains(&leaked), "{:?} → {:?}", text, out);
    }

    #[test]
    fn clip_is_short_and_keeps_a_prefix(text in any::<String>(), max in 0usize..40) {
        let out = clip(&text, max);
        let n = text.chars().count();
        if n <= max {
            prop_assert_eq!(out.as_ref(), text.as_str());
        } else {
            let kept: String = text.chars().take(max).collect();
            let suffix = format!("… ({} more bytes)", text.len() - kept.len());
            prop_assert!(out.starts_with(&kept));
            prop_assert_eq!(out.chars().count(), max + suffix.chars().count());
        }
    }

    #[test]
    fn latex_and_highlighting_never_panic_and_keep_characters(text in mathish()) {
        let h = Highlighter::new();
        let t = theme::bundled("dark").unwrap();
        for input in [text.clone(), latex_to_unicode(&text), latex_to_unicode(&sanitize(&text))] {
            let lines = h.highlight(&input, &t);
            let drawn: Vec<String> =
                lines.iter().map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect()).collect();
            let want: Vec<&str> = input.lines().collect();
            prop_assert_eq!(drawn, want);
        }
    }

    #[test]
    fn one_line_is_one_short_line(text in any::<String>(), max in 0usize..30) {
        let out = one_line(&text, max);
        prop_assert!(out.chars().count() <= max + 1);
        prop_assert!(!out.contains('\n'));
    }

    #[test]
    fn arithmetic_claims_never_panic_and_check_sums(
        noise in mathish(),
        a in -10_000i64..10_000,
        b in -10_000i64..10_000,
        c in -30_000i64..30_000,
    ) {
        let _ = find_claims(&noise);
        let claims = find_claims(&format!("So {a} + ({b}) = {c} apples"));
        prop_assert_eq!(claims.len(), 1);
        prop_assert_eq!(claims[0].ok, a + b == c);
    }

    #[test]
    fn judge_verdicts_never_panic(text in any::<String>(), token in any::<String>(), lp in -50.0f64..0.0) {
        let t = JudgeTemplate::bundled();
        let v = t.parse_verdict(&text);
        let first: String = text.split_whitespace().next().unwrap_or("").chars().filter(|c| c.is_alphanumeric()).collect();
        prop_assert_eq!(v.is_some(), first.eq_ignore_ascii_case("yes") || first.eq_ignore_ascii_case("no"));
        if let Some((y, n)) = t.verdict_probs(&[TopLogprob { token, logprob: lp }]) {
            prop_assert!(y >= 0.0 && n >= 0.0 && y + n > 0.0);
        }
    }

    #[test]
    fn prompts_carry_problem_and_steps_as_written(
        problem in "([a-z ×中]|\\{(problem|step|previous|step_number|count|attempts)\\}){0,12}",
        steps in proptest::collection::vec("([a-z ×🙂]|\\{(problem|step|previous|count|attempts)\\}){1,12}", 1..7),
    ) {
        let p = Problem::inline(&problem, None);
        let user = RevisePrompt::bundled().messages(&p, &steps).pop().unwrap().content;
        prop_assert!(user.contains(&problem), "{}", user);
        for a in &steps[steps.len().saturating_sub(HISTORY)..] {
            prop_assert!(user.contains(a.trim()), "{}", user);
        }
        let judge = JudgeTemplate::bundled().render(&problem, &steps, steps.len() - 1);
        prop_assert!(judge.contains(&problem) && steps.iter().all(|s| judge.contains(s.as_str())), "{}", judge);
    }

    #[test]
    fn fill_puts_values_in_once(values in proptest::collection::vec("[a-z{}]{0,8}", 2)) {
        let out = fill("<{a}|{b}|{c}>", &[("a", &values[0]), ("b", &values[1])]);
        prop_assert_eq!(out, format!("<{}|{}|{{c}}>", values[0], values[1]));
    }
}

/// A URL whose authority runs into a second `scheme://` with no `/` between them: `redact`
/// resumes its search after the first authority, past the second URL's `:`, and leaks it.
#[test]
fn redact_hides_a_url_glued_to_another() {
    assert!(!redact("see http://http://u:secret@host/").contains("secret"));
    assert_eq!(redact("http://u:pw@h://x:y@z/p"), "http://***@h://***@z/p");
}
