//! Extraction rules for whole responses, lenient grading, and `--extract` JSONL lines.

use super::*;

fn ex(text: &str) -> (String, &'static str) {
    let e = extract_final(text).expect("an answer");
    (e.answer, e.rule.name())
}

fn grades(response: &str, gold: &str) -> bool {
    grade_response(response, gold).equal
}

#[test]
fn boxed_takes_the_last_box() {
    assert_eq!(
        ex("First \\boxed{3}.\n\nSo the result is $\\boxed{\\frac{1}{2}}$."),
        ("\\frac{1}{2}".into(), "boxed")
    );
    assert_eq!(ex("\\fbox{7}"), ("7".into(), "boxed"));
    assert_eq!(ex("so $\\boxed 5$"), ("5".into(), "boxed"));
    // The innermost of nested boxes; an unclosed last box falls back to an earlier one.
    assert_eq!(ex("\\boxed{\\boxed{4}}"), ("4".into(), "boxed"));
    assert_eq!(ex("\\boxed{9} and then \\boxed{1"), ("9".into(), "boxed"));
}

#[test]
fn several_joined_boxes_are_all_taken() {
    assert_eq!(ex("The roots are $\\boxed{2}$ and $\\boxed{-3}$."), ("2, -3".into(), "boxed"));
    assert_eq!(ex("\\boxed{1}, \\boxed{2}, or \\boxed{3}"), ("1, 2, 3".into(), "boxed"));
    // The same answer boxed twice is one answer.
    assert_eq!(ex("\\boxed{5} \\boxed{5.0}"), ("5".into(), "boxed"));
    assert_eq!(
        ex("$\\boxed{15\\frac{39}{40}}$ or $\\boxed{\\frac{639}{40}}$"),
        ("15\\frac{39}{40}".into(), "boxed")
    );
    // Boxes separated by prose: only the last counts.
    assert_eq!(ex("\\boxed{2} is a step; the total is \\boxed{8}"), ("8".into(), "boxed"));
    assert!(grades("$x=\\boxed{-3}$ or $x=\\boxed{2}$", "2, -3"));
}

#[test]
fn the_answer_is_takes_math_or_the_sentence() {
    assert_eq!(ex("Work.\n\nThe answer is 42."), ("42".into(), "answer_is"));
    assert_eq!(
        ex("So the final answer is $\\frac{3}{4}$. I hope it is correct."),
        ("\\frac{3}{4}".into(), "answer_is")
    );
    assert_eq!(ex("**Final Answer:** 18 dollars"), ("18".into(), "answer_is"));
    assert_eq!(ex("Answer: \\(x^2+1\\)\n"), ("x^2+1".into(), "answer_is"));
    assert_eq!(ex("The final answer is:\n\n$$\\sqrt{2}$$"), ("\\sqrt{2}".into(), "answer_is"));
    assert_eq!(ex("steps\n#### 1,234"), ("1,234".into(), "answer_is"));
    assert_eq!(ex("The answer is that Verna received $7.00 in change."), ("7.00".into(), "answer_is"));
    assert_eq!(ex("The answer is $50$%."), ("50\\%".into(), "answer_is"));
    // A phrase that introduces no answer is passed over.
    assert_eq!(ex("Answer: let us think step by step.\n\nSo we get 12."), ("12".into(), "last_number"));
    assert_eq!(ex("So the answer is Evelyn."), ("Evelyn".into(), "answer_is"));
}

#[test]
fn the_last_math_segment_of_the_last_paragraph() {
    assert_eq!(ex("We get $x=3$.\n\nHence $y = 7$."), ("y = 7".into(), "math"));
    assert_eq!(ex("Thus\n$$\\frac{\\pi}{4}$$"), ("\\frac{\\pi}{4}".into(), "math"));
    assert_eq!(ex("Thus \\(2\\sqrt{3}\\) is it"), ("2\\sqrt{3}".into(), "math"));
    assert_eq!(ex("Thus \\[ (1,2] \\]"), ("(1,2]".into(), "math"));
    // Unclosed delimiters are skipped, not searched for again and again.
    assert_eq!(ex("\\[ x $$ y \\( $4$"), ("4".into(), "math"));
}

#[test]
fn dollar_amounts_are_not_math() {
    assert_eq!(ex("She pays $2 per egg, so she makes $18 every day."), ("18".into(), "last_number"));
    assert!(grades("She sells 9 eggs at $2 each and makes $18 a day.", "18"));
}

#[test]
fn a_bold_answer_or_a_number_after_symbolic_math() {
    let t = "So the number \\(2^3 \\cdot 5^8\\) has **10 digits**.";
    assert_eq!(ex(t), ("10".into(), "bold"));
    assert_eq!(ex("Thus, the largest prime that divides \\(S\\) is **2**."), ("2".into(), "bold"));
    let t = "Therefore, the degree of \\((x^5+ex^4+f)(x^2+gx+h)\\) is 7. Done";
    assert_eq!(ex(t), ("7".into(), "number_after_math"));
    // A trailing name is passed over for the math before it.
    assert_eq!(ex("a total of \\(2 + 1 = 3\\) values for \\(n\\)."), ("2 + 1 = 3".into(), "math"));
    assert!(grades("a total of \\(2 + 1 = 3\\) values for \\(n\\).", "3"));
    // After a value, a later number is context, not the answer.
    assert_eq!(ex("a total of \\(34\\) hours in 4 weeks."), ("34".into(), "math"));
}

#[test]
fn joined_math_and_lenient_readings() {
    assert_eq!(ex("The roots are $2$ and $-3$."), ("2, -3".into(), "math"));
    assert_eq!(ex("The solution is $x < -2$ or $x > 3$."), ("x < -2, x > 3".into(), "math"));
    assert!(grades("The solution is $x < -2$ or $x > 3$.", "(-\\infty,-2)\\cup(3,\\infty)"));
    // Different variables are not one answer: the last one stands.
    assert_eq!(ex("We have $a = 2$ and $b = 3$."), ("b = 3".into(), "math"));
    assert_eq!(
        ex("So $\\sin 36 = \\frac12$, $\\cos 72 = \\frac13$."),
        ("\\cos 72 = \\frac13".into(), "math")
    );
    assert!(grades("Final answer: x=2, y=3", "(2,3)"));
    assert!(!grades("Final answer: x=2, x=3", "(2,3)"));
    assert!(grades(
        "We get $$x = \\frac{-1 \\pm \\sqrt{5}}{2}$$",
        "\\frac{-1+\\sqrt5}{2}, \\frac{-1-\\sqrt5}{2}"
    ));
    assert!(!grades("We get $$x = \\frac{-1 \\pm \\sqrt{5}}{2}$$", "\\frac{-1+\\sqrt5}{2}"));
}

#[test]
fn a_final_relation_outside_math() {
    assert_eq!(ex("Solving, we find\nx = 5"), ("5".into(), "assignment"));
    assert_eq!(ex("So the solution is x \\le 2."), ("x \\le 2".into(), "assignment"));
    assert_eq!(ex("The solutions are x = 2 and x = -3."), ("2, -3".into(), "assignment"));
    assert!(grades("The solutions are x = 2 and x = -3.", "-3, 2"));
    assert!(grades("So the solution is x \\le 2.", "(-\\infty, 2]"));
    assert!(grades("The solution set is $-1 < x \\leq 3$.", "(-1,3]"));
    assert!(grades("Therefore $x > 0$", "(0,\\infty)"));
    assert!(!grades("Therefore $x \\ge 0$", "(0,\\infty)"));
}

#[test]
fn malformed_answers_are_no_answers() {
    // A response cut off by the token limit.
    assert_eq!(extract_answer("We get 4 and 6.\n\nThe answer is \\("), Some("6".to_string()));
    assert_eq!(ex("We get 4 and 6.\n\nThe answer is \\("), ("6".into(), "last_number"));
    assert_eq!(ex("So \\boxed{7}. Then \\boxed{\\(}"), ("7".into(), "boxed"));
    assert!(extract_final("The answer is $").is_none());
    assert!(grades("The orchard earned \\boxed{$1000} from selling apples.", "1000"));
}

#[test]
fn the_last_number_is_the_fallback() {
    assert_eq!(ex("3 apples and 4 pears make 7 fruits in all"), ("7".into(), "last_number"));
    assert_eq!(ex("The total is 1,234,567 people"), ("1234567".into(), "last_number"));
    assert!(extract_final("no numbers here at all").is_none());
}

#[test]
fn text_answers() {
    assert!(grades("The answer is $\\boxed{\\text{Evelyn}}$.", "\\text{Evelyn}"));
    assert!(grades("The correct option is \\boxed{\\text{(C)}}", "C"));
    assert!(grades("Final answer: \\text{odd}", "\\text{odd}"));
}

#[test]
fn a_short_text_with_no_rule_is_its_own_answer() {
    let days = "\\text{Monday, Tuesday and Friday}";
    assert!(looks_like_response(days));
    let g = grade_response(days, "Monday, Tuesday and Friday");
    assert_eq!(g.pred.map(|p| p.rule), Some(Rule::Whole));
    assert!(g.equal);
    assert!(grade_response(&"word ".repeat(100), "word").pred.is_none());
}

#[test]
fn numbers_as_people_write_them() {
    assert!(grades("The population is \\boxed{12,000}.", "12000"));
    assert!(grades("The answer is 3,5", "3.5"));
    assert!(grades("The answer is 3,5", "3, 5"));
    assert!(!grades("The answer is 3,500", "3.5"));
    assert!(grades("So she earns \\boxed{\\$1,250.00}", "1250"));
    assert!(grades("It is $\\boxed{18 \\text{ dollars}}$", "18"));
    assert!(grades("The speed is \\boxed{60 \\text{ mph}}", "60"));
    assert!(grades("Therefore \\boxed{25\\%} of them", "25"));
    assert!(grades("The final answer is: \\boxed{\\15}", "15"));
    assert!(grades("It costs \\boxed{€5}", "5"));
    assert!(grades("It costs £5 in all.", "5"));
    assert!(grades("The area is \\boxed{12 \\text{ cm}^2}", "12"));
    assert!(grades("It takes \\boxed{1.5 \\text{ hours}}", "\\frac32"));
    assert!(grades("So \\boxed{50\\%} of them", "\\frac{1}{2}"));
    assert!(grades("The answer is 12.5 percent", "12.5"));
    assert!(!grades("So \\boxed{3.14}", "\\pi"));
    assert!(grades("Total: $2 \\times 9 = 18$", "18"));
    assert!(grades("So $\\pi r^2 \\approx 3.1416$", "\\pi"));
}

#[test]
fn structured_answers() {
    let m = "$$\\boxed{\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}}$$";
    assert!(grades(m, "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}"));
    assert!(!grades(m, "\\begin{pmatrix}1&2\\\\4&3\\end{pmatrix}"));
    // A row break right before a digit is not a lost dollar sign.
    let tight = "\\boxed{\\begin{pmatrix} 1 & 2 \\\\3 & 4 \\end{pmatrix}}";
    assert_eq!(ex(tight).0, "\\begin{pmatrix} 1 & 2 \\\\3 & 4 \\end{pmatrix}");
    assert!(grades(tight, "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}"));
    assert!(grades("The interval is $\\boxed{[-2, 5)}$", "[-2,5)"));
    assert!(!grades("The interval is $\\boxed{[-2, 5]}$", "[-2,5)"));
    assert!(grades("Hence the set is $\\{3, 1, 2\\}$.", "\\{1,2,3\\}"));
    assert!(grades(
        "The point is \\boxed{\\left(3, \\frac{\\pi}{2}\\right)}",
        "\\left( 3, \\frac{\\pi}{2} \\right)"
    ));
    assert!(!grades("The point is \\boxed{(\\frac{\\pi}{2}, 3)}", "\\left( 3, \\frac{\\pi}{2} \\right)"));
}

#[test]
fn symbolic_answers() {
    assert!(grades("\\boxed{\\frac{x^2-1}{x-1}}", "x+1"));
    assert!(grades("\\boxed{2\\sqrt{2}}", "\\sqrt{8}"));
    assert!(!grades("\\boxed{2\\sqrt{3}}", "\\sqrt{8}"));
}

#[test]
fn gold_reference_solutions_give_their_answer() {
    assert_eq!(extract_gold("She makes 9 * 2 = $18.\n#### 18").answer, "18");
    assert_eq!(extract_gold("So the area is $\\boxed{12}$.").answer, "12");
    assert_eq!(extract_gold(" \\frac{1}{2} ").rule, Rule::Whole);
    assert!(grades("The answer is 18.", "Janet sells 9 eggs.\n#### 18"));
}

#[test]
fn responses_are_told_from_answers() {
    assert!(looks_like_response("Step 1.\n\nStep 2."));
    assert!(looks_like_response("so \\boxed{3}"));
    assert!(looks_like_response("The answer is 3"));
    assert!(looks_like_response("We add the two numbers and get five"));
    assert!(looks_like_response("The solution is $x < -2$ or $x > 3$."));
    for a in ["\\frac{1}{2}", "x = 5", "\\text{Evelyn}", "(3, \\frac{\\pi}{2})", "18 dollars", "[-2, 5)"] {
        assert!(!looks_like_response(a), "{a}");
    }
}

#[test]
fn hostile_text_is_handled_in_bounded_time() {
    let junk = "\\boxed{".repeat(20_000) + &"$".repeat(20_000) + &"\\[\\(".repeat(20_000) + "é$";
    let start = std::time::Instant::now();
    let _ = extract_final(&junk);
    let _ = grade_response(&junk, &junk);
    let answer_is = "the answer is é ".repeat(20_000);
    let _ = extract_final(&answer_is);
    // One long line of dollars, one of assignments, one of bold markers.
    for junk in ["$ a ", "x = 1, ", "**1 ", "\\boxed{1} and "] {
        let line = format!("Step.\n\n{}", junk.repeat(200_000));
        let t = std::time::Instant::now();
        let _ = grade_response(&line, "1");
        assert!(t.elapsed().as_secs() < 5, "{junk:?}: {:?}", t.elapsed());
    }
    assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
    // Multi-byte text right around every delimiter.
    for t in [
        "é$é$é",
        "\\(é\\)",
        "\\boxed{é}",
        "the answer is ñ.",
        "x = ü",
        "€5 €6",
        "a\u{2004}x \\le 2",
        "**é1**",
    ] {
        let _ = extract_final(t);
    }
}

#[test]
fn extract_lines_name_the_rule() {
    let input = concat!(
        "{\"id\": \"a\", \"pred\": \"Step.\\n\\nSo \\\\boxed{18}.\", \"gold\": \"18\"}\n",
        "{\"pred\": \"She makes $18 a day.\", \"gold\": \"She sells 9.\\n#### 18\"}\n",
        "{\"pred\": \"0.5\", \"gold\": \"\\\\frac12\"}\n",
        "not json\n",
        "{\"pred\": [1], \"gold\": \"1\"}\n",
    );
    let mut out = Vec::new();
    let summary = grade_jsonl(input.as_bytes(), &mut out).unwrap();
    assert_eq!(summary, GradeSummary { lines: 5, equal: 3, errors: 2 });
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "{\"id\":\"a\",\"answer\":\"18\",\"rule\":\"boxed\",\"gold\":\"18\",\"equal\":true}"
    );
    assert_eq!(lines[1], "{\"answer\":\"18\",\"rule\":\"last_number\",\"gold\":\"18\",\"equal\":true}");
    assert_eq!(lines[2], "{\"pred\":\"0.5\",\"gold\":\"\\\\frac12\",\"equal\":true}");
    assert!(lines[3].starts_with("{\"line\":4,\"error\":\"line 4: invalid JSON"), "{}", lines[3]);
    assert!(lines[4].starts_with("{\"line\":5,\"error\":"), "{}", lines[4]);
    // Forced modes.
    let mut out = Vec::new();
    grade_jsonl_mode("{\"pred\": \"1/2\", \"gold\": \"0.5\"}".as_bytes(), &mut out, GradeMode::Extract)
        .unwrap();
    assert!(String::from_utf8(out).unwrap().contains("\"rule\":\"last_number\""));
    let mut out = Vec::new();
    grade_jsonl_mode(
        "{\"pred\": \"so \\\\boxed{2}\", \"gold\": \"2\"}".as_bytes(),
        &mut out,
        GradeMode::Answers,
    )
    .unwrap();
    assert!(String::from_utf8(out).unwrap().starts_with("{\"pred\""));
}
