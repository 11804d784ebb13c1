//! The pocket task: chains of arithmetic operations with a gold answer, the
//! compact text the pocket models read, and exact step labels.

use crate::problem::Problem;

/// Begins a sequence (the compact problem follows).
pub const BOS: u8 = 1;
/// Ends the prompt; the solution follows.
pub const SEP: u8 = 2;
/// Ends a solution.
pub const EOS: u8 = 3;
/// Most operations in one problem.
pub const MAX_OPS: usize = 6;
/// Largest running value.
pub const MAX_VALUE: i64 = 999;

/// One operation of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add(i64),
    Sub(i64),
    Mul(i64),
}

impl Op {
    /// The operator character.
    pub fn sym(self) -> char {
        match self {
            Op::Add(_) => '+',
            Op::Sub(_) => '-',
            Op::Mul(_) => '*',
        }
    }
    /// The operand.
    pub fn arg(self) -> i64 {
        match self {
            Op::Add(b) | Op::Sub(b) | Op::Mul(b) => b,
        }
    }
    /// Apply to a value.
    pub fn apply(self, a: i64) -> i64 {
        match self {
            Op::Add(b) => a + b,
            Op::Sub(b) => a - b,
            Op::Mul(b) => a * b,
        }
    }
    fn words(self) -> String {
        match self {
            Op::Add(b) => format!("Add {b}."),
            Op::Sub(b) => format!("Subtract {b}."),
            Op::Mul(b) => format!("Multiply by {b}."),
        }
    }
}

/// A parsed arithmetic chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub start: i64,
    pub ops: Vec<Op>,
}

/// SplitMix64: a small, fast, seedable generator (no external crates).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Uniform in [0, 1) as f64.
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform integer in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + (self.next_u64() % ((hi - lo + 1) as u64)) as i64
    }
    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = self.f64().max(1e-12);
        let u2 = self.f64();
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    }
}

/// Largest operand at a level.
fn max_operand(level: u8) -> i64 {
    match level {
        1 => 20,
        2 => 50,
        3 => 99,
        4 => 99,
        _ => 199,
    }
}

impl Chain {
    /// A random chain at `level` (1–5): `level` operations, operands growing with the level,
    /// multiplication from level 3, running values kept in 0..=999.
    pub fn random(level: u8, rng: &mut Rng) -> Chain {
        let level = level.clamp(1, 5);
        let m = max_operand(level);
        let start = rng.range(if level >= 3 { 10 } else { 2 }, m);
        let mut v = start;
        let mut ops = Vec::new();
        for _ in 0..level {
            let mul_ok = level >= 3 && v >= 2 && v * 2 <= MAX_VALUE;
            let r = rng.range(0, if mul_ok { 2 } else { 1 });
            let op = match r {
                2 => Op::Mul(rng.range(2, (MAX_VALUE / v).min(9))),
                1 if v >= 1 => Op::Sub(rng.range(1, m.min(v))),
                _ if v < MAX_VALUE => Op::Add(rng.range(1, m.min(MAX_VALUE - v))),
                _ => Op::Sub(rng.range(1, m.min(v))),
            };
            v = op.apply(v);
            ops.push(op);
        }
        Chain { start, ops }
    }

    /// The running values: start, then after each operation.
    pub fn values(&self) -> Vec<i64> {
        let mut v = vec![self.start];
        for op in &self.ops {
            let last = *v.last().unwrap_or(&0);
            v.push(op.apply(last));
        }
        v
    }

    /// The final value.
    pub fn answer(&self) -> i64 {
        *self.values().last().unwrap_or(&self.start)
    }

    /// The problem in words: "Start at 27. Add 48. Multiply by 3. Subtract 19."
    pub fn text(&self) -> String {
        let mut s = format!("Start at {}.", self.start);
        for op in &self.ops {
            s.push(' ');
            s.push_str(&op.words());
        }
        s
    }

    /// The compact form the models read: "27+48*3-19".
    pub fn compact(&self) -> String {
        let mut s = self.start.to_string();
        for op in &self.ops {
            s.push(op.sym());
            s.push_str(&op.arg().to_string());
        }
        s
    }

    /// The correct solution's steps: "27+48=75", ..., "The answer is 206."
    pub fn solution_steps(&self) -> Vec<String> {
        self.attempt_steps(&self.values()[1..])
    }

    /// The steps of an attempt whose k-th operation gave `results[k]`, each step starting
    /// from the previous result, and the answer line when every operation has a result.
    pub fn attempt_steps(&self, results: &[i64]) -> Vec<String> {
        let mut steps = Vec::new();
        let mut a = self.start;
        for (op, c) in self.ops.iter().zip(results) {
            steps.push(step_text(a, *op, *c));
            a = *c;
        }
        if results.len() == self.ops.len() {
            steps.push(answer_text(a));
        }
        steps
    }

    /// The correct solution text (steps separated by a blank line).
    pub fn solution(&self) -> String {
        self.solution_steps().join("\n\n")
    }

    /// Parse the problem sentences out of any text ("Start at 27. Add 48. ...").
    pub fn parse(text: &str) -> Option<Chain> {
        let at = text.find("Start at ")?;
        let rest = &text[at + "Start at ".len()..];
        let (start, mut rest) = leading_int(rest)?;
        rest = rest.strip_prefix('.')?;
        let mut ops = Vec::new();
        loop {
            let t = rest.trim_start_matches([' ', '\t']);
            let (make, after): (fn(i64) -> Op, &str) = if let Some(r) = t.strip_prefix("Add ") {
                (Op::Add, r)
            } else if let Some(r) = t.strip_prefix("Subtract ") {
                (Op::Sub, r)
            } else if let Some(r) = t.strip_prefix("Multiply by ") {
                (Op::Mul, r)
            } else {
                break;
            };
            let Some((b, r)) = leading_int(after) else { break };
            ops.push(make(b));
            rest = r.strip_prefix('.').unwrap_or(r);
            if ops.len() >= MAX_OPS {
                break;
            }
        }
        Some(Chain { start, ops })
    }

    /// Exact labels for the steps of a solution: step k is correct iff it applies the
    /// problem's k-th operation to the correct running value and its result is right;
    /// the step after the last operation must state the correct answer.
    pub fn label_steps(&self, steps: &[String]) -> Vec<bool> {
        let vals = self.values();
        steps
            .iter()
            .enumerate()
            .map(|(k, s)| {
                if k < self.ops.len() {
                    match parse_step(s) {
                        Some((a, sym, b, c)) => {
                            let op = self.ops[k];
                            a == vals[k] && sym == op.sym() && b == op.arg() && c == vals[k + 1]
                        }
                        None => false,
                    }
                } else if k == self.ops.len() {
                    parse_answer(s) == Some(self.answer())
                } else {
                    false
                }
            })
            .collect()
    }
}

/// "a+b=c".
pub fn step_text(a: i64, op: Op, c: i64) -> String {
    format!("{a}{}{}={c}", op.sym(), op.arg())
}

/// "The answer is 206."
pub fn answer_text(v: i64) -> String {
    format!("The answer is {v}.")
}

fn leading_int(s: &str) -> Option<(i64, &str)> {
    let s = s.trim_start();
    let (neg, body) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let end = body.find(|c: char| !c.is_ascii_digit()).unwrap_or(body.len());
    if end == 0 || end > 12 {
        return None;
    }
    let v: i64 = body[..end].parse().ok()?;
    Some((if neg { -v } else { v }, &body[end..]))
}

/// Parse "a op b = c" (spaces allowed).
pub fn parse_step(s: &str) -> Option<(i64, char, i64, i64)> {
    let s = s.trim();
    let (a, r) = leading_int(s)?;
    let r = r.trim_start();
    let first = r.chars().next()?;
    let sym = match first {
        '+' | '-' | '*' => first,
        'x' | '×' => '*',
        _ => return None,
    };
    let (b, r) = leading_int(&r[first.len_utf8()..])?;
    let r = r.trim_start().strip_prefix('=')?;
    let (c, r) = leading_int(r)?;
    if !r.trim().is_empty() {
        return None;
    }
    Some((a, sym, b, c))
}

/// Parse "The answer is 206."
pub fn parse_answer(s: &str) -> Option<i64> {
    let r = s.trim().strip_prefix("The answer is ")?;
    let (v, r) = leading_int(r)?;
    matches!(r.trim(), "." | "").then_some(v)
}

/// Claimed results ("= c") of the arithmetic steps of an attempt, at most `MAX_OPS`.
pub fn attempt_results(text: &str) -> Vec<i64> {
    text.split("\n\n")
        .filter_map(|s| parse_step(s).map(|(_, _, _, c)| c))
        .filter(|c| (0..=9999).contains(c))
        .take(MAX_OPS)
        .collect()
}

/// The compact prompt: "27+48*3-19", or "27+48*3-19|75,225,207" for a revision of an
/// attempt whose step results were 75, 225, 207.
pub fn compact_prompt(chain: &Chain, attempt: Option<&[i64]>) -> String {
    let mut s = chain.compact();
    if let Some(r) = attempt {
        s.push('|');
        s.push_str(&r.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(","));
    }
    s
}

/// A plausible wrong attempt's step results: one step off, later steps computed from it,
/// sometimes stopping early.
pub fn wrong_attempt(chain: &Chain, rng: &mut Rng) -> Vec<i64> {
    let n = chain.ops.len();
    let t = rng.range(0, n as i64 - 1) as usize;
    let mut out = Vec::new();
    let mut v = chain.start;
    for (k, op) in chain.ops.iter().enumerate() {
        let mut c = op.apply(v);
        if k == t {
            let delta = match rng.range(0, 3) {
                0 => rng.range(1, 2),
                1 => 10,
                2 => rng.range(1, 9),
                _ => 100,
            };
            c = if rng.range(0, 1) == 0 || c - delta < 0 { c + delta } else { c - delta };
        }
        out.push(c.clamp(0, 9999));
        v = c;
        if k > t && rng.range(0, 5) == 0 {
            break;
        }
    }
    out
}

/// Step results of an attempt with one digit of one result changed to another digit (the
/// slip a wrong carry makes), later steps computed from the wrong value.
pub fn digit_slip(chain: &Chain, rng: &mut Rng) -> Vec<i64> {
    let vals = chain.values();
    let t = rng.range(0, chain.ops.len() as i64 - 1) as usize;
    let mut digits: Vec<u8> = vals[t + 1].to_string().into_bytes();
    let i = rng.range(0, digits.len() as i64 - 1) as usize;
    let old = digits[i] - b'0';
    let mut new = rng.range(0, 8) as u8;
    if new >= old {
        new += 1;
    }
    // A leading zero would not be written: make the leading digit non-zero.
    if i == 0 && new == 0 && digits.len() > 1 {
        new = if old == 1 { 2 } else { 1 };
    }
    digits[i] = b'0' + new;
    let wrong: i64 = String::from_utf8_lossy(&digits).parse().unwrap_or(vals[t + 1] + 1);
    let mut out = vals[1..=t + 1].to_vec();
    out[t] = wrong;
    let mut v = wrong;
    for op in &chain.ops[t + 1..] {
        v = op.apply(v).clamp(0, 9999);
        out.push(v);
    }
    out
}

/// A problem for the engine.
pub fn to_problem(chain: &Chain, level: u8, index: u64) -> Problem {
    Problem {
        id: format!("pocket:L{level}:{index}"),
        text: chain.text(),
        gold: Some(chain.answer().to_string()),
        source: Some("pocket".to_string()),
        level: Some(level),
        subject: Some("Arithmetic".to_string()),
    }
}

fn mix(seed: u64, a: u64) -> u64 {
    Rng::new(seed ^ a.wrapping_mul(0xD1B5_4A32_D192_ED03)).next_u64()
}

/// One problem at `level` from `seed`.
pub fn problem(level: u8, seed: u64) -> Problem {
    let level = level.clamp(1, 5);
    let mut rng = Rng::new(mix(seed, 0x5EED_0000 + level as u64));
    to_problem(&Chain::random(level, &mut rng), level, seed)
}

/// `n` problems, levels 1–5 in turn, reproducible from `seed`.
pub fn problems(n: usize, seed: u64) -> Vec<Problem> {
    (0..n)
        .map(|i| {
            let level = (i % 5) as u8 + 1;
            let mut rng = Rng::new(mix(seed, 0xE7A1_0000_0000 + i as u64));
            to_problem(&Chain::random(level, &mut rng), level, i as u64)
        })
        .collect()
}

/// Whether a solution text's final answer is the chain's answer.
pub fn label_solution_answer(chain: &Chain, text: &str) -> bool {
    answer_of(text) == Some(chain.answer())
}

/// The integer answer of a solution text, as the engine would extract it.
pub fn answer_of(text: &str) -> Option<i64> {
    crate::grade::extract_answer(text)?.trim().trim_end_matches('.').parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_from_the_issue() {
        let c = Chain { start: 27, ops: vec![Op::Add(48), Op::Mul(3), Op::Sub(19)] };
        assert_eq!(c.text(), "Start at 27. Add 48. Multiply by 3. Subtract 19.");
        assert_eq!(c.solution(), "27+48=75\n\n75*3=225\n\n225-19=206\n\nThe answer is 206.");
        assert_eq!(Chain::parse(&c.text()), Some(c.clone()));
        assert_eq!(c.compact(), "27+48*3-19");
        let mut steps = c.solution_steps();
        assert_eq!(c.label_steps(&steps), vec![true; 4]);
        steps[1] = "75*3=224".into();
        steps[2] = "224-19=205".into();
        steps[3] = "The answer is 205.".into();
        assert_eq!(c.label_steps(&steps), vec![true, false, false, false]);
        assert_eq!(attempt_results(&steps.join("\n\n")), vec![75, 224, 205]);
        assert_eq!(crate::grade::extract_answer(&c.solution()).as_deref(), Some("206"));
    }

    #[test]
    fn random_chains_stay_in_range() {
        let mut rng = Rng::new(7);
        for i in 0..2000 {
            let level = (i % 5) as u8 + 1;
            let c = Chain::random(level, &mut rng);
            assert_eq!(c.ops.len(), level as usize);
            assert!(c.values().iter().all(|v| (0..=MAX_VALUE).contains(v)), "{c:?}");
            assert_eq!(Chain::parse(&c.text()), Some(c.clone()));
        }
        assert_eq!(problems(10, 3), problems(10, 3));
        assert_eq!(problems(10, 3)[2].id, "pocket:L3:2");
    }

    /// A digit slip changes exactly one digit of one result and carries the wrong value on.
    #[test]
    fn digit_slips_change_one_digit_and_carry_through() {
        let mut rng = Rng::new(11);
        for i in 0..500 {
            let chain = Chain::random((i % 5) as u8 + 1, &mut rng);
            let vals = chain.values();
            let got = digit_slip(&chain, &mut rng);
            assert_eq!(got.len(), chain.ops.len());
            let t = (0..got.len()).find(|&k| got[k] != vals[k + 1]).expect("one result is wrong");
            let (a, b) = (got[t].to_string(), vals[t + 1].to_string());
            assert_eq!(a.len(), b.len(), "{a} vs {b}");
            assert_eq!(a.bytes().zip(b.bytes()).filter(|(x, y)| x != y).count(), 1, "{a} vs {b}");
            let steps = chain.attempt_steps(&got);
            let labels = chain.label_steps(&steps);
            // The slipped step is the first wrong one (a later value clamped at zero can meet
            // the correct chain again, so later labels are not checked).
            assert!(labels[..t].iter().all(|l| *l) && !labels[t], "{steps:?}");
            for k in t + 1..got.len() {
                assert_eq!(got[k], chain.ops[k].apply(got[k - 1]).clamp(0, 9999));
            }
        }
    }
}
