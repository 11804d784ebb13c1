//! Tests for extraction, normalisation, equivalence and JSONL grading.

use super::*;
use serde_json::Value;
use std::path::PathBuf;

/// `(prediction, gold, expected)` covering every answer form in MATH-500 and GSM8K.
const CASES: &[(&str, &str, bool)] = &[
    // --- integers, GSM8K-style money and thousands separators ---
    ("18", "18", true),
    ("18.0", "18", true),
    ("18.00", "18", true),
    ("$18", "18", true),
    ("\\$18", "18", true),
    ("18 dollars", "18", true),
    ("18 dollars", "\\$18", true),
    ("5 apples", "5", true),
    ("1,000", "1000", true),
    ("65,960", "65960", true),
    ("1450000", "1,450,000", true),
    ("10080", "10,\\!080", true),
    ("11111111100", "11,\\! 111,\\! 111,\\! 100", true),
    ("32348", "\\$32,\\!348", true),
    ("58500", "58,500", true),
    ("18.9", "\\$18.90", true),
    ("\\$18.90", "18.90", true),
    ("-3", "-3", true),
    ("\\boxed{42}", "42", true),
    ("$\\frac{2}{3}$", "\\frac{2}{3}", true),
    ("-17", "-17", true),
    ("-18", "18", false),
    ("17", "18", false),
    ("10081", "10080", false),
    ("1450001", "1,450,000", false),
    ("18.5", "18", false),
    ("180", "18", false),
    ("1,000", "100", false),
    // --- fractions and mixed numbers ---
    ("\\frac{1}{2}", "1/2", true),
    ("0.5", "\\frac12", true),
    ("\\dfrac{17}{50}", "\\frac{17}{50}", true),
    ("0.34", "\\dfrac{17}{50}", true),
    ("\\frac34", "\\frac 34", true),
    ("3/4", "\\frac 34", true),
    ("0.75", "\\frac{3}{4}", true),
    ("\\tfrac{9}{19}", "\\frac9{19}", true),
    ("\\frac{270}{7}", "\\frac{270}7\\text{ degrees}", true),
    ("-0.96", "-\\frac{24}{25}", true),
    ("\\frac{-24}{25}", "-\\frac{24}{25}", true),
    ("-24/25", "-\\frac{24}{25}", true),
    ("\\frac{4}{3}", "\\frac43", true),
    ("1.8", "1\\frac{4}{5}", true),
    ("\\frac{9}{5}", "1\\frac{4}{5}", true),
    ("\\frac{275}{2}", "137 \\frac{1}{2}", true),
    ("137.5", "137 \\frac{1}{2}", true),
    ("\\frac{639}{40}", "15\\frac{39}{40}", true),
    ("998.5", "\\frac{1997}{2}", true),
    ("\\frac{448}{15625}", "0.028672", true),
    ("\\frac{1}{2}", "\\frac{1}{3}", false),
    ("1/3", "0.5", false),
    ("0.33", "\\frac{1}{3}", false),
    ("\\frac{24}{25}", "-\\frac{24}{25}", false),
    ("\\frac{4}{5}", "1\\frac{4}{5}", false),
    ("137", "137 \\frac{1}{2}", false),
    ("\\frac{3}{4}", "\\frac{4}{3}", false),
    // --- square roots ---
    ("\\frac{\\sqrt{3}}{2}", "\\sqrt{3}/2", true),
    ("0.8660254", "\\frac{\\sqrt{3}}{2}", true),
    ("\\sqrt3/2", "\\frac{\\sqrt{3}}{2}", true),
    ("11\\sqrt{2}", "11\\sqrt2", true),
    ("\\sqrt{242}", "11\\sqrt2", true),
    ("\\sqrt{20}", "2\\sqrt{5}", true),
    ("2 \\sqrt{5}", "2\\sqrt{5}", true),
    ("\\frac{1}{\\sqrt{3}}", "\\frac{\\sqrt{3}}{3}", true),
    ("\\sqrt[3]{8}", "2", true),
    ("\\sqrt[3]{-8}", "-2", true),
    ("2\\sqrt{3}+1", "1+2\\sqrt{3}", true),
    ("11+11\\sqrt{5}", "11 \\sqrt{5} + 11", true),
    ("\\frac{3}{4}\\sqrt{3}", "\\frac{3\\sqrt{3}}{4}", true),
    ("\\sqrt{\\frac{21}{25}}", "\\frac{\\sqrt{21}}{5}", true),
    ("1.4142", "\\sqrt{2}", true),
    ("\\sqrt{51}", "\\sqrt{51}", true),
    ("\\sqrt{3}", "\\sqrt{2}", false),
    ("\\sqrt{3}/3", "\\sqrt{3}", false),
    ("1.41", "\\sqrt{2}", false),
    ("-\\sqrt{3}", "\\sqrt{3}", false),
    ("3\\sqrt{13}", "13\\sqrt{3}", false),
    // --- pi ---
    ("12\\pi", "12 \\pi", true),
    ("\\pi \\cdot 12", "12\\pi", true),
    ("37.699", "12\\pi", true),
    ("2\\pi+18", "18+2\\pi", true),
    ("20000/\\pi", "\\frac{20000}{\\pi}", true),
    ("-\\pi/6", "-\\frac{\\pi}{6}", true),
    ("3.14159265", "\\pi", true),
    ("8\\pi", "8 \\pi", true),
    ("288\\pi", "288 \\pi", true),
    ("7 \\pi", "7\\pi", true),
    ("3.14", "\\pi", false),
    ("12", "12\\pi", false),
    ("\\frac{\\pi}{6}", "-\\frac{\\pi}{6}", false),
    ("\\pi^2", "2\\pi", false),
    // --- complex numbers ---
    ("6-5i", "6 - 5i", true),
    ("-5i+6", "6 - 5i", true),
    ("-2+7i", "-2 + 7i", true),
    ("7i-2", "-2 + 7i", true),
    ("274i+1", "1+274i", true),
    ("1-12i", "1 - 12i", true),
    ("(1+2i)", "1+2i", true),
    ("3(2+3i)", "6+9i", true),
    ("6+5i", "6 - 5i", false),
    ("5i+6", "-5i+6", false),
    ("6", "6 - 5i", false),
    ("2+7i", "-2 + 7i", false),
    // --- tuples / points ---
    ("(-1,6)", "(-1, 6)", true),
    ("\\left(2,4\\right)", "(2,4)", true),
    ("(3,\\frac{\\pi}{2})", "\\left( 3, \\frac{\\pi}{2} \\right)", true),
    ("(1.5,-13)", "\\left( \\frac{3}{2}, -13 \\right)", true),
    ("(1, -16, -4, 43)", "(1,-16,-4,43)", true),
    ("(6,31,-1)", "(6,31,-1)", true),
    ("(15, -29)", "(15,-29)", true),
    ("(2,1)", "(1,2)", false),
    ("(6,-1)", "(-1,6)", false),
    ("(1,2)", "(1,2,3)", false),
    ("(1, -16, -4, 42)", "(1,-16,-4,43)", false),
    ("(3,\\pi)", "\\left( 3, \\frac{\\pi}{2} \\right)", false),
    // --- intervals and unions ---
    ("(-\\infty,0]", "(-\\infty, 0]", true),
    ("(-\\infty,2)\\cup(3,\\infty)", "(-\\infty, 2) \\cup (3, \\infty)", true),
    ("(3,\\infty)\\cup(-\\infty,2)", "(-\\infty, 2) \\cup (3, \\infty)", true),
    ("(0.6,\\frac{8}{3}]", "\\left(\\frac{3}{5},\\frac{8}{3}\\right]", true),
    ("[-2,7]", "x \\in [-2,7]", true),
    ("(2, \\infty)", "(2,\\infty)", true),
    (
        "[\\frac{\\pi^2}{8},\\frac{5\\pi^2}{4}]",
        "\\left[ \\frac{\\pi^2}{8}, \\frac{5 \\pi^2}{4} \\right]",
        true,
    ),
    ("(-\\sqrt{3},\\sqrt{3})", "(-\\sqrt{3}, \\sqrt{3})", true),
    ("(0,9)\\cup(9,36)", "(0,9) \\cup (9,36)", true),
    ("(3,4]", "(3,4]", true),
    ("[1,2)", "[1,2]", false),
    ("(1,2]", "[1,2]", false),
    ("(-\\infty,0)", "(-\\infty, 0]", false),
    ("(0,\\infty)", "(-\\infty, 0]", false),
    ("(-\\infty,2)\\cup[3,\\infty)", "(-\\infty, 2) \\cup (3, \\infty)", false),
    ("(-2,\\infty)", "(2,\\infty)", false),
    ("\\infty", "-\\infty", false),
    ("(-\\infty, 2)", "(-\\infty, 2) \\cup (3, \\infty)", false),
    // --- sets and bare lists (unordered) ---
    ("-2, 1+\\sqrt{5}, 1-\\sqrt{5}", "\\{1\\pm\\sqrt{5},-2\\}", true),
    ("\\{-2,1-\\sqrt{5},1+\\sqrt{5}\\}", "\\{1\\pm\\sqrt{5},-2\\}", true),
    ("-2,1", "1,-2", true),
    ("7, 5, 3", "3, 5, 7", true),
    ("\\{3,5,7\\}", "3, 5, 7", true),
    ("1+\\sqrt{19}, 1-\\sqrt{19}", "1 \\pm \\sqrt{19}", true),
    ("3-2\\sqrt{2},3+2\\sqrt{2}", "3 \\pm 2 \\sqrt{2}", true),
    ("x=1, x=-2", "1,-2", true),
    ("1 \\text{ and } -2", "1,-2", true),
    ("\\{5\\}", "5", true),
    ("1,2", "1,-2", false),
    ("1,-2,3", "1,-2", false),
    ("1,1,-2", "1,-2", false),
    ("\\{1,2\\}", "\\{1,3\\}", false),
    ("1+\\sqrt{5}", "\\{1\\pm\\sqrt{5},-2\\}", false),
    ("1+\\sqrt{19}", "1 \\pm \\sqrt{19}", false),
    ("3, 5", "3, 5, 7", false),
    // --- matrices and vectors ---
    (
        "\\begin{pmatrix}-1&0\\\\0&-1\\end{pmatrix}",
        "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}",
        true,
    ),
    (
        "\\begin{pmatrix} -\\frac{1}{3} \\\\ \\frac{2}{3} \\\\ \\frac{5}{3} \\end{pmatrix}",
        "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}",
        true,
    ),
    ("(-18,-49,96)", "\\begin{pmatrix} -18 \\\\ -49 \\\\ 96 \\end{pmatrix}", true),
    ("\\begin{bmatrix} 0.2 \\\\ -3.6 \\end{bmatrix}", "\\begin{pmatrix} 1/5 \\\\ -18/5 \\end{pmatrix}", true),
    (
        "\\begin{pmatrix} 16/49 \\\\ 48/49 \\\\ 24/49 \\end{pmatrix}",
        "\\begin{pmatrix} 16/49 \\\\ 48/49 \\\\ 24/49 \\end{pmatrix}",
        true,
    ),
    (
        "\\begin{pmatrix} 1 & 0 \\\\ 0 & -1 \\end{pmatrix}",
        "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}",
        false,
    ),
    ("(-18,-49,-96)", "\\begin{pmatrix} -18 \\\\ -49 \\\\ 96 \\end{pmatrix}", false),
    (
        "\\begin{pmatrix} -2 \\\\ -14 \\end{pmatrix}",
        "\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}",
        false,
    ),
    // --- polynomials and expressions with variables ---
    ("x^5-x^4+x^3-x^2+x-1", "x^5 - x^4 + x^3 - x^2 + x - 1", true),
    ("-1+x-x^2+x^3-x^4+x^5", "x^5 - x^4 + x^3 - x^2 + x - 1", true),
    ("\\frac{x^9-1}{x-1}", "x^8 + x^7 + x^6 + x^5 + x^4 + x^3 + x^2 + x + 1", true),
    ("2(3r^2-2r-12)", "6r^2-4r-24", true),
    ("1+4n+8n^2", "8n^2 + 4n + 1", true),
    ("2(k+1)", "2k+2", true),
    ("k+k", "2k", true),
    ("(b+2)(a+5)", "(a+5)(b+2)", true),
    ("ab+2a+5b+10", "(a+5)(b+2)", true),
    ("-q+p", "p - q", true),
    ("\\frac{9a+11}{20}", "\\frac{11+9a}{20}", true),
    ("3R^{2}", "3R^2", true),
    ("5r^{5}", "5r^5", true),
    ("\\frac{\\cos x}{\\sin x}", "\\cot x", true),
    ("\\cot(x)", "\\cot x", true),
    ("3x+x^3-6", "x^3+3x-6", true),
    ("3-13x", "-13x+3", true),
    ("5(3x-16)", "15x - 80", true),
    ("x^5-x^4+x^3-x^2+x+1", "x^5 - x^4 + x^3 - x^2 + x - 1", false),
    ("2k+1", "2k+2", false),
    ("2k", "2k+2", false),
    ("p+q", "p - q", false),
    ("q-p", "p - q", false),
    ("3r^2", "3R^2", false),
    ("\\tan x", "\\cot x", false),
    ("x^3+3x+6", "x^3+3x-6", false),
    ("5r^4", "5r^5", false),
    // --- equations ---
    ("y=2x+3", "y = 2x + 3", true),
    ("2x+3", "y = 2x + 3", true),
    ("y=-2x", "y = -2x", true),
    ("5x-7y+11z=-4", "5x - 7y + 11z + 4 = 0", true),
    ("-5x+7y-11z-4=0", "5x - 7y + 11z + 4 = 0", true),
    ("10x-14y+22z+8=0", "5x - 7y + 11z + 4 = 0", true),
    ("x=5", "5", true),
    ("k = 5", "x=5", true),
    ("y=2x-3", "y = 2x + 3", false),
    ("y=3x+2", "y = 2x + 3", false),
    ("y=2x", "y = -2x", false),
    ("5x-7y+11z=4", "5x - 7y + 11z + 4 = 0", false),
    ("x=6", "x=5", false),
    // --- degrees ---
    ("90^\\circ", "90", true),
    ("90", "90^\\circ", true),
    ("90\u{b0}", "90", true),
    ("106^{\\circ}", "106^\\circ", true),
    ("30 degrees", "30^\\circ", true),
    ("\\frac{270}{7}^\\circ", "\\frac{270}7\\text{ degrees}", true),
    ("91", "90^\\circ", false),
    ("120^\\circ", "12", false),
    // --- bases (strings only) ---
    ("52_8", "52_8", true),
    ("52_{8}", "52_8", true),
    ("4210_5", "4210_{5}", true),
    ("52", "52_8", false),
    ("52_8", "52", false),
    ("52_9", "52_8", false),
    ("2516_8", "1358", false),
    // --- text answers ---
    ("\\text{Evelyn}", "Evelyn", true),
    ("evelyn", "\\text{Evelyn}", true),
    ("East", "\\text{east}", true),
    ("\\textbf{ellipse}", "\\text{ellipse}", true),
    ("even", "\\text{even}", true),
    ("\\text{Navin}", "Navin", true),
    ("\\text{Evelyn}", "\\text{Navin}", false),
    ("west", "\\text{east}", false),
    ("odd", "\\text{even}", false),
    ("parabola", "\\text{ellipse}", false),
    // --- multiple choice ---
    ("\\text{(C)}", "C", true),
    ("(C)", "\\text{(C)}", true),
    ("C", "\\text{(C)}", true),
    ("\\textbf{(B)}", "\\text{(B)}", true),
    ("E", "\\text{(E)}", true),
    ("\\text{(B)}", "\\text{(C)}", false),
    ("B", "(C)", false),
    ("(A)", "\\text{(E)}", false),
    // --- units ---
    ("15", "15\\mbox{ cm}^2", true),
    ("15 cm^2", "15\\mbox{ cm}^2", true),
    ("864", "864 \\mbox{ inches}^2", true),
    ("864 square inches", "864 \\mbox{ inches}^2", true),
    ("5.4", "5.4 \\text{ cents}", true),
    ("5.4 cents", "5.4 \\text{ cents}", true),
    ("36", "\\$36", true),
    ("36 dollars", "\\$36", true),
    ("16", "15\\mbox{ cm}^2", false),
    ("5.5", "5.4 \\text{ cents}", false),
    // --- percents ---
    ("50\\%", "50", true),
    ("50%", "50", true),
    ("0.5", "50\\%", true),
    ("25%", "0.25", true),
    ("50", "0.5", false),
    ("5%", "50", false),
    // --- decimals and scientific notation ---
    ("0.0000672", ".0000672", true),
    ("6.72 \\times 10^{-5}", ".0000672", true),
    ("6.72e-5", "0.0000672", true),
    ("3.5625 \\times 10^{-1}", ".35625", true),
    ("1.5\\times10^{6}", "1500000", true),
    ("0.150", "0.15", true),
    ("3.21", "3.21", true),
    ("0.0000673", ".0000672", false),
    ("0.35626", ".35625", false),
    ("0.16", "0.15", false),
    // --- negatives, powers, factorials, constants ---
    ("-2^7", "-128", true),
    ("(-2)^8", "256", true),
    ("2^{10}", "1024", true),
    ("2^10", "1024", true),
    ("5!", "120", true),
    ("\\sqrt{2}^2", "2", true),
    ("e^2", "e^{2}", true),
    ("2.718281828", "e", true),
    ("-4", "4", false),
    ("(-2)^7", "128", false),
    ("2^{10}", "1023", false),
    ("2^{1000}", "2^{1001}", false),
    ("10^{400}", "10^{401}", false),
    ("e", "2.7", false),
    ("\\frac{1}{0}", "\\frac{2}{0}", false),
    // --- empty and junk ---
    ("", "5", false),
    ("5", "", false),
    ("", "", false),
    ("   ", "5", false),
    ("\\$", "5", false),
    ("\\frac{", "\\frac{1}{2}", false),
];

#[test]
fn table_of_answer_pairs() {
    let failures: Vec<String> = CASES
        .iter()
        .filter(|(p, g, want)| answers_equal(p, g) != *want)
        .map(|(p, g, want)| {
            format!(
                "pred {p:?} vs gold {g:?}: expected {want}, normalized {:?} vs {:?}",
                normalize(p),
                normalize(g)
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn table_is_large_and_balanced() {
    let falses = CASES.iter().filter(|c| !c.2).count();
    assert!(CASES.len() >= 170, "only {} cases", CASES.len());
    assert!(falses >= 50, "only {falses} false cases");
}

#[test]
fn equality_is_symmetric_on_table() {
    for (p, g, want) in CASES {
        if p.trim().is_empty() || g.trim().is_empty() {
            continue;
        }
        assert_eq!(answers_equal(g, p), *want, "swapped case: gold {g:?} vs pred {p:?}");
    }
}

// ---------------------------------------------------------------- extraction

#[test]
fn extract_boxed_with_nested_braces() {
    assert_eq!(
        extract_answer("so $x = \\boxed{\\frac{\\sqrt{3}}{2}}$.").as_deref(),
        Some("\\frac{\\sqrt{3}}{2}")
    );
    assert_eq!(extract_answer("\\boxed{\\{1,2\\}}").as_deref(), Some("\\{1,2\\}"));
}

#[test]
fn extract_last_of_several_boxes() {
    let text = "First \\boxed{15\\frac{39}{40}}, or \\boxed{\\frac{639}{40}} inches.";
    assert_eq!(extract_answer(text).as_deref(), Some("\\frac{639}{40}"));
    assert_eq!(extract_answer("\\fbox{3} then \\boxed{4}").as_deref(), Some("4"));
    assert_eq!(extract_answer("\\boxed{4} then \\fbox{3}").as_deref(), Some("3"));
}

#[test]
fn extract_boxed_space_form_and_unclosed() {
    assert_eq!(extract_answer("answer: $\\boxed 5$").as_deref(), Some("5"));
    // An unclosed last box falls back to the earlier closed one.
    assert_eq!(extract_answer("\\boxed{7} and later \\boxed{8").as_deref(), Some("7"));
    // Only an unclosed box: fall through to the last number, no panic.
    assert_eq!(extract_answer("\\boxed{\\frac{1}{2").as_deref(), Some("2"));
    assert_eq!(extract_answer("\\boxed{").as_deref(), None);
}

#[test]
fn extract_answer_is_phrases() {
    assert_eq!(extract_answer("Adding up, the answer is 42.").as_deref(), Some("42"));
    assert_eq!(
        extract_answer("The final answer is $\\frac{1}{2}$. I hope it is correct.").as_deref(),
        Some("\\frac{1}{2}")
    );
    assert_eq!(extract_answer("THE ANSWER IS **3.5**\nmore text 99").as_deref(), Some("3.5"));
    assert_eq!(extract_answer("The answer is 7. Wait, the answer is 8.").as_deref(), Some("8"));
    assert_eq!(extract_answer("Final answer: (C)").as_deref(), Some("(C)"));
    // A shown sum is its value; math delimiters around the phrase go.
    assert_eq!(extract_answer("The answer is \\(1034 - 45 = 989\\).").as_deref(), Some("989"));
    assert_eq!(
        extract_answer("The answer is $17 \\times 23 - 45 = 391 - 45 = 346$.").as_deref(),
        Some("346")
    );
    assert_eq!(extract_answer("The answer is \\(\\frac{1}{2}\\).").as_deref(), Some("\\frac{1}{2}"));
    assert_eq!(extract_answer("The answer is \\[\\frac{3}{4} \\cdot 8 = 6\\]").as_deref(), Some("6"));
    // An equation with a letter stays whole; so does a lone `=` with nothing after it.
    assert_eq!(extract_answer("The answer is y = 2x + 3.").as_deref(), Some("y = 2x + 3"));
    assert_eq!(extract_answer("The answer is 12 + 30 =\n").as_deref(), Some("12 + 30 ="));
}

#[test]
fn extract_last_number() {
    assert_eq!(extract_answer("She makes 9 * 2 = $18 every day.").as_deref(), Some("18"));
    assert_eq!(extract_answer("The total is 1,450,000 dollars").as_deref(), Some("1450000"));
    assert_eq!(extract_answer("It drops to -5 degrees").as_deref(), Some("-5"));
    assert_eq!(extract_answer("3-5 is two apart").as_deref(), Some("5"));
    assert_eq!(extract_answer("about 3.75 km.").as_deref(), Some("3.75"));
    assert_eq!(extract_answer("she ate 3/4 of it").as_deref(), Some("3/4"));
    assert_eq!(extract_answer("items 2,3 and 4").as_deref(), Some("4"));
    assert_eq!(extract_answer("#### 65,960").as_deref(), Some("65960"));
}

#[test]
fn extract_nothing() {
    assert_eq!(extract_answer(""), None);
    assert_eq!(extract_answer("no digits here at all"), None);
    assert_eq!(extract_answer("the answer is"), None);
}

// ---------------------------------------------------------------- normalisation

#[test]
fn normalization_rules() {
    let cases = [
        ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})"),
        ("\\dfrac{17}{50}", "\\frac{17}{50}"),
        ("\\tfrac12", "\\frac{1}{2}"),
        ("\\frac 34", "\\frac{3}{4}"),
        ("\\frac9{19}", "\\frac{9}{19}"),
        ("11\\sqrt2", "11\\sqrt{2}"),
        ("10,\\!080", "10080"),
        ("\\$32,\\!348", "32348"),
        ("58,500", "58500"),
        ("3, 5, 7", "3,5,7"),
        ("1,-2", "1,-2"),
        ("90^\\circ", "90"),
        ("106^{\\circ}", "106"),
        ("15\\mbox{ cm}^2", "15"),
        ("864 \\mbox{ inches}^2", "864"),
        ("5.4 \\text{ cents}", "5.4"),
        ("\\frac{270}7\\text{ degrees}", "\\frac{270}{7}"),
        ("18 dollars", "18"),
        ("\\$18.90", "18.9"),
        ("18.00", "18"),
        ("5.", "5"),
        ("50\\%", "50"),
        ("x=5", "5"),
        ("k = -3", "-3"),
        ("y = 2x + 3", "2x+3"),
        ("x \\in [-2,7]", "[-2,7]"),
        ("5x - 7y + 11z + 4 = 0", "5x-7y+11z+4=0"),
        ("\\text{(C)}", "C"),
        ("\\text{Evelyn}", "Evelyn"),
        (".35625", "0.35625"),
        ("4210_{5}", "4210_5"),
        ("3R^{2}", "3R^2"),
        ("\\cot x", "\\cot x"),
        ("1/2", "\\frac{1}{2}"),
        ("0.5", "0.5"),
        ("\\boxed{\\frac{2}{3}}", "\\frac{2}{3}"),
        ("\\sqrt[3]{2}", "\\sqrt[3]{2}"),
        ("\\leftarrow", "\\leftarrow"),
    ];
    for (input, want) in cases {
        assert_eq!(normalize(input), want, "normalize({input:?})");
    }
}

#[test]
fn normalization_keeps_matrix_rows() {
    assert_eq!(
        normalize("\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}"),
        "\\begin{pmatrix}-2\\\\-14\\\\-7\\end{pmatrix}"
    );
}

#[test]
fn answer_key_groups_equivalent_spellings() {
    assert_eq!(answer_key("\\dfrac{1}{2}"), answer_key("1/2"));
    assert_eq!(answer_key("$1,000"), answer_key("1000"));
    assert_eq!(answer_key("\\text{(B)}"), answer_key("B"));
}

// ---------------------------------------------------------------- JSONL

fn run_jsonl(input: &str) -> (Vec<Value>, GradeSummary) {
    let mut out = Vec::new();
    let summary = grade_jsonl(input.as_bytes(), &mut out).expect("in-memory IO cannot fail");
    let text = String::from_utf8(out).expect("output is UTF-8");
    let values = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad output line {l:?}: {e}")))
        .collect();
    (values, summary)
}

#[test]
fn jsonl_good_lines_in_order() {
    let input = "{\"pred\": \"\\\\frac{1}{2}\", \"gold\": \"0.5\"}\n{\"pred\": \"3\", \"gold\": \"4\"}\n";
    let (out, summary) = run_jsonl(input);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0]["pred"], "\\frac{1}{2}");
    assert_eq!(out[0]["gold"], "0.5");
    assert_eq!(out[0]["equal"], true);
    assert_eq!(out[1]["pred"], "3");
    assert_eq!(out[1]["equal"], false);
    assert_eq!(summary, GradeSummary { lines: 2, equal: 1, errors: 0 });
}

#[test]
fn jsonl_output_key_order_is_fixed() {
    let mut out = Vec::new();
    grade_jsonl("{\"gold\":\"1\",\"pred\":\"1\"}".as_bytes(), &mut out).expect("io");
    assert_eq!(String::from_utf8(out).expect("utf8"), "{\"pred\":\"1\",\"gold\":\"1\",\"equal\":true}\n");
}

#[test]
fn jsonl_numbers_are_graded_by_their_text() {
    let (out, summary) = run_jsonl("{\"pred\": 18, \"gold\": \"18\"}\n{\"pred\": 0.5, \"gold\": \"\\\\frac12\"}\n{\"pred\": 18, \"gold\": 19}");
    assert_eq!(out[0]["pred"], 18);
    assert_eq!(out[0]["equal"], true);
    assert_eq!(out[1]["pred"], 0.5);
    assert_eq!(out[1]["equal"], true);
    assert_eq!(out[2]["equal"], false);
    assert_eq!(summary.equal, 2);
}

#[test]
fn jsonl_bad_lines_are_reported_and_processing_continues() {
    let input = [
        "{\"pred\": \"1\", \"gold\": \"1\"}",
        "not json",
        "[1, 2]",
        "{\"pred\": \"1\"}",
        "{\"gold\": \"1\"}",
        "{\"pred\": [1], \"gold\": \"1\"}",
        "{\"pred\": null, \"gold\": \"1\"}",
        "",
        "{\"pred\": \"2\", \"gold\": \"2\"}",
    ]
    .join("\n");
    let (out, summary) = run_jsonl(&input);
    assert_eq!(out.len(), 9, "one output line per input line");
    assert_eq!(out[0]["equal"], true);
    for (i, reason) in [
        (2, "invalid JSON"),
        (3, "expected a JSON object"),
        (4, "missing field \"gold\""),
        (5, "missing field \"pred\""),
        (6, "must be a string or number, got array"),
        (7, "got null"),
        (8, "empty line"),
    ] {
        let line = &out[i - 1];
        assert_eq!(line["line"], i, "line number of {line}");
        let msg = line["error"].as_str().unwrap_or_default();
        assert!(msg.starts_with(&format!("line {i}: ")), "{msg}");
        assert!(msg.contains(reason), "line {i}: {msg:?} lacks {reason:?}");
    }
    assert_eq!(out[8]["equal"], true);
    assert_eq!(summary, GradeSummary { lines: 9, equal: 2, errors: 7 });
}

#[test]
fn jsonl_blank_line_and_crlf_and_bad_utf8() {
    let mut input = b"{\"pred\":\"1\",\"gold\":\"1\"}\r\n\r\n".to_vec();
    input.extend_from_slice(b"\xff\xfe\n");
    let mut out = Vec::new();
    let summary = grade_jsonl(&input[..], &mut out).expect("io");
    let text = String::from_utf8(out).expect("utf8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1], "{\"line\":2,\"error\":\"line 2: empty line\"}");
    assert!(lines[2].contains("line 3: invalid UTF-8"));
    assert_eq!(summary.errors, 2);
}

#[test]
fn grade_line_values() {
    let v = grade_line("{\"pred\":\"(1,2)\",\"gold\":\"(2,1)\"}", 4);
    assert_eq!(v["equal"], false);
    assert_eq!(v["pred"], "(1,2)");
    let e = grade_line("   ", 7);
    assert_eq!(e["line"], 7);
    assert_eq!(e["error"], "line 7: empty line");
}

// ---------------------------------------------------------------- datasets

fn data_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data").join(name)
}

/// Parsed JSONL rows of a data file, or `None` (with a note) when it is not present.
fn read_rows(name: &str) -> Option<Vec<Value>> {
    let path = data_path(name);
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("note: {} not found, skipping", path.display());
        return None;
    };
    Some(text.lines().filter(|l| !l.trim().is_empty()).filter_map(|l| serde_json::from_str(l).ok()).collect())
}

fn gsm8k_final(answer: &str) -> String {
    answer.rsplit("####").next().unwrap_or("").trim().to_string()
}

#[test]
fn every_math500_gold_equals_itself() {
    let Some(rows) = read_rows("math500.jsonl") else {
        return;
    };
    assert_eq!(rows.len(), 500);
    let failures: Vec<&str> =
        rows.iter().filter_map(|r| r["answer"].as_str()).filter(|a| !answers_equal(a, a)).collect();
    assert!(failures.is_empty(), "not self-equal: {failures:#?}");
}

#[test]
fn every_gsm8k_gold_equals_itself() {
    let Some(rows) = read_rows("gsm8k_test.jsonl") else {
        return;
    };
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|r| r["answer"].as_str())
        .map(gsm8k_final)
        .filter(|a| !answers_equal(a, a))
        .collect();
    assert!(!rows.is_empty());
    assert!(failures.is_empty(), "not self-equal: {failures:#?}");
}

#[test]
fn math500_boxed_solution_matches_gold() {
    let Some(rows) = read_rows("math500.jsonl") else {
        return;
    };
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|r| Some((r["solution"].as_str()?, r["answer"].as_str()?)))
        .filter_map(|(sol, gold)| {
            let got = extract_answer(sol);
            let ok = got.as_deref().is_some_and(|g| answers_equal(g, gold));
            (!ok).then(|| format!("extracted {got:?}, gold {gold:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn gsm8k_solution_last_number_matches_gold() {
    let Some(rows) = read_rows("gsm8k_test.jsonl") else {
        return;
    };
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|r| r["answer"].as_str())
        .filter_map(|sol| {
            let gold = gsm8k_final(sol);
            let got = extract_answer(sol);
            let ok = got.as_deref().is_some_and(|g| answers_equal(g, &gold));
            (!ok).then(|| format!("extracted {got:?}, gold {gold:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn math500_golds_are_not_all_equal_to_each_other() {
    // Guards against an over-eager comparison: distinct neighbouring golds must differ.
    let Some(rows) = read_rows("math500.jsonl") else {
        return;
    };
    let golds: Vec<&str> = rows.iter().filter_map(|r| r["answer"].as_str()).collect();
    let wrongly_equal: Vec<(&str, &str)> = golds
        .windows(2)
        .map(|w| (w[0], w[1]))
        .filter(|(a, b)| normalize(a) != normalize(b) && answers_equal(a, b))
        .collect();
    assert!(wrongly_equal.is_empty(), "{wrongly_equal:#?}");
}

// ---------------------------------------------------------------- robustness

#[test]
fn odd_inputs_never_panic() {
    let deep_parens = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
    let deep_open = "(".repeat(10_000);
    let deep_braces = format!("\\frac{}", "{".repeat(10_000));
    let deep_text = "\\text{".repeat(5_000);
    let deep_sqrt = "\\sqrt{".repeat(5_000);
    let long_sum = "1+".repeat(5_000) + "1";
    let minus_chain = "-".repeat(10_000) + "1";
    let power_chain = "2^".repeat(5_000) + "2";
    let odd: Vec<&str> = vec![
        "",
        " ",
        "{",
        "}",
        "}{",
        "\\",
        "\\\\",
        "\\frac{",
        "\\frac{1}{",
        "\\frac",
        "\\sqrt",
        "\\sqrt[",
        "\\sqrt[3",
        "^^^",
        "___",
        "1e400",
        "1e-400",
        "10^{10^{10}}",
        "2^{2^{2^{2^{2^{2}}}}}",
        "0^0",
        "0^{-1}",
        "(-8)^{1/3}",
        "\\infty-\\infty",
        "\\infty\\cdot 0",
        "171!",
        "(-1)!",
        "1/0",
        "\\begin{pmatrix}",
        "\\begin{pmatrix}\\end{pmatrix}",
        "\\begin{pmatrix} 1 & \\\\ \\end{pmatrix}",
        "\\{",
        "\\{\\}",
        "(,)",
        "[,]",
        ",,,,",
        "====",
        "x=",
        "=x",
        "\\pm\\pm\\pm\\pm\\pm",
        "\\cup\\cup",
        "((1,2)\\cup",
        "é",
        "π²",
        "√",
        "√√√",
        "∞",
        "日本語の答え",
        "\\text{日本}",
        "1,\u{2212}2",
        "\u{0}",
        "$$$$",
        "\\$",
        "**",
        "\\boxed{\\boxed{\\boxed{",
        "\\left(\\right",
        "\\frac{\\frac{\\frac{1}{2}}{3}}{",
        &deep_parens,
        &deep_open,
        &deep_braces,
        &deep_text,
        &deep_sqrt,
        &long_sum,
        &minus_chain,
        &power_chain,
    ];
    for a in &odd {
        let _ = normalize(a);
        let _ = answer_key(a);
        let _ = extract_answer(a);
        for b in ["1", "x", "(1,2)", a] {
            let _ = answers_equal(a, b);
            let _ = answers_equal(b, a);
        }
        let line = serde_json::json!({"pred": a, "gold": "1"}).to_string();
        let _ = grade_line(&line, 1);
    }
    // Deep structures that are still equal as strings stay equal.
    assert!(answers_equal(&deep_parens, &deep_parens));
    assert!(!answers_equal("1e400", "1e401"));
}
