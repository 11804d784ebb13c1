//! The fake server's scripted generations (which model says what), the bench stream and the
//! arithmetic the scripts check.

use super::*;

// ---------------------------------------------------------------------------------------------
// Generation

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Behaviour {
    TinyMath,
    FlakyMath,
    SlowMath,
    DropMath,
    Judge,
    BaseJudge,
    PrmChat,
    PrmTag,
    Bench,
    Busy,
}

pub(super) fn behaviour_of(name: &str) -> Behaviour {
    match base_name(name) {
        "flaky-math" => Behaviour::FlakyMath,
        "slow-math" => Behaviour::SlowMath,
        "drop-math" => Behaviour::DropMath,
        "judge" => Behaviour::Judge,
        "base-judge" => Behaviour::BaseJudge,
        "prm-chat" => Behaviour::PrmChat,
        "prm-tag" => Behaviour::PrmTag,
        "bench" => Behaviour::Bench,
        "busy" => Behaviour::Busy,
        _ => Behaviour::TinyMath,
    }
}

pub(super) struct Lp {
    pub(super) token: String,
    pub(super) logprob: f64,
    pub(super) top: Vec<(String, f64)>,
}

pub(super) struct Piece {
    pub(super) text: String,
    pub(super) lp: Option<Lp>,
}

pub(super) enum Failure {
    None,
    ErrorLine(String),
    Stall,
    Abort,
}

pub(super) struct Generation {
    pub(super) pieces: Vec<Piece>,
    pub(super) done_reason: &'static str,
    pub(super) failure: Failure,
}

/// Splits text into pieces of 4 chars (the last may be shorter); UTF-8 safe.
pub fn split_pieces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut n = 0;
    for ch in text.chars() {
        cur.push(ch);
        n += 1;
        if n == 4 {
            out.push(std::mem::take(&mut cur));
            n = 0;
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Cuts the pieces before the earliest occurrence of any stop string; true if one was found.
pub(super) fn apply_stop(pieces: Vec<String>, stops: &[String]) -> (Vec<String>, bool) {
    let full: String = pieces.concat();
    let pos = stops.iter().filter(|s| !s.is_empty()).filter_map(|s| full.find(s.as_str())).min();
    let Some(p) = pos else {
        return (pieces, false);
    };
    let mut out = Vec::new();
    let mut off = 0;
    for pc in pieces {
        if off >= p {
            break;
        }
        let end = off + pc.len();
        if end <= p {
            out.push(pc);
        } else {
            out.push(pc[..p - off].to_string());
        }
        off = end;
    }
    (out, true)
}

/// Applies `stop` then `num_predict`; returns the pieces and the done_reason.
pub(super) fn limit(pieces: Vec<String>, req: &ChatReq) -> (Vec<String>, &'static str) {
    let (mut pieces, _) = apply_stop(pieces, &req.stop);
    let mut reason = "stop";
    if let Some(n) = req.num_predict.filter(|n| *n > 0) {
        if pieces.len() > n as usize {
            pieces.truncate(n as usize);
            reason = "length";
        }
    }
    (pieces, reason)
}

pub(super) const FILLERS: [&str; 18] = [
    " the", ",", ".", " a", "\n", " is", " to", " of", " and", " we", " =", " +", "1", "2", " in", " that",
    ":", " so",
];

pub(super) fn plain_lp(piece: &str, top_n: usize) -> Lp {
    let mut top = Vec::with_capacity(top_n);
    if top_n > 0 {
        top.push((piece.to_string(), -0.1));
    }
    let mut lp = -2.5;
    for f in FILLERS {
        if top.len() >= top_n {
            break;
        }
        if f != piece {
            top.push((f.to_string(), lp));
            lp -= 0.5;
        }
    }
    Lp { token: piece.to_string(), logprob: -0.1, top }
}

pub(super) fn with_lps(pieces: Vec<String>, req: &ChatReq) -> Vec<Piece> {
    pieces
        .into_iter()
        .map(|text| {
            let lp = req.logprobs.map(|n| plain_lp(&text, n));
            Piece { text, lp }
        })
        .collect()
}

pub(super) fn generate(b: Behaviour, req: &ChatReq) -> Generation {
    match b {
        Behaviour::Judge | Behaviour::BaseJudge => judge(b, req),
        Behaviour::PrmChat => prm_chat(req),
        Behaviour::Bench => {
            let (pieces, reason) = bench_pieces(req);
            Generation { pieces: with_lps(pieces, req), done_reason: reason, failure: Failure::None }
        }
        _ => {
            let (pieces, reason) = limit(split_pieces(&math_text(req)), req);
            let mut pieces = with_lps(pieces, req);
            let failure = match b {
                Behaviour::FlakyMath if req.seed_mod(4) == Some(1) => {
                    Failure::ErrorLine(FLAKY_ERROR.to_string())
                }
                Behaviour::SlowMath => Failure::Stall,
                Behaviour::DropMath => Failure::Abort,
                _ => Failure::None,
            };
            if !matches!(failure, Failure::None) {
                pieces.truncate(2);
            }
            Generation { pieces, done_reason: reason, failure }
        }
    }
}

/// The full scripted solution for `user` and its final answer.
pub fn math_script(user: &str, wrong: bool) -> (String, i128) {
    match first_expression(user) {
        Some((a, op, b, r)) => {
            let r = if wrong { r + 1 } else { r };
            (
                format!(
                    "We need to compute {a} {op} {b}.\n\n{a} {op} {b} = {r}\n\nThe answer is \\boxed{{{r}}}."
                ),
                r,
            )
        }
        None => ("Let me think.\n\nThe answer is \\boxed{42}.".to_string(), 42),
    }
}

pub(super) fn math_text(req: &ChatReq) -> String {
    let wrong = req.sampled() && req.seed_mod(4) == Some(3);
    let (script, r) = math_script(req.last_user(), wrong);
    match req.messages.last() {
        Some((role, prefix)) if role == "assistant" => match script.strip_prefix(prefix.as_str()) {
            Some(rest) => rest.to_string(),
            None => format!("\n\nThe answer is \\boxed{{{r}}}."),
        },
        _ => script,
    }
}

/// Judge verdict for a user message: true = every claim checks out.
pub fn judge_verdict(user: &str) -> bool {
    let text = match user.rfind("Step to check:") {
        Some(i) => &user[i + "Step to check:".len()..],
        None => user,
    };
    !claims(text).into_iter().any(|ok| !ok)
}

pub(super) fn judge(b: Behaviour, req: &ChatReq) -> Generation {
    let ok = judge_verdict(req.last_user());
    let piece = match req.logprobs {
        Some(top_n) => {
            let top_n = top_n.max(2);
            let (token, mut top): (&str, Vec<(&str, f64)>) = if b == Behaviour::BaseJudge {
                (
                    "Step",
                    vec![
                        ("Step", 0.55f64.ln()),
                        (" The", 0.20f64.ln()),
                        ("1", 0.10f64.ln()),
                        ("**", 0.05f64.ln()),
                        ("\n", 0.03f64.ln()),
                    ],
                )
            } else if ok {
                ("Yes", vec![("Yes", 0.90f64.ln()), ("No", 0.06f64.ln())])
            } else {
                ("No", vec![("No", 0.85f64.ln()), ("Yes", 0.10f64.ln())])
            };
            let fillers = [
                " The", "Step", "yes", "I", "**", "no", "The", "\n", " Yes", " No", "Correct", "1", "Let",
                "YES", "NO", "It", "This", "A", "#", "To",
            ];
            let mut p = 0.004f64;
            for f in fillers {
                // A base model's alternatives hold no verdict token in any spelling.
                let verdict = matches!(f.trim().to_ascii_lowercase().as_str(), "yes" | "no");
                if top.iter().any(|(t, _)| *t == f) || (b == Behaviour::BaseJudge && verdict) {
                    continue;
                }
                top.push((f, p.ln()));
                p *= 0.8;
            }
            top.truncate(top_n);
            Piece {
                text: token.to_string(),
                lp: Some(Lp {
                    token: token.to_string(),
                    logprob: top[0].1,
                    top: top.into_iter().map(|(t, l)| (t.to_string(), l)).collect(),
                }),
            }
        }
        None => {
            let text = if b == Behaviour::BaseJudge {
                "Step"
            } else {
                let flip = req.sampled() && req.seed_mod(10) == Some(0);
                if ok != flip {
                    "Yes"
                } else {
                    "No"
                }
            };
            Piece { text: text.to_string(), lp: None }
        }
    };
    let (kept, reason) = limit(vec![piece.text.clone()], req);
    let pieces = if kept.len() == 1 && kept[0] == piece.text { vec![piece] } else { with_lps(kept, req) };
    Generation { pieces, done_reason: reason, failure: Failure::None }
}

/// A conversational PRM (the RLHFlow chat format): the steps are user turns, each earlier one
/// answered "+" by the assistant; the reply to the last turn is "+" when that step's arithmetic
/// holds, "-" when not, with log-probabilities. A conversation of any other shape (not
/// alternating, an earlier reply that is not "+") gets "?", which no template reads as a verdict.
pub(super) fn prm_chat(req: &ChatReq) -> Generation {
    let turns: Vec<&(String, String)> = req.messages.iter().filter(|(r, _)| r != "system").collect();
    let shaped = turns.len() % 2 == 1
        && turns.iter().enumerate().all(|(i, (role, content))| {
            if i % 2 == 0 {
                role == "user"
            } else {
                role == "assistant" && content == "+"
            }
        });
    let ok = !claims(req.last_user()).into_iter().any(|ok| !ok);
    let (token, top): (&str, Vec<(&str, f64)>) = match (shaped, ok) {
        (false, _) => ("?", vec![("?", 0.9f64.ln()), ("The", 0.1f64.ln())]),
        (true, true) => ("+", vec![("+", 0.95f64.ln()), ("-", 0.04f64.ln()), ("The", 0.01f64.ln())]),
        (true, false) => ("-", vec![("-", 0.80f64.ln()), ("+", 0.15f64.ln()), ("The", 0.05f64.ln())]),
    };
    let lp = req.logprobs.map(|n| Lp {
        token: token.to_string(),
        logprob: top[0].1,
        top: top.iter().take(n.max(2)).map(|(t, l)| (t.to_string(), *l)).collect(),
    });
    Generation {
        pieces: vec![Piece { text: token.to_string(), lp }],
        done_reason: "stop",
        failure: Failure::None,
    }
}

// --- bench

/// Pieces of the `bench` model for `n` tokens: steps of 50 pieces (`"Now "`, 24 claims of 2
/// pieces like `"12+3"`, `"=15 "`, then `"\n\n"`), and the final step
/// `"The answer is \boxed{7}."` (6 pieces).
pub fn bench_text_pieces(n: usize) -> Vec<String> {
    const FINAL: [&str; 6] = ["The ", "answ", "er i", "s \\b", "oxed", "{7}."];
    if n <= FINAL.len() {
        return FINAL[..n].iter().map(|s| s.to_string()).collect();
    }
    let m = n - FINAL.len();
    let mut out = Vec::with_capacity(n);
    let mut k: usize = 0;
    for i in 0..m {
        let j = i % 50;
        let piece = match j {
            0 => "Now ".to_string(),
            49 => "\n\n".to_string(),
            _ => {
                // claim number (j-1)/2 of step i/50
                let a = 10 + (k * 7) % 40;
                let b = (k * 3) % 10;
                if j % 2 == 1 {
                    format!("{a}+{b}")
                } else {
                    k += 1;
                    format!("={:<2} ", a + b)
                }
            }
        };
        out.push(piece);
    }
    if out.last().map(String::as_str) != Some("\n\n") {
        *out.last_mut().expect("m >= 1") = "\n\n".to_string();
    }
    out.extend(FINAL.iter().map(|s| s.to_string()));
    out
}

pub(super) fn bench_pieces(req: &ChatReq) -> (Vec<String>, &'static str) {
    let given = req.num_predict.filter(|n| *n > 0);
    let n = given.unwrap_or(2000) as usize;
    let (pieces, _) = apply_stop(bench_text_pieces(n), &req.stop);
    let reason = if given.is_some() && pieces.len() == n { "length" } else { "stop" };
    (pieces, reason)
}

pub(super) struct BenchBody {
    pub(super) frames: Vec<Bytes>,
    pub(super) pieces: usize,
    pub(super) done_reason: &'static str,
}

pub(super) fn bench_body(st: &State, req: &ChatReq, prefix: &[u8]) -> Arc<BenchBody> {
    let key = format!("{}\u{0}{:?}\u{0}{:?}\u{0}{:?}", req.model, req.num_predict, req.logprobs, req.stop);
    if let Some(b) = st.bench_cache.lock().unwrap().get(&key) {
        return b.clone();
    }
    let (pieces, reason) = bench_pieces(req);
    let pieces = with_lps(pieces, req);
    let mut frames = Vec::with_capacity(pieces.len() / BENCH_LINES_PER_FRAME + 1);
    for chunk in pieces.chunks(BENCH_LINES_PER_FRAME) {
        let mut buf = Vec::with_capacity(chunk.len() * 128);
        for p in chunk {
            write_piece_line(&mut buf, prefix, p);
        }
        frames.push(Bytes::from(buf));
    }
    let body = Arc::new(BenchBody { frames, pieces: pieces.len(), done_reason: reason });
    let mut cache = st.bench_cache.lock().unwrap();
    if cache.len() > 64 {
        cache.clear();
    }
    cache.insert(key, body.clone());
    body
}

// ---------------------------------------------------------------------------------------------
// Arithmetic scanning

#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Tok {
    Num(i128),
    Op(char),
    Eq,
    Other,
}

pub(super) fn tokenize(s: &str) -> Vec<Tok> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    // Reads an unsigned number at chars[i] (a digit); returns (token, next index).
    let read_num = |mut i: usize| -> (Tok, usize) {
        let mut digits = String::new();
        while i < chars.len() && chars[i].is_ascii_digit() {
            digits.push(chars[i]);
            i += 1;
        }
        // thousands separators: 1,000,000
        while chars.get(i) == Some(&',')
            && chars.get(i + 1..i + 4).is_some_and(|g| g.iter().all(char::is_ascii_digit))
            && !chars.get(i + 4).is_some_and(char::is_ascii_digit)
        {
            digits.extend(&chars[i + 1..i + 4]);
            i += 4;
        }
        // decimals are not integers
        if i + 1 < chars.len() && chars[i] == '.' && chars[i + 1].is_ascii_digit() {
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            return (Tok::Other, i);
        }
        match digits.parse::<i128>() {
            Ok(n) => (Tok::Num(n), i),
            Err(_) => (Tok::Other, i),
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let (t, j) = read_num(i);
            out.push(t);
            i = j;
        } else if c == '-' || c == '−' {
            let sign_ok = !matches!(out.last(), Some(Tok::Num(_)));
            if sign_ok && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
                let (t, j) = read_num(i + 1);
                out.push(match t {
                    Tok::Num(n) => Tok::Num(-n),
                    t => t,
                });
                i = j;
            } else {
                out.push(Tok::Op('-'));
                i += 1;
            }
        } else if matches!(c, '+' | '*' | '×' | '/' | '÷' | '·') {
            out.push(Tok::Op(if c == '·' { '×' } else { c }));
            i += 1;
        } else if c == '=' {
            out.push(Tok::Eq);
            i += 1;
        } else if c == '\\' {
            let mut j = i + 1;
            while j < chars.len() && chars[j].is_ascii_alphabetic() {
                j += 1;
            }
            let word: String = chars[i + 1..j].iter().collect();
            out.push(match word.as_str() {
                "times" | "cdot" => Tok::Op('×'),
                "div" => Tok::Op('÷'),
                _ => Tok::Other,
            });
            i = j.max(i + 1);
        } else {
            out.push(Tok::Other);
            i += 1;
        }
    }
    out
}

pub(super) fn apply(a: i128, op: char, b: i128) -> Option<i128> {
    match op {
        '+' => a.checked_add(b),
        '-' => a.checked_sub(b),
        '*' | '×' => a.checked_mul(b),
        _ => None,
    }
}

/// First `A op B` (op in + - * ×) in `s`: (A, op, B, A op B).
pub(super) fn first_expression(s: &str) -> Option<(i128, char, i128, i128)> {
    let toks = tokenize(s);
    toks.windows(3).find_map(|w| match w {
        [Tok::Num(a), Tok::Op(op), Tok::Num(b)] if matches!(op, '+' | '-' | '*' | '×') => {
            apply(*a, *op, *b).map(|r| (*a, *op, *b, r))
        }
        _ => None,
    })
}

/// Truth of every binary claim `A op B = C` in `s` (chains like `1 + 2 + 3 = 6` are skipped).
pub(super) fn claims(s: &str) -> Vec<bool> {
    let toks = tokenize(s);
    let mut out = Vec::new();
    for i in 0..toks.len().saturating_sub(4) {
        let (Tok::Num(a), Tok::Op(op), Tok::Num(b), Tok::Eq, Tok::Num(c)) =
            (toks[i], toks[i + 1], toks[i + 2], toks[i + 3], toks[i + 4])
        else {
            continue;
        };
        if i > 0 && matches!(toks[i - 1], Tok::Op(_)) {
            continue;
        }
        if matches!(toks.get(i + 5), Some(Tok::Op(_))) {
            continue;
        }
        let ok = match op {
            '/' | '÷' => b != 0 && b.checked_mul(c) == Some(a),
            _ => match apply(a, op, b) {
                Some(r) => r == c,
                None => continue,
            },
        };
        out.push(ok);
    }
    out
}
