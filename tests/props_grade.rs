//! Property tests: grading, answer extraction, the JSONL loaders and the settings parsers
//! never panic on hostile input, and exact numbers compare exactly.
//!
//! 256 cases per property by default (`ProptestConfig::default()`); set `PROPTEST_CASES`
//! for a longer run.

use num_bigint::BigInt;
use proptest::prelude::*;
use ttc::config::{limits, Config};
use ttc::grade::{answer_key, answers_equal, extract_answer, grade_jsonl, normalize};
use ttc::problem::{parse_jsonl_bytes, ProblemError};
use ttc::strategy::adaptive::{PolicyTable, HEURISTIC_POLICY as POLICY};
use ttc::tui::theme;

/// LaTeX-ish pieces that exercise every branch of the normaliser and the parser.
const PIECES: &[&str] = &[
    "\\frac",
    "\\dfrac",
    "\\sqrt",
    "\\boxed",
    "\\text",
    "\\left",
    "\\right",
    "\\pi",
    "\\infty",
    "\\pm",
    "\\cup",
    "\\{",
    "\\}",
    "\\\\",
    "\\!",
    "\\,",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "^",
    "_",
    "-",
    "+",
    "*",
    "/",
    ",",
    ".",
    "=",
    "!",
    "%",
    "$",
    "&",
    " ",
    "x",
    "e",
    "i",
    "0",
    "1",
    "2",
    "9",
    "10",
    "1e400",
    "1,000",
    "99999999999999999999",
    "\\begin{pmatrix}",
    "\\end{pmatrix}",
    "\\cdot",
    "\\times",
    "the answer is ",
    "\\sin",
    "\\ln",
    "é",
    "π",
    "√",
    "∞",
    "−",
    "\u{0}",
    "\\approx",
    "\\in",
    "\\circ",
    "^{",
    "\\mbox{",
];

fn latexish() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..40).prop_map(|v| v.concat())
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        latexish(),
        // Deep nesting and long runs, past every recursion bound.
        (0usize..10_000, prop::sample::select(&["{", "(", "\\frac{", "\\sqrt{", "-", "2^", "\\text{"][..]))
            .prop_map(|(n, p)| p.repeat(n)),
        (0usize..2_000, latexish()).prop_map(|(n, s)| format!("{}{s}{}", "{".repeat(n), "}".repeat(n / 2))),
    ]
}

/// A random integer of up to 60 digits, either sign.
fn big_int() -> impl Strategy<Value = BigInt> {
    (any::<bool>(), prop::collection::vec(0u8..10, 1..60)).prop_map(|(neg, digits)| {
        let s: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
        let n: BigInt = s.parse().unwrap_or_default();
        if neg {
            -n
        } else {
            n
        }
    })
}

/// `n` with `,` between groups of three digits.
fn with_commas(n: &BigInt) -> String {
    let digits = n.magnitude().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n.sign() == num_bigint::Sign::Minus {
        format!("-{out}")
    } else {
        out
    }
}

proptest! {
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn grading_never_panics(a in any_text(), b in any_text()) {
        let _ = normalize(&a);
        let _ = answer_key(&a);
        let _ = extract_answer(&a);
        let _ = answers_equal(&a, &b);
        let _ = answers_equal(&b, &a);
        let _ = answers_equal(&a, "1");
    }

    #[test]
    fn extracted_answers_equal_themselves(text in any_text()) {
        if let Some(answer) = extract_answer(&text) {
            // A dangling `\` would escape the closing dollar: `$\$` is not math mode.
            if !normalize(&answer).is_empty() && !answer.ends_with('\\') {
                prop_assert!(answers_equal(&answer, &answer), "{:?}", answer);
                let dollars = format!("${answer}$");
                prop_assert!(answers_equal(&answer, &dollars), "{:?}", answer);
            }
        }
    }

    #[test]
    fn big_integers_equal_iff_their_decimal_forms_are(a in big_int(), delta in -3i32..=3, other in big_int()) {
        let b = &a + delta;
        prop_assert_eq!(answers_equal(&a.to_string(), &b.to_string()), a == b, "{} vs {}", a, b);
        prop_assert_eq!(answers_equal(&a.to_string(), &other.to_string()), a == other, "{} vs {}", a, other);
        prop_assert!(answers_equal(&with_commas(&a), &a.to_string()), "{}", with_commas(&a));
        prop_assert_eq!(answers_equal(&with_commas(&a), &b.to_string()), a == b);
    }

    #[test]
    fn big_integer_arithmetic_is_exact(q in big_int(), d in 2u32..100_000, r in 0u32..100_000) {
        let n = &q * d + r;
        let spelled = format!("{q}\\cdot {d}+{r}").replace("+-", "-");
        prop_assert!(answers_equal(&spelled, &n.to_string()), "{} = {}", spelled, n);
        let off = (&n + 1u8).to_string();
        prop_assert!(!answers_equal(&spelled, &off), "{} != {}", spelled, off);
    }

    #[test]
    fn terminating_fractions_equal_their_decimals(a in big_int(), twos in 0u32..40, fives in 0u32..40) {
        let b = BigInt::from(2u8).pow(twos) * BigInt::from(5u8).pow(fives);
        let k = twos.max(fives);
        // a/b = a * 10^k / b / 10^k, and b divides 10^k.
        let scaled = (&a * BigInt::from(10u8).pow(k) / &b).magnitude().to_string();
        let padded = format!("{scaled:0>width$}", width = k as usize + 1);
        let (int, frac) = padded.split_at(padded.len() - k as usize);
        let sign = if a.sign() == num_bigint::Sign::Minus { "-" } else { "" };
        let decimal = if k == 0 { format!("{sign}{int}") } else { format!("{sign}{int}.{frac}") };
        let frac_form = format!("\\frac{{{a}}}{{{b}}}");
        prop_assert!(answers_equal(&frac_form, &decimal), "{} = {}", frac_form, decimal);
        prop_assert!(answers_equal(&decimal, &frac_form), "{} = {}", decimal, frac_form);
    }

    #[test]
    fn problem_loader_never_panics_and_numbers_lines(bytes in prop::collection::vec(any::<u8>(), 0..400), strict in any::<bool>()) {
        let n_lines = bytes.split(|&b| b == b'\n').count();
        match parse_jsonl_bytes(&bytes, "f.jsonl", strict) {
            Ok(report) => {
                for e in &report.skipped {
                    prop_assert!((1..=n_lines).contains(&e.line), "{}", e);
                    let prefix = format!("f.jsonl:{}: ", e.line);
                    prop_assert!(e.to_string().starts_with(&prefix), "{}", e);
                }
            }
            Err(ProblemError::Malformed(e)) | Err(ProblemError::NotJsonl { first: e, .. }) => {
                prop_assert!((1..=n_lines).contains(&e.line), "{}", e);
            }
            Err(e) => prop_assert!(e.to_string().contains("f.jsonl"), "{}", e),
        }
    }

    #[test]
    fn problem_loader_skips_only_the_bad_lines(lines in prop::collection::vec(prop_oneof![
        Just(b"{\"problem\": \"p\", \"answer\": \"1\"}".to_vec()),
        prop::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 1..30),
    ], 1..12)) {
        let bytes = lines.join(&b'\n');
        let good = lines.iter().filter(|l| l.starts_with(b"{\"problem\"")).count();
        if let Ok(report) = parse_jsonl_bytes(&bytes, "f.jsonl", false) {
            prop_assert!(report.problems.len() >= good);
            for p in &report.problems {
                let line: usize = p.id.rsplit(':').next().unwrap_or("0").parse().unwrap_or(0);
                prop_assert!((1..=lines.len()).contains(&line), "{}", p.id);
            }
        } else {
            // No good line, or a pretty-printed JSON array (`[` alone on the first line).
            let first = lines.iter().find(|l| !l.iter().all(u8::is_ascii_whitespace));
            let array = first.is_some_and(|l| l.trim_ascii() == b"[");
            prop_assert!(good == 0 || array, "{} good lines", good);
        }
    }

    #[test]
    fn grade_jsonl_never_panics_and_answers_every_line(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut out = Vec::new();
        let summary = grade_jsonl(&bytes[..], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        prop_assert_eq!(text.lines().count(), summary.lines);
        for (i, line) in text.lines().enumerate() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if let Some(n) = v.get("line") {
                prop_assert_eq!(n.as_u64(), Some(i as u64 + 1));
            }
        }
    }

    #[test]
    fn settings_parsers_never_panic_and_name_the_file(text in prop_oneof![any::<String>(), toml_ish()]) {
        if let Err(e) = Config::parse(&text, "/cfg/config.toml") {
            prop_assert!(e.starts_with("/cfg/config.toml"), "{}", e);
        }
        if let Err(e) = theme::parse(&text, "/th/mine.toml") {
            prop_assert!(e.starts_with("/th/mine.toml"), "{}", e);
        }
        if let Err(e) = PolicyTable::parse(&text, "/p/policy.toml") {
            prop_assert!(e.starts_with("/p/policy.toml"), "{}", e);
        }
    }

    #[test]
    fn policy_knobs_outside_the_limits_are_rejected(key in prop::sample::select(&["width", "depth", "lookahead", "chains"][..]), value in 0u64..2_000_000) {
        let text = POLICY.replacen("width = 4", &format!("width = 4\n{key} = {value}"), 1);
        let ok = match key {
            "width" => false, // a second `width` is a duplicate key
            "depth" => limits::DEPTH.contains(&(value.min(u64::from(u32::MAX)) as u32)),
            "lookahead" => limits::LOOKAHEAD.contains(&(value.min(u64::from(u32::MAX)) as u32)),
            _ => limits::CHAINS.contains(&(value as usize)),
        };
        let result = PolicyTable::parse(&text, "p.toml");
        prop_assert_eq!(result.is_ok(), ok, "{} = {}: {:?}", key, value, result);
        if let Err(e) = result {
            prop_assert!(e.starts_with("p.toml"), "{}", e);
        }
    }
}

/// Text shaped like the three settings files, with random keys and values.
fn toml_ish() -> impl Strategy<Value = String> {
    let key = prop::sample::select(
        &[
            "name",
            "inherits",
            "bg",
            "fg",
            "host",
            "concurrency",
            "theme",
            "n",
            "bin",
            "strategy",
            "width",
            "depth",
            "chains",
            "temperature",
            "reason",
            "bogus",
        ][..],
    );
    let value = prop_oneof![
        any::<i64>().prop_map(|v| v.to_string()),
        any::<f64>().prop_map(|v| format!("{v:?}")),
        "[a-z#0-9 ]{0,8}".prop_map(|s| format!("\"{s}\"")),
        Just("\"dark\"".to_string()),
        Just("\"beam\"".to_string()),
        Just("nan".to_string()),
        Just("[1, 2]".to_string()),
    ];
    let header = prop::sample::select(&["", "[run]\n", "[[bins]]\n", "[keys]\n"][..]);
    prop::collection::vec((header, key, value), 0..12)
        .prop_map(|v| v.into_iter().map(|(h, k, val)| format!("{h}{k} = {val}\n")).collect())
}

#[test]
fn policy_limits_name_the_file_and_the_range() {
    let cases = [
        ("width = 4", "width = 1000000", "p.toml: bin 3: width = 1000000 is out of range (valid: 1..=64)"),
        ("width = 4", "width = 0", "p.toml: bin 3: width = 0 is out of range (valid: 1..=64)"),
        ("chains = 1", "chains = 0", "p.toml: bin 1: chains = 0 is out of range (valid: 1..=1024)"),
        ("chains = 2", "chains = 100000", "p.toml: bin 2: chains = 100000 is out of range (valid: 1..=1024)"),
        ("width = 4", "width = 4\ndepth = 0", "p.toml: bin 3: depth = 0 is out of range (valid: 1..=200)"),
        (
            "width = 4",
            "width = 4\ntemperature = -1.0",
            "p.toml: bin 3: temperature = -1 is out of range (valid: 0..=2)",
        ),
    ];
    for (from, to, expected) in cases {
        let text = POLICY.replacen(from, to, 1);
        assert_eq!(PolicyTable::parse(&text, "p.toml").unwrap_err(), expected);
    }
    // `n` is not a policy key (the budget N is the run's): the file and key are named.
    let text = POLICY.replacen("width = 4", "width = 4\nn = 100000", 1);
    let e = PolicyTable::parse(&text, "p.toml").unwrap_err();
    assert!(e.starts_with("p.toml:") && e.contains("unknown field `n`"), "{e}");
    assert!(PolicyTable::parse(POLICY, "p.toml").is_ok());
}

#[test]
fn config_limits_name_the_file_and_the_range() {
    let parse = |text: &str| Config::parse(text, "c.toml").unwrap().drop_out_of_range("c.toml");
    let e = parse("concurrency = 100000\n");
    assert_eq!(e, ["c.toml: concurrency = 100000 is out of range (valid: 1..=256); using the default"]);
    let e = parse("[run]\nn = 0\n");
    assert_eq!(e, ["c.toml: run.n = 0 is out of range (valid: 1..=1024); using the default"]);
    let e = parse("[run]\ntemperature = nan\n");
    assert_eq!(e, ["c.toml: run.temperature = NaN is out of range (valid: 0..=2); using the default"]);
    assert!(parse("concurrency = 256\n[run]\nn = 1024\n").is_empty());
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    let deep = [
        "{".repeat(10_000),
        format!("\\boxed{{{}1{}}}", "{".repeat(10_000), "}".repeat(10_000)),
        format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000)),
        "\\frac{".repeat(10_000),
        "\\sqrt{".repeat(10_000),
        "-".repeat(10_000) + "1",
        "2^".repeat(10_000) + "2",
        "1+".repeat(10_000) + "1",
        "1\\cdot ".repeat(2_000) + "1",
    ];
    for d in &deep {
        let _ = extract_answer(d);
        let _ = answers_equal(d, "1");
        assert!(answers_equal(d, d) || normalize(d).is_empty());
    }
}
