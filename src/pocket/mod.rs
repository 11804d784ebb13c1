//! The embedded pocket model: a tiny character-level policy and PRM for chains of
//! arithmetic operations, trained with candle and run in-process on the CPU.
//!
//! The models read a compact prompt, not the problem's words: `\x01` + `27+48*3-19`
//! (+ `|75,225,207`, the step results of an earlier attempt, for a revision) + `\x02`,
//! then the solution text (`27+48=75\n\n75*3=225\n\n...The answer is 206.`) and `\x03`.

pub mod eval;
pub mod generator;
pub mod net;
mod prefix;
pub mod prm;
pub mod task;
pub mod train;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use net::{Net, VOCAB};
use prefix::{PrefixCache, State};
use task::{Chain, Rng, EOS, SEP};

pub use eval::{eval, EvalArgs};
pub use generator::PocketGenerator;
pub use prm::PocketPrm;
pub use task::{problem, problems};

/// The generated problem a run on the embedded model starts on when none is named:
/// level 3, index 1 (`pocket:L3:1`), moved on by `seed`.
///
/// Chosen by measurement to teach something on the first screen (`-n 8`, the PRM,
/// weighted selection, last-step aggregation, seed 0): "Start at 72. Subtract 7. Add 97.
/// Subtract 94." (gold 68) draws 58 ×4, 68 ×3 and 78 ×1, so a majority vote picks the
/// wrong 58 while the verifier's weighted choice is the right 68; stepping N down to 3
/// turns the answer wrong. (`pocket:L3:0` had every candidate make the same error.)
pub fn default_problem(seed: u64) -> crate::problem::Problem {
    problem(DEFAULT_LEVEL, DEFAULT_INDEX.wrapping_add(seed))
}

/// The level and index of [`default_problem`] at seed 0.
pub const DEFAULT_LEVEL: u8 = 3;
pub const DEFAULT_INDEX: u64 = 1;
pub use train::{train, TrainArgs};

/// The loaded pocket models, shareable across generations (`Arc<Pocket>`).
#[derive(Debug)]
pub struct Pocket {
    pub policy: Net,
    pub prm: Net,
}

impl Pocket {
    /// Load `policy.safetensors` and `prm.safetensors` from a directory.
    pub fn from_dir(dir: impl AsRef<Path>) -> anyhow::Result<Arc<Pocket>> {
        let dir = dir.as_ref();
        let policy = std::fs::read(dir.join("policy.safetensors"))?;
        let prm = std::fs::read(dir.join("prm.safetensors"))?;
        Ok(Arc::new(Self::from_bytes(&policy, &prm)?))
    }

    /// Load from safetensors bytes.
    pub fn from_bytes(policy: &[u8], prm: &[u8]) -> anyhow::Result<Pocket> {
        let policy = Net::from_bytes(policy)?;
        let prm = Net::from_bytes(prm)?;
        if !prm.is_prm() {
            anyhow::bail!("prm.safetensors is not a PRM (no score head, not a checker)");
        }
        Ok(Pocket { policy, prm })
    }
}

/// Prompt tokens for a compact prompt.
pub fn prompt_tokens(compact: &str) -> Vec<u8> {
    let mut t = vec![task::BOS];
    t.extend(net::encode(compact));
    t.push(SEP);
    t
}

/// Sample a whole solution after `prompt`; returns the text and whether it ended (EOS).
pub fn sample_solution(
    net: &Net,
    prompt: &[u8],
    temperature: f32,
    rng: &mut Rng,
    max_new: usize,
) -> (String, bool) {
    let mut cache = net.cache();
    let mut s = net.scratch();
    let n = prompt.len();
    for (i, tk) in prompt.iter().enumerate() {
        if net.step(&mut cache, &mut s, *tk, i + 1 == n).is_none() && cache.len >= net.ctx {
            return (String::new(), false);
        }
    }
    let mut out = String::new();
    for _ in 0..max_new {
        let tok = net::sample(&s.logits, temperature, rng);
        if tok == EOS as usize {
            return (out, true);
        }
        if !(9..VOCAB).contains(&tok) {
            return (out, false);
        }
        out.push(tok as u8 as char);
        if cache.len >= net.ctx {
            return (out, false);
        }
        net.step(&mut cache, &mut s, tok as u8, true);
    }
    (out, false)
}

/// Every run of digits written least-significant digit first: "27+48=75" becomes
/// "72+84=57". A PRM reading this order meets a result's digits in the order carries
/// travel, so it can check each digit from the operands' digits it has already read,
/// where the policy has to write the most significant digit first.
pub fn digits_reversed(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            run.push(ch);
        } else {
            out.extend(run.drain(..).rev());
            out.push(ch);
        }
    }
    out.extend(run.drain(..).rev());
    out
}

/// How a PRM reads the problem and the steps. Stored in the weights (`cfg[2]` = 0, 1, 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PrmView {
    /// The text as written.
    #[default]
    Plain,
    /// Every number least-significant digit first (see [`digits_reversed`]).
    Reversed,
    /// Fixed-width fields at fixed places: numbers least-significant digit first and padded
    /// with zeros (results to 4 digits, operands to 3), the problem's operations in fixed
    /// slots, and every step 13 characters long (see [`aligned_step`]). A digit of a result
    /// then sits at a fixed distance from the digits it depends on, and step k at a fixed
    /// place in the sequence, so a small network finds what to check by position.
    Aligned,
}

impl PrmView {
    /// The code stored in the weights.
    pub fn code(self) -> f32 {
        match self {
            PrmView::Plain => 0.0,
            PrmView::Reversed => 1.0,
            PrmView::Aligned => 2.0,
        }
    }
    /// The view for a stored code (unknown codes read as written).
    pub fn from_code(c: f32) -> PrmView {
        match c as i64 {
            1 => PrmView::Reversed,
            2 => PrmView::Aligned,
            _ => PrmView::Plain,
        }
    }
}

/// Length of every step in the aligned view.
pub const ALIGNED_STEP: usize = 13;

/// `v` least-significant digit first, padded with zeros to `width` (None if negative or wider).
fn fixed_rev(v: i64, width: usize) -> Option<String> {
    let s = v.to_string();
    if v < 0 || s.len() > width {
        return None;
    }
    let mut r: String = s.chars().rev().collect();
    r.extend(std::iter::repeat_n('0', width - s.len()));
    Some(r)
}

/// A step in the aligned view: "a op b = c" as `aaaa` op `bbb` `=` `cccc` (each least-significant
/// digit first, zero-padded: "75*3=225" is "5700*300=5220"), the answer line as
/// "     ans=" + 4 digits, and anything else as 13 '?'.
pub fn aligned_step(step: &str) -> String {
    let fields = task::parse_step(step).and_then(|(a, sym, b, c)| {
        Some(format!("{}{sym}{}={}", fixed_rev(a, 4)?, fixed_rev(b, 3)?, fixed_rev(c, 4)?))
    });
    let answer = || task::parse_answer(step).and_then(|v| Some(format!("     ans={}", fixed_rev(v, 4)?)));
    fields.or_else(answer).unwrap_or_else(|| "?".repeat(ALIGNED_STEP))
}

/// The compact problem in the aligned view: the start (4 digits) and `MAX_OPS` slots of an
/// operator and 3 digits, empty slots blank. Problems that do not parse are only reversed.
pub fn aligned_problem(compact: &str) -> String {
    let parsed = (|| {
        let end = compact.find(['+', '-', '*']).unwrap_or(compact.len());
        let mut out = fixed_rev(compact[..end].parse().ok()?, 4)?;
        let mut rest = &compact[end..];
        let mut slots = 0;
        while let Some(sym) = rest.chars().next() {
            let body = &rest[1..];
            let e = body.find(['+', '-', '*']).unwrap_or(body.len());
            out.push(sym);
            out.push_str(&fixed_rev(body[..e].parse().ok()?, 3)?);
            rest = &body[e..];
            slots += 1;
        }
        if slots > task::MAX_OPS {
            return None;
        }
        out.extend(std::iter::repeat_n(' ', 4 * (task::MAX_OPS - slots)));
        Some(out)
    })();
    parsed.unwrap_or_else(|| digits_reversed(compact))
}

/// A PRM's view of one step.
pub fn prm_view(step: &str, view: PrmView) -> String {
    match view {
        PrmView::Plain => step.to_string(),
        PrmView::Reversed => digits_reversed(step),
        PrmView::Aligned => aligned_step(step),
    }
}

/// A PRM's view of the compact problem.
pub fn prm_problem_view(compact: &str, view: PrmView) -> String {
    match view {
        PrmView::Plain => compact.to_string(),
        PrmView::Reversed => digits_reversed(compact),
        PrmView::Aligned => aligned_problem(compact),
    }
}

/// PRM tokens for a solution, and the positions whose score belongs to each step: every
/// step is followed by "\n\n" and scored at its first '\n'. Steps past the context are
/// left out.
pub fn prm_tokens(compact: &str, steps: &[String], ctx: usize, view: PrmView) -> (Vec<u8>, Vec<usize>) {
    let mut toks = prompt_tokens(&prm_problem_view(compact, view));
    let mut at = Vec::new();
    for s in steps {
        let e = net::encode(&prm_view(s.trim(), view));
        if toks.len() + e.len() + 2 > ctx {
            break;
        }
        toks.extend(e);
        at.push(toks.len());
        toks.extend([b'\n', b'\n']);
    }
    (toks, at)
}

/// PRM tokens and the (position, label) of every step.
pub type PrmExample = (Vec<u8>, Vec<(usize, bool)>);

/// A PRM training example from a chain and a sampled solution's steps.
pub fn prm_example(chain: &Chain, steps: &[String], ctx: usize, view: PrmView) -> Option<PrmExample> {
    let (toks, at) = prm_tokens(&chain.compact(), steps, ctx, view);
    if at.is_empty() {
        return None;
    }
    let labels = chain.label_steps(steps);
    Some((toks, at.into_iter().zip(labels).collect()))
}

/// PRM probabilities for each step (`None` for steps past the context). A head PRM gives its
/// head's output at each step's end. A checker gives the probability it assigns to the
/// solution's characters from the first through the step's end (each step's characters and
/// the newline that ends it): in its view every character
/// of the correct solution follows from the problem and the text before it, so this is its
/// probability that the solution is still the correct one at that step.
pub fn prm_scores(net: &Net, compact: &str, steps: &[String]) -> Vec<Option<f64>> {
    prm_scores_with(net, compact, steps, Some(&PRM_PREFIXES))
}

/// [`prm_scores`] computed from the first token, without stored prefixes (the same values).
pub fn prm_scores_uncached(net: &Net, compact: &str, steps: &[String]) -> Vec<Option<f64>> {
    prm_scores_with(net, compact, steps, None)
}

/// PRM states kept for reuse: every problem's prefix, and every candidate's last scored
/// steps (a candidate is scored again, from the start, as each further step completes).
static PRM_PREFIXES: PrefixCache = PrefixCache::new(32 << 20);

fn prm_scores_with(
    net: &Net,
    compact: &str,
    steps: &[String],
    prefixes: Option<&PrefixCache>,
) -> Vec<Option<f64>> {
    let (toks, at) = prm_tokens(compact, steps, net.ctx, net.view);
    let key = net.key();
    let fresh = || (0, State { cache: net.cache(), logits: vec![0.0; VOCAB], ll: 0.0, scores: Vec::new() });
    let (start, state) = prefixes.and_then(|c| c.take(key, &toks, &at)).unwrap_or_else(fresh);
    let mut cache = state.cache;
    let mut s = net.scratch();
    s.logits.copy_from_slice(&state.logits);
    let mut scores = vec![None; steps.len()];
    let mut k = state.scores.len();
    scores[..k].copy_from_slice(&state.scores);
    let checker = net.checker;
    let first = toks.iter().position(|t| *t == SEP).map_or(0, |p| p + 1);
    let mut ll = state.ll;
    for (i, tk) in toks.iter().enumerate().skip(start) {
        // A checker learned each step's characters and the newline that ends it, not the
        // second newline of the separator (which the aligned view makes certain anyway).
        let separator = k > 0 && at[k - 1] + 1 == i;
        if checker && i >= first && !separator {
            ll += net::log_prob(&s.logits, *tk as usize) as f64;
        }
        let p = net.step(&mut cache, &mut s, *tk, checker);
        if k < at.len() && at[k] == i {
            scores[k] = if checker { Some(ll.exp()) } else { p.map(f64::from) };
            k += 1;
        }
        if let Some(c) = prefixes.filter(|_| i + 1 == first && first < toks.len()) {
            // The problem's prefix, shared by all its candidates.
            let state =
                State { cache: cache.clone(), logits: s.logits.clone(), ll, scores: scores[..k].to_vec() };
            c.put(key, toks[..first].to_vec(), at[..k].to_vec(), true, state);
        }
    }
    if let Some(c) = prefixes {
        let state = State { cache, logits: s.logits, ll, scores: scores[..k].to_vec() };
        let at = at[..k].to_vec();
        c.put(key, toks, at, false, state);
    }
    scores
}

static EMBEDDED: OnceLock<Result<Arc<Pocket>, String>> = OnceLock::new();

impl Pocket {
    /// The weights compiled into the binary (loaded once).
    pub fn embedded() -> anyhow::Result<Arc<Pocket>> {
        EMBEDDED
            .get_or_init(|| {
                embedded_bytes()
                    .and_then(|(p, r)| Pocket::from_bytes(p, r).map(Arc::new).map_err(|e| e.to_string()))
            })
            .clone()
            .map_err(|e| anyhow::anyhow!("embedded pocket weights: {e}"))
    }
}

/// The shipped policy weights (produced by `ttc pocket train`, see assets/pocket/README.md).
pub static POLICY_BYTES: &[u8] = include_bytes!("../../assets/pocket/policy.safetensors");
/// The shipped PRM weights.
pub static PRM_BYTES: &[u8] = include_bytes!("../../assets/pocket/prm.safetensors");

fn embedded_bytes() -> Result<(&'static [u8], &'static [u8]), String> {
    Ok((POLICY_BYTES, PRM_BYTES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_problem_is_the_one_measured() {
        let p = default_problem(0);
        assert_eq!(p.id, "pocket:L3:1");
        assert_eq!(p.text, "Start at 72. Subtract 7. Add 97. Subtract 94.");
        assert_eq!(p.gold.as_deref(), Some("68"));
        assert_eq!(default_problem(4).id, "pocket:L3:5");
    }

    fn bits(scores: &[Option<f64>]) -> Vec<Option<u64>> {
        scores.iter().map(|s| s.map(f64::to_bits)).collect()
    }

    /// Candidates of a few problems: (compact problem, steps).
    fn candidates() -> Vec<(String, Vec<String>)> {
        let pocket = Pocket::embedded().unwrap();
        let mut out = Vec::new();
        for (level, index) in [(2, 3), (4, 1), (5, 2)] {
            let chain = Chain::parse(&problem(level, index).text).unwrap();
            let prompt = prompt_tokens(&chain.compact());
            for seed in 0..4 {
                let (text, _) = sample_solution(&pocket.policy, &prompt, 1.0, &mut Rng::new(seed), 200);
                out.push((chain.compact(), crate::steps::split_steps(&text)));
            }
        }
        out
    }

    #[test]
    fn stored_prefixes_give_the_prm_scores_bit_for_bit() {
        let pocket = Pocket::embedded().unwrap();
        let store = PrefixCache::new(64 << 20);
        let seqs = candidates();
        // Scored as best-of-N scores them: every candidate again as each step completes,
        // the candidates of a problem interleaved, the last step once more at the end.
        let most = seqs.iter().map(|s| s.1.len()).max().unwrap();
        assert!(most >= 4, "{seqs:?}");
        let mut checked = 0;
        for k in 0..=most {
            for (compact, steps) in &seqs {
                let part = &steps[..(k + 1).min(steps.len())];
                let want = prm_scores_uncached(&pocket.prm, compact, part);
                assert_eq!(bits(&prm_scores_with(&pocket.prm, compact, part, Some(&store))), bits(&want));
                assert_eq!(bits(&prm_scores(&pocket.prm, compact, part)), bits(&want));
                checked += 1;
            }
        }
        assert!(checked >= 50 && store.len() > 0);
        // Whole solutions at once, from the stored problem prefixes.
        for (compact, steps) in &seqs {
            let want = prm_scores_uncached(&pocket.prm, compact, steps);
            assert_eq!(bits(&prm_scores_with(&pocket.prm, compact, steps, Some(&store))), bits(&want));
        }
        // A tiny store keeps nothing and changes nothing.
        let tiny = PrefixCache::new(1000);
        for (compact, steps) in &seqs {
            let want = prm_scores_uncached(&pocket.prm, compact, steps);
            assert_eq!(bits(&prm_scores_with(&pocket.prm, compact, steps, Some(&tiny))), bits(&want));
        }
        assert_eq!(tiny.len(), 0);
    }

    #[test]
    fn prm_scores_keep_their_recorded_values() {
        // Recorded from the scoring code before prefixes were reused, bit for bit.
        let pocket = Pocket::embedded().unwrap();
        for (compact, steps, want) in RECORDED {
            let steps: Vec<String> = steps.iter().map(|s| s.to_string()).collect();
            let want: Vec<Option<u64>> = want.iter().map(|b| Some(*b)).collect();
            assert_eq!(bits(&prm_scores_uncached(&pocket.prm, compact, &steps)), want);
            for k in 0..steps.len() {
                assert_eq!(bits(&prm_scores(&pocket.prm, compact, &steps[..=k])), want[..=k]);
            }
        }
        // The recorded solutions are the policy's samples, as they were.
        let seqs = candidates();
        for (compact, steps, _) in RECORDED {
            assert!(seqs.iter().any(|(c, s)| c == compact && s == steps), "{compact} {steps:?}");
        }
    }

    const RECORDED: &[(&str, &[&str], &[u64])] = &[
        (
            "26-4-8",
            &["26-4=22", "22-8=14", "The answer is 14."],
            &[4607172596071827245, 4607164408954658783, 4607148453638690073],
        ),
        (
            "20*3*5*2+16",
            &["20*3=60", "60*5=300", "300*2=600", "600+16=616", "The answer is 616."],
            &[
                4607149584052885454,
                4603831551393685983,
                4603823658625126003,
                4603817585343106427,
                4603810532964671579,
            ],
        ),
        (
            "20*3*5*2+16",
            &["20*3=60", "60*5=300", "300*2=600", "600+16=626", "The answer is 626."],
            &[
                4607149584052885454,
                4603831551393685983,
                4603823658625126003,
                4530861608154756775,
                4530855569664894485,
            ],
        ),
        (
            "15+87+196*3+38-36",
            &["15+87=103", "103+196=309", "309*3=917", "917+38=956", "956-36=910", "The answer is 910."],
            &[
                4544601566433776627,
                4468354694693309578,
                4403337237875505742,
                4340536337177658584,
                4277125679512215501,
                4277115182594843277,
            ],
        ),
        (
            "15+87+196*3+38-36",
            &["15+87=102", "102+196=208", "208*3=614", "614+38=652", "652-36=616", "The answer is 616."],
            &[
                4607152125939089397,
                4492950188780822965,
                4436015839526053923,
                4436004484256823022,
                4435986501261126515,
                4435976828841739029,
            ],
        ),
        (
            "15+87+196*3+38-36",
            &["15+87=103", "103+196=209", "209*3=627", "627+38=665", "665-36=629", "The answer is 629."],
            &[
                4544601566433776627,
                4427661611876313440,
                4427643035755024861,
                4427636521561479431,
                4427625560562504822,
                4427618960776369121,
            ],
        ),
    ];

    #[test]
    fn reversed_view_flips_every_number_and_nothing_else() {
        assert_eq!(digits_reversed("27+48=75"), "72+84=57");
        assert_eq!(digits_reversed("The answer is 1206."), "The answer is 6021.");
        assert_eq!(digits_reversed("120-5*3"), "021-5*3");
        assert_eq!(prm_view("27+48=75", PrmView::Plain), "27+48=75");
        // Positions of steps do not depend on the view: reversal keeps every length.
        let steps: Vec<String> = ["27+48=75", "The answer is 75."].map(String::from).into();
        let (fwd, at_f) = prm_tokens("27+48", &steps, 160, PrmView::Plain);
        let (rev, at_r) = prm_tokens("27+48", &steps, 160, PrmView::Reversed);
        assert_eq!((fwd.len(), &at_f), (rev.len(), &at_r));
        assert_eq!(String::from_utf8_lossy(&rev[at_r[0] - 8..at_r[0]]), "72+84=57");
    }

    #[test]
    fn aligned_view_puts_every_field_at_a_fixed_place() {
        assert_eq!(aligned_step("75*3=225"), "5700*300=5220");
        assert_eq!(aligned_step(" 999 - 12 = 987 "), "9990-210=7890");
        assert_eq!(aligned_step("The answer is 206."), "     ans=6020");
        assert_eq!(aligned_step("75*3=12345"), "?".repeat(ALIGNED_STEP));
        assert_eq!(aligned_step("I think so"), "?".repeat(ALIGNED_STEP));
        assert_eq!(aligned_problem("27+48*3-19"), format!("7200+840*300-910{}", " ".repeat(12)));
        assert_eq!(aligned_problem("hello+"), "hello+");
        // Step k starts at the same place whatever the problem and the numbers.
        let a: Vec<String> = ["2+3=5", "5*2=10", "The answer is 10."].map(String::from).into();
        let b: Vec<String> = ["120-77=43", "43*9=387", "The answer is 387."].map(String::from).into();
        let (ta, at_a) = prm_tokens("2+3*2", &a, 160, PrmView::Aligned);
        let (tb, at_b) = prm_tokens("120-77*9", &b, 160, PrmView::Aligned);
        assert_eq!((ta.len(), &at_a), (tb.len(), &at_b));
        assert_eq!(at_a[1] - at_a[0], ALIGNED_STEP + 2);
        assert_eq!(PrmView::from_code(PrmView::Aligned.code()), PrmView::Aligned);
    }
}
