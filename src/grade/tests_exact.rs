//! Regression tests for exact grading of big integers and rationals (see `exact.rs`).

use super::*;

/// `(prediction, gold, expected)`: each `false` row was `true` with float-only comparison
/// (or the reverse), so every row can fail.
const BIG: &[(&str, &str, bool)] = &[
    // 2^64 is 18446744073709551616; f64 cannot tell its neighbours apart.
    ("2^{64}", "18446744073709551616", true),
    ("2^{64}", "18446744073709551617", false),
    ("2^{64}", "18446744073709551615", false),
    ("2^{64}-1", "18446744073709551615", true),
    ("2^{64}-1", "18446744073709551616", false),
    ("2^{64}+1", "18446744073709551617", true),
    // Two literals 1 apart above 2^53.
    ("12345678901234567", "12345678901234568", false),
    ("12345678901234567", "12345678901234567", true),
    ("-12345678901234567", "-12345678901234568", false),
    ("-12345678901234567", "12345678901234567", false),
    ("9007199254740993", "9007199254740992", false),
    ("9007199254740993", "2^{53}+1", true),
    ("9007199254740992", "2^{53}+1", false),
    // Beyond the f64 range: 10^309 overflowed to "not a number" before.
    ("10^{309}", "1000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", true),
    ("10^{309}+1", "1000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001", true),
    ("10^{309}", "10^{308}\\cdot 10", true),
    ("10^{309}", "10^{310}", false),
    ("10^{309}", "1e309", true),
    ("1e400", "10^{400}", true),
    ("1e400", "1e401", false),
    ("2^{1000}", "1024^{100}", true),
    ("2^{1000}", "1024^{100}+1", false),
    ("-2^{63}", "-9223372036854775808", true),
    ("(-2)^{63}", "-9223372036854775808", true),
    ("(-2)^{64}", "-18446744073709551616", false),
    // Thousands separators on big numbers.
    ("12,345,678,901,234,567", "12345678901234567", true),
    ("12,345,678,901,234,567", "12345678901234568", false),
    ("1,000,000", "10^6", true),
    ("1,000,001", "10^6", false),
    ("-1,000,000", "-10^{6}", true),
    // Big fractions: equal values in different spellings, and near misses.
    ("\\frac{18446744073709551616}{3}", "\\frac{2^{64}}{3}", true),
    ("\\frac{18446744073709551617}{3}", "\\frac{2^{64}}{3}", false),
    ("\\frac{123456789012345678901}{2}", "61728394506172839450.5", true),
    ("\\frac{123456789012345678901}{2}", "61728394506172839450", false),
    ("\\frac{10^{20}}{10^{20}+1}", "\\frac{100000000000000000000}{100000000000000000001}", true),
    ("\\frac{10^{20}}{10^{20}+1}", "1", false),
    ("\\frac{1}{3}+\\frac{1}{6}", "\\frac12", true),
    ("2^{-64}", "\\frac{1}{18446744073709551616}", true),
    ("2^{-64}", "\\frac{1}{18446744073709551615}", false),
    ("(\\frac{2}{3})^{40}", "\\frac{2^{40}}{3^{40}}", true),
    ("99999999999999999999!", "1", false),
    ("25!", "15511210043330985984000000", true),
    ("25!", "15511210043330985984000001", false),
    // Exact roots of perfect powers.
    ("\\sqrt{10^{40}}", "10^{20}", true),
    ("\\sqrt{10^{40}}", "10^{20}+1", false),
    ("\\sqrt[3]{-27}", "-3", true),
    // Decimals are exact too, and still equal their fractions.
    ("0.5", "\\frac{1}{2}", true),
    ("0.1+0.2", "0.3", true),
    ("0.30000000000000004", "0.3", false),
    ("1.5\\times10^{6}", "1500000", true),
    ("1.5\\times10^{6}", "1500001", false),
    ("10081", "1.008\\times10^4", false),
    // A decimal that stands for a rounding still matches within 1e-4 relative.
    ("0.33333", "\\frac13", true),
    ("0.333", "\\frac13", false),
    ("0.0000333333", "\\frac{1}{30000}", true),
    // Floats where they are the honest reading.
    ("3.14159", "\\pi", true),
    ("1.41421", "\\sqrt{2}", true),
    ("\\sqrt{2}\\cdot 10^{20}", "141421356237309504880", true),
    ("10^{400}", "\\sqrt{2}", false),
    // Tuples, intervals and sets are element-wise with the same rules.
    ("(2^{64}, 1)", "(18446744073709551616, 1)", true),
    ("(2^{64}, 1)", "(18446744073709551617, 1)", false),
    ("[0, 2^{64})", "[0, 18446744073709551616)", true),
    ("\\{2^{64}, 3\\}", "\\{3, 18446744073709551616\\}", true),
    ("\\{2^{64}, 3\\}", "\\{3, 18446744073709551617\\}", false),
    // Symbolic answers are compared exactly at rational sample points.
    ("(2^{64}+1)x", "18446744073709551617x", true),
    ("2^{64}x", "18446744073709551617x", false),
    ("\\frac{x^2-1}{x-1}", "x+1", true),
    ("0.3333333x", "\\frac{x}{3}", true),
];

#[test]
fn big_integers_and_rationals_compare_exactly() {
    let mut wrong = Vec::new();
    for &(pred, gold, expected) in BIG {
        for (a, b) in [(pred, gold), (gold, pred)] {
            if answers_equal(a, b) != expected {
                wrong.push(format!("answers_equal({a:?}, {b:?}) should be {expected}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{} wrong:\n{}", wrong.len(), wrong.join("\n"));
}

#[test]
fn huge_powers_are_refused_not_computed() {
    let start = std::time::Instant::now();
    // Past the exact bound and the float range: equal only as identical strings.
    assert!(answers_equal("10^{100000000}", "10^{100000000}"));
    assert!(!answers_equal("10^{100000000}", "10^{100000001}"));
    assert!(!answers_equal("10^{100000000}", "10^{10^8}"));
    assert!(!answers_equal("2^{2^{2^{2^{2^{2}}}}}", "2^{2^{2^{2^{2^{2}}}}}+1"));
    assert!(!answers_equal("1e99999999999999999999", "1e99999999999999999998"));
    assert!(!answers_equal("123456789^{123456789}", "123456789^{123456788}"));
    // ±1 and 0 to any power are cheap and exact.
    assert!(answers_equal("1^{10^{100}}", "1"));
    assert!(answers_equal("(-1)^{10^{100}+1}", "-1"));
    assert!(answers_equal("0^{10^{100}}", "0"));
    // Just inside the bound: 2^16000 has 16,001 bits.
    assert!(answers_equal("2^{16000}", "4^{8000}"));
    assert!(!answers_equal("2^{16000}", "4^{8000}+1"));
    assert!(start.elapsed().as_secs() < 10, "took {:?}", start.elapsed());
}

/// Found by `extracted_answers_equal_themselves`: `$\\$` lost a backslash to the `\$` rule.
#[test]
fn dollars_around_a_row_break_keep_it() {
    assert_eq!(normalize("$\\\\$"), "\\\\");
    assert!(answers_equal("\\\\", "$\\\\$"));
    assert_eq!(normalize("\\$18"), "18");
    assert_eq!(normalize("$\\frac12$"), "\\frac{1}{2}");
}

/// Found by `extracted_answers_equal_themselves`: `\\(` lost its row break to the `\(` rule.
#[test]
fn delimiters_after_a_row_break_are_not_delimiters() {
    assert_eq!(normalize("\\\\("), "\\\\(");
    assert!(answers_equal("\\\\(", "$\\\\($"));
    assert_eq!(normalize("\\(\\frac12\\)"), "\\frac{1}{2}");
    assert_eq!(normalize("\\[x=3\\]"), "3");
}

#[test]
fn adversarial_exact_inputs_stay_fast() {
    let sums = ["4^{8000}"; 80].join("+");
    let fracs: Vec<String> =
        (0..30).map(|i| format!("\\frac{{2^{{{}}}+1}}{{3^{{{}}}}}", 16000 - i, 10000 - i)).collect();
    let fracs = fracs.join("+");
    let facts = ["1000!"; 60].join("+");
    let poly = "(x+1)^{1000}-(1+x)^{1000}";
    let start = std::time::Instant::now();
    for s in [sums.as_str(), fracs.as_str(), facts.as_str(), poly] {
        let t = std::time::Instant::now();
        let _ = answers_equal(s, "1");
        let _ = answers_equal(s, s.trim_end_matches('}'));
        eprintln!("{:>6} bytes: {:?}", s.len(), t.elapsed());
    }
    assert!(start.elapsed().as_secs() < 10, "took {:?}", start.elapsed());
}

#[test]
fn integer_literals_past_the_parser_limit_compare_exactly() {
    let big = "7".repeat(3000);
    assert!(answers_equal(&big, &format!("000{big}")));
    assert!(answers_equal(&format!("-{big}"), &format!("-00{big}")));
    assert!(!answers_equal(&big, &format!("{}8", &big[..2999])));
    assert!(!answers_equal(&big, &format!("-{big}")));
}
