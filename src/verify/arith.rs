//! The arithmetic checker: finds `a op b = c` claims in a step and checks them exactly.

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::{ArithClaim, ScoreRequest, StepDetail, StepScore, Usage, Verifier, VerifyError};

/// Scores a step 1 when every arithmetic claim in it holds, 0 when any fails,
/// and leaves it unscored when it makes no claim.
pub struct ArithVerifier;

#[async_trait]
impl Verifier for ArithVerifier {
    fn name(&self) -> String {
        "arith".into()
    }

    async fn score(
        &self,
        req: ScoreRequest<'_>,
        _cancel: CancellationToken,
    ) -> Result<Vec<StepScore>, VerifyError> {
        Ok(req.steps[req.start.min(req.steps.len())..].iter().map(|s| score_step(s)).collect())
    }
}

/// Score one step's arithmetic.
pub fn score_step(step: &str) -> StepScore {
    let claims = find_claims(step);
    if claims.is_empty() {
        return StepScore::unscored(
            "no arithmetic claim in this step",
            StepDetail::Arith { claims },
            Usage::default(),
        );
    }
    let ok = claims.iter().all(|c| c.ok);
    StepScore::scored(if ok { 1.0 } else { 0.0 }, StepDetail::Arith { claims }, Usage::default())
}

/// An exact rational number (falls back to a float on overflow).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Num {
    Exact(i128, i128),
    Float(f64),
}

fn gcd(a: i128, b: i128) -> i128 {
    // Unsigned: `i128::MIN.abs()` overflows (`(0-2)^127` is exactly `i128::MIN`).
    let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    i128::try_from(a).unwrap_or(1).max(1)
}

impl Num {
    fn ratio(n: i128, d: i128) -> Option<Num> {
        if d == 0 {
            return None;
        }
        let g = gcd(n, d);
        let (n, d) = (n / g, d / g);
        Some(if d < 0 { Num::Exact(n.checked_neg()?, d.checked_neg()?) } else { Num::Exact(n, d) })
    }
    fn f(self) -> f64 {
        match self {
            Num::Exact(n, d) => n as f64 / d as f64,
            Num::Float(x) => x,
        }
    }
    fn op(self, op: char, rhs: Num) -> Option<Num> {
        if let (Num::Exact(a, b), Num::Exact(c, d)) = (self, rhs) {
            let exact = match op {
                '+' => a
                    .checked_mul(d)
                    .zip(c.checked_mul(b))
                    .and_then(|(x, y)| x.checked_add(y))
                    .zip(b.checked_mul(d)),
                '-' => a
                    .checked_mul(d)
                    .zip(c.checked_mul(b))
                    .and_then(|(x, y)| x.checked_sub(y))
                    .zip(b.checked_mul(d)),
                '*' => a.checked_mul(c).zip(b.checked_mul(d)),
                '/' => {
                    if c == 0 {
                        return None;
                    }
                    a.checked_mul(d).zip(b.checked_mul(c))
                }
                '^' => {
                    if d != 1 || !(0..=64).contains(&c) {
                        None
                    } else {
                        a.checked_pow(c as u32).zip(b.checked_pow(c as u32))
                    }
                }
                _ => return None,
            };
            if let Some((n, den)) = exact {
                return Num::ratio(n, den);
            }
        }
        let (x, y) = (self.f(), rhs.f());
        let v = match op {
            '+' => x + y,
            '-' => x - y,
            '*' => x * y,
            '/' if y != 0.0 => x / y,
            '^' => x.powf(y),
            _ => return None,
        };
        v.is_finite().then_some(Num::Float(v))
    }
    fn equals(self, other: Num) -> bool {
        match (self, other) {
            (Num::Exact(a, b), Num::Exact(c, d)) => a == c && b == d,
            _ => {
                let (x, y) = (self.f(), other.f());
                (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0)
            }
        }
    }
    fn show(self) -> String {
        match self {
            Num::Exact(n, 1) => n.to_string(),
            Num::Exact(n, d) => format!("{n}/{d}"),
            Num::Float(x) => format!("{x}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    Num(Num),
    Op(char),
    Open,
    Close,
}

/// Drop GSM8K calculator annotations (`<<16-3-4=9>>`): the visible claim
/// next to them says the same thing.
fn strip_annotations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("<<") {
        out.push_str(&rest[..i]);
        match rest[i..].find(">>") {
            Some(j) => rest = &rest[i + j + 2..],
            None => {
                rest = &rest[i..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Replace LaTeX and Unicode operators with ASCII ones, and drop `$` and `\,`.
fn canonical(text: &str) -> String {
    strip_annotations(text)
        .replace("\\times", "*")
        .replace("\\cdot", "*")
        .replace("\\div", "/")
        .replace("\\,", "")
        .replace("\\left", "")
        .replace("\\right", "")
        .replace(['×', '·', '∙'], "*")
        .replace('÷', "/")
        .replace(['−', '–'], "-")
        .replace('$', "")
}

/// Parse a number at the start of `s`: digits with optional thousands commas and decimals.
fn lex_number(s: &[u8]) -> Option<(Num, usize)> {
    let mut i = 0;
    let mut digits = String::new();
    while i < s.len() {
        let c = s[i];
        if c.is_ascii_digit() {
            digits.push(c as char);
            i += 1;
        } else if c == b','
            && !digits.is_empty()
            && !digits.contains('.')
            && s.len() >= i + 4
            && s[i + 1..i + 4].iter().all(u8::is_ascii_digit)
            && s.get(i + 4).is_none_or(|c| !c.is_ascii_digit())
        {
            // A thousands separator: exactly three digits follow.
            i += 1;
        } else if c == b'.' && !digits.contains('.') && s.get(i + 1).is_some_and(u8::is_ascii_digit) {
            digits.push('.');
            i += 1;
        } else {
            break;
        }
    }
    if digits.is_empty() {
        return None;
    }
    let num = match digits.split_once('.') {
        None => Num::Exact(digits.parse().ok()?, 1),
        Some((whole, frac)) if frac.len() <= 30 => {
            let den = 10i128.checked_pow(frac.len() as u32)?;
            let n: i128 = format!("{whole}{frac}").parse().ok()?;
            Num::ratio(n, den)?
        }
        Some(_) => Num::Float(digits.parse().ok()?),
    };
    Some((num, i))
}

/// Tokenise an arithmetic expression; `None` if anything else is in it.
fn lex(s: &str) -> Option<Vec<Tok>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' => i += 1,
            b'0'..=b'9' => {
                let (n, used) = lex_number(&b[i..])?;
                out.push(Tok::Num(n));
                i += used;
            }
            c @ (b'+' | b'-' | b'*' | b'/' | b'^') => {
                out.push(Tok::Op(c as char));
                i += 1;
            }
            b'(' | b'{' => {
                out.push(Tok::Open);
                i += 1;
            }
            b')' | b'}' => {
                out.push(Tok::Close);
                i += 1;
            }
            _ => return None,
        }
    }
    Some(out)
}

/// Most nested parentheses, unary minuses and powers one expression may hold.
const MAX_NESTING: usize = 64;

/// Recursive-descent evaluation with the usual precedence.
struct Eval<'a> {
    toks: &'a [Tok],
    pos: usize,
    depth: usize,
}

impl Eval<'_> {
    fn peek(&self) -> Option<Tok> {
        self.toks.get(self.pos).copied()
    }
    fn expr(&mut self) -> Option<Num> {
        let mut acc = self.term()?;
        while let Some(Tok::Op(op @ ('+' | '-'))) = self.peek() {
            self.pos += 1;
            acc = acc.op(op, self.term()?)?;
        }
        Some(acc)
    }
    fn term(&mut self) -> Option<Num> {
        let mut acc = self.power()?;
        while let Some(Tok::Op(op @ ('*' | '/'))) = self.peek() {
            self.pos += 1;
            acc = acc.op(op, self.power()?)?;
        }
        Some(acc)
    }
    /// One level deeper; `None` past [`MAX_NESTING`], so a run of `-` or `^` (a Markdown rule,
    /// a degenerate generation) cannot overflow the stack.
    fn deeper(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_NESTING).then_some(())
    }
    fn power(&mut self) -> Option<Num> {
        let base = self.unary()?;
        if let Some(Tok::Op('^')) = self.peek() {
            self.pos += 1;
            self.deeper()?;
            let exp = self.power()?;
            self.depth -= 1;
            return base.op('^', exp);
        }
        Some(base)
    }
    fn unary(&mut self) -> Option<Num> {
        if let Some(Tok::Op('-')) = self.peek() {
            self.pos += 1;
            self.deeper()?;
            let v = Num::Exact(0, 1).op('-', self.unary()?);
            self.depth -= 1;
            return v;
        }
        self.atom()
    }
    fn atom(&mut self) -> Option<Num> {
        match self.peek()? {
            Tok::Num(n) => {
                self.pos += 1;
                Some(n)
            }
            Tok::Open => {
                self.deeper()?;
                self.pos += 1;
                let v = self.expr()?;
                if self.peek() != Some(Tok::Close) {
                    return None;
                }
                self.pos += 1;
                self.depth -= 1;
                Some(v)
            }
            _ => None,
        }
    }
}

fn evaluate(toks: &[Tok]) -> Option<Num> {
    let mut e = Eval { toks, pos: 0, depth: 0 };
    let v = e.expr()?;
    (e.pos == toks.len()).then_some(v)
}

fn is_arith_char(c: char) -> bool {
    c.is_ascii_digit()
        || matches!(c, ' ' | '+' | '-' | '*' | '/' | '^' | '(' | ')' | '{' | '}' | '.' | ',' | '\t')
}

/// Trim a candidate run so it starts and ends on something that can be evaluated.
fn trim_run(run: &str) -> &str {
    let run = run.trim_matches(|c: char| c == ' ' || c == '\t' || c == ',' || c == '.');
    // Unbalanced leading `(` or trailing `)` come from surrounding prose.
    let mut r = run;
    loop {
        let opens = r.matches(['(', '{']).count();
        let closes = r.matches([')', '}']).count();
        if opens > closes && (r.starts_with('(') || r.starts_with('{')) {
            r = r[1..].trim_start();
        } else if closes > opens && (r.ends_with(')') || r.ends_with('}')) {
            r = r[..r.len() - 1].trim_end();
        } else {
            return r;
        }
    }
}

/// Find and check every arithmetic claim in `text`.
pub fn find_claims(text: &str) -> Vec<ArithClaim> {
    let text = canonical(text);
    let parts: Vec<&str> = text.split('=').collect();
    let mut claims = Vec::new();
    for w in 0..parts.len().saturating_sub(1) {
        // The left side: the arithmetic run that ends right before this `=`.
        let left_all = parts[w];
        let left_start = left_all
            .char_indices()
            .rev()
            .find(|&(_, c)| !is_arith_char(c))
            .map(|(i, c)| i + c.len_utf8())
            .unwrap_or(0);
        let left = trim_run(&left_all[left_start..]);
        // The right side: the arithmetic run right after it.
        let right_all = parts[w + 1];
        let right_end = right_all
            .char_indices()
            .find(|&(_, c)| !is_arith_char(c))
            .map(|(i, _)| i)
            .unwrap_or(right_all.len());
        let right = trim_run(&right_all[..right_end]);
        let (Some(lt), Some(rt)) = (lex(left), lex(right)) else { continue };
        // Only expressions with an operator make a claim ("x = 5" does not).
        let has_op = |t: &[Tok]| t.iter().enumerate().any(|(i, t)| matches!(t, Tok::Op(_)) && i > 0);
        if lt.is_empty() || rt.is_empty() || !has_op(&lt) && !has_op(&rt) {
            continue;
        }
        let (Some(lv), Some(rv)) = (evaluate(&lt), evaluate(&rt)) else {
            if evaluate(&lt).is_none() && lt.contains(&Tok::Op('/')) {
                claims.push(ArithClaim { text: format!("{left} = {right}"), actual: None, ok: false });
            }
            continue;
        };
        claims.push(ArithClaim {
            text: format!("{left} = {right}"),
            actual: Some(lv.show()),
            ok: lv.equals(rv),
        });
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oks(text: &str) -> Vec<bool> {
        find_claims(text).iter().map(|c| c.ok).collect()
    }

    #[test]
    fn simple_claims() {
        assert_eq!(oks("12 + 30 = 42"), vec![true]);
        assert_eq!(oks("12 + 30 = 43"), vec![false]);
        assert_eq!(oks("75*3=225"), vec![true]);
        assert_eq!(oks("225-19=206"), vec![true]);
        assert_eq!(oks("So 7 × 8 = 56 apples."), vec![true]);
        assert_eq!(oks("$9 \\times 2 = 18$"), vec![true]);
    }

    #[test]
    fn gsm8k_style() {
        assert_eq!(oks("Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day."), vec![true]);
        assert_eq!(oks("Janet sells 16 - 3 - 4 = <<16-3-4=8>>8 duck eggs a day."), vec![false]);
        assert_eq!(oks("She makes 9 * 2 = $18 every day"), vec![true]);
        assert_eq!(oks("It costs 1,000 + 250 = 1,250 dollars"), vec![true]);
    }

    #[test]
    fn fractions_decimals_powers() {
        assert_eq!(oks("3/4 + 1/4 = 1"), vec![true]);
        assert_eq!(oks("0.1 + 0.2 = 0.3"), vec![true]);
        assert_eq!(oks("2^10 = 1024"), vec![true]);
        assert_eq!(oks("(2 + 3) * 4 = 20"), vec![true]);
        assert_eq!(oks("2 + 3 * 4 = 20"), vec![false]);
        assert_eq!(oks("10 / 4 = 2.5"), vec![true]);
    }

    #[test]
    fn chains_check_each_link() {
        assert_eq!(oks("3 + 4 = 7 = 14 / 2"), vec![true, true]);
        assert_eq!(oks("3 + 4 = 7 = 15 / 2"), vec![true, false]);
    }

    #[test]
    fn no_claims_in_prose_or_assignments() {
        assert!(find_claims("Let x = 5.").is_empty());
        assert!(find_claims("We need to compute the total.").is_empty());
        assert!(find_claims("x + 2 = 7").is_empty());
        assert!(find_claims("The answer is \\boxed{42}.").is_empty());
    }

    #[test]
    fn division_by_zero_is_a_false_claim() {
        assert_eq!(oks("5 / 0 = 3"), vec![false]);
    }

    #[test]
    fn step_scores() {
        assert_eq!(score_step("2 + 2 = 4").score, Some(1.0));
        assert_eq!(score_step("2 + 2 = 5").score, Some(0.0));
        let s = score_step("Think about it.");
        assert_eq!(s.score, None);
        assert!(s.unscored.unwrap().contains("no arithmetic claim"));
    }

    #[test]
    fn huge_numbers_do_not_panic() {
        let big = "9".repeat(60);
        let _ = find_claims(&format!("{big} * {big} = 1"));
        let _ = find_claims("2^999999 = 1");
        let _ = find_claims(&"(".repeat(500));
    }

    #[test]
    fn the_smallest_i128_does_not_overflow() {
        // (-2)^63 * 2^64 is exactly i128::MIN; its gcd took `abs()` of it and panicked.
        assert_eq!(oks("(0-2)^63 * 2^64 = 1"), vec![false]);
        assert_eq!(oks("(0-2)^63 * 2^64 / (0-1) = 1"), vec![false]);
    }

    #[test]
    fn long_runs_of_operators_do_not_overflow_the_stack() {
        // A Markdown rule or a degenerate generation: each `-` or `^` was one recursion level.
        for op in ["-", "^", "- ", "2^"] {
            let run = op.repeat(200_000);
            assert!(find_claims(&format!("{run}1 = 1 + 0")).iter().all(|c| !c.ok || c.text.len() < 20));
            let _ = find_claims(&format!("1 + 1 = {run}2"));
        }
    }
}
