//! The embedded pocket model: a tiny character-level policy and PRM for chains of
//! arithmetic operations, trained with candle and run in-process on the CPU.
//!
//! The models read a compact prompt, not the problem's words: `\x01` + `27+48*3-19`
//! (+ `|75,225,207`, the step results of an earlier attempt, for a revision) + `\x02`,
//! then the solution text (`27+48=75\n\n75*3=225\n\n...The answer is 206.`) and `\x03`.

pub mod eval;
pub mod generator;
pub mod net;
pub mod prm;
pub mod task;
pub mod train;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use net::{Net, VOCAB};
use task::{Chain, Rng, EOS, SEP};

pub use eval::{eval, EvalArgs};
pub use generator::PocketGenerator;
pub use prm::PocketPrm;
pub use task::{problem, problems};
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
            anyhow::bail!("prm.safetensors has no score head");
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

/// A PRM's view of a text: as written, or with its numbers' digits reversed.
pub fn prm_view(text: &str, reversed: bool) -> String {
    if reversed {
        digits_reversed(text)
    } else {
        text.to_string()
    }
}

/// PRM tokens for a solution, and the positions whose score belongs to each step: every
/// step is followed by "\n\n" and scored at its first '\n'. Steps past the context are
/// left out. With `reversed`, numbers are read least-significant digit first.
pub fn prm_tokens(compact: &str, steps: &[String], ctx: usize, reversed: bool) -> (Vec<u8>, Vec<usize>) {
    let mut toks = prompt_tokens(&prm_view(compact, reversed));
    let mut at = Vec::new();
    for s in steps {
        let e = net::encode(&prm_view(s.trim(), reversed));
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
pub fn prm_example(chain: &Chain, steps: &[String], ctx: usize, reversed: bool) -> Option<PrmExample> {
    let (toks, at) = prm_tokens(&chain.compact(), steps, ctx, reversed);
    if at.is_empty() {
        return None;
    }
    let labels = chain.label_steps(steps);
    Some((toks, at.into_iter().zip(labels).collect()))
}

/// PRM probabilities for each step (`None` for steps past the context).
pub fn prm_scores(net: &Net, compact: &str, steps: &[String]) -> Vec<Option<f32>> {
    let (toks, at) = prm_tokens(compact, steps, net.ctx, net.reversed_digits);
    let mut cache = net.cache();
    let mut s = net.scratch();
    let mut scores = vec![None; steps.len()];
    let mut k = 0;
    for (i, tk) in toks.iter().enumerate() {
        let p = net.step(&mut cache, &mut s, *tk, false);
        if k < at.len() && at[k] == i {
            scores[k] = p;
            k += 1;
        }
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
    fn reversed_view_flips_every_number_and_nothing_else() {
        assert_eq!(digits_reversed("27+48=75"), "72+84=57");
        assert_eq!(digits_reversed("The answer is 1206."), "The answer is 6021.");
        assert_eq!(digits_reversed("120-5*3"), "021-5*3");
        assert_eq!(prm_view("27+48=75", false), "27+48=75");
        // Positions of steps do not depend on the view: reversal keeps every length.
        let steps: Vec<String> = ["27+48=75", "The answer is 75."].map(String::from).into();
        let (fwd, at_f) = prm_tokens("27+48", &steps, 160, false);
        let (rev, at_r) = prm_tokens("27+48", &steps, 160, true);
        assert_eq!((fwd.len(), &at_f), (rev.len(), &at_r));
        assert_eq!(String::from_utf8_lossy(&rev[at_r[0] - 8..at_r[0]]), "72+84=57");
    }
}
