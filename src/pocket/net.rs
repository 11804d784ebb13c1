//! Fast single-stream inference for the pocket transformer: the weights trained with
//! candle, copied into flat `f32` buffers, decoded one token at a time with a KV cache.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{anyhow, bail, Context};
use candle_core::{DType, Device, Tensor};

/// Vocabulary: 7-bit ASCII; ids 1–3 are the control tokens of [`super::task`].
pub const VOCAB: usize = 128;

/// Map text to token ids (non-ASCII becomes '?').
pub fn encode(text: &str) -> Vec<u8> {
    text.chars().map(|c| if (c as u32) < 128 && c as u32 >= 9 { c as u8 } else { b'?' }).collect()
}

/// One layer's weights (Linear weights are `[out][in]`, row-major).
#[derive(Debug, Clone)]
struct Layer {
    n1: Vec<f32>,
    qkv_w: Vec<f32>,
    qkv_b: Vec<f32>,
    o_w: Vec<f32>,
    o_b: Vec<f32>,
    n2: Vec<f32>,
    fc1_w: Vec<f32>,
    fc1_b: Vec<f32>,
    fc2_w: Vec<f32>,
    fc2_b: Vec<f32>,
}

/// A loaded pocket transformer: the policy, or a PRM (a score head, or a checker).
#[derive(Debug, Clone)]
pub struct Net {
    pub d: usize,
    pub heads: usize,
    pub ctx: usize,
    /// MLP activation: ReLU (current weights) or GELU (tanh form, older weights).
    pub relu: bool,
    /// How a PRM reads its input (see [`super::PrmView`]).
    pub view: super::PrmView,
    /// A checker PRM: it scores a text by the probability it gives its characters (`cfg[3] = 1`).
    pub checker: bool,
    tok: Vec<f32>,
    pos: Vec<f32>,
    layers: Vec<Layer>,
    nf: Vec<f32>,
    /// PRM head: weight `[d]` and bias.
    prm: Option<(Vec<f32>, f32)>,
    zeros: Vec<f32>,
    /// Unique to these weights (copies share it): the key of reused prefixes.
    id: u64,
}

/// Ids of loaded nets.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The per-stream state: keys and values of every position so far.
#[derive(Debug, Clone)]
pub struct Cache {
    k: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    pub len: usize,
}

impl Cache {
    /// Bytes held by the keys and values.
    pub fn bytes(&self) -> usize {
        self.k.iter().chain(&self.v).map(|x| x.capacity() * 4).sum()
    }

    /// Room for every position of `net`'s context.
    pub fn reserve(&mut self, net: &Net) {
        let want = net.ctx * net.d;
        self.k.iter_mut().chain(&mut self.v).for_each(|x| x.reserve(want.saturating_sub(x.len())));
    }

    /// Every key and value, as bits (for tests of bit-identical results).
    #[cfg(test)]
    pub fn bits(&self) -> Vec<u32> {
        self.k.iter().chain(&self.v).flatten().map(|x| x.to_bits()).collect()
    }

    /// Free the room reserved for later positions.
    pub fn shrink(&mut self) {
        self.k.iter_mut().chain(&mut self.v).for_each(|x| x.shrink_to_fit());
    }
}

/// Scratch buffers for one forward step.
#[derive(Debug, Clone)]
pub struct Scratch {
    x: Vec<f32>,
    h: Vec<f32>,
    qkv: Vec<f32>,
    att: Vec<f32>,
    y: Vec<f32>,
    ff: Vec<f32>,
    pub logits: Vec<f32>,
}

fn get(map: &HashMap<String, Tensor>, name: &str) -> anyhow::Result<Vec<f32>> {
    let t = map.get(name).ok_or_else(|| anyhow!("missing tensor {name}"))?;
    Ok(t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?)
}

impl Net {
    /// Build from named tensors (as saved by training).
    pub fn from_tensors(map: &HashMap<String, Tensor>) -> anyhow::Result<Net> {
        let tok_t = map.get("tok").context("missing tensor tok")?;
        let (v, d) = tok_t.dims2()?;
        if v != VOCAB {
            bail!("vocabulary {v}, expected {VOCAB}");
        }
        let ctx = map.get("pos").context("missing tensor pos")?.dims2()?.0;
        let cfg = get(map, "cfg")?;
        let heads = cfg.first().copied().unwrap_or(4.0) as usize;
        // cfg[1] = 1 marks a ReLU MLP; weights without it use GELU.
        let relu = cfg.get(1).is_some_and(|a| *a == 1.0);
        // cfg[2] marks how a PRM reads its input (1 = digits reversed, 2 = aligned).
        let view = super::PrmView::from_code(cfg.get(2).copied().unwrap_or(0.0));
        let checker = cfg.get(3).is_some_and(|a| *a == 1.0);
        let mut layers = Vec::new();
        while map.contains_key(&format!("l{}.n1", layers.len())) {
            let p = format!("l{}.", layers.len());
            layers.push(Layer {
                n1: get(map, &format!("{p}n1"))?,
                qkv_w: get(map, &format!("{p}qkv.w"))?,
                qkv_b: get(map, &format!("{p}qkv.b"))?,
                o_w: get(map, &format!("{p}o.w"))?,
                o_b: get(map, &format!("{p}o.b"))?,
                n2: get(map, &format!("{p}n2"))?,
                fc1_w: get(map, &format!("{p}fc1.w"))?,
                fc1_b: get(map, &format!("{p}fc1.b"))?,
                fc2_w: get(map, &format!("{p}fc2.w"))?,
                fc2_b: get(map, &format!("{p}fc2.b"))?,
            });
        }
        if layers.is_empty() || heads == 0 || d % heads != 0 {
            bail!("malformed pocket weights");
        }
        let prm = match (map.get("prm.w"), map.get("prm.b")) {
            (Some(_), Some(_)) => Some((get(map, "prm.w")?, get(map, "prm.b")?[0])),
            _ => None,
        };
        Ok(Net {
            d,
            heads,
            ctx,
            relu,
            view,
            checker,
            tok: get(map, "tok")?,
            pos: get(map, "pos")?,
            layers,
            nf: get(map, "nf")?,
            prm,
            zeros: vec![0.0; VOCAB],
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// Load from safetensors bytes.
    pub fn from_bytes(bytes: &[u8]) -> anyhow::Result<Net> {
        let map = candle_core::safetensors::load_buffer(bytes, &Device::Cpu)?;
        Self::from_tensors(&map)
    }

    /// Whether this net is a PRM (a score head, or a checker).
    pub fn is_prm(&self) -> bool {
        self.prm.is_some() || self.checker
    }

    /// An id unique to these weights (a clone has the same), with the settings that change
    /// what a forward pass computes.
    pub fn key(&self) -> (u64, bool, bool, usize) {
        (self.id, self.checker, self.relu, self.heads)
    }

    /// An empty cache.
    pub fn cache(&self) -> Cache {
        Cache {
            k: vec![Vec::with_capacity(self.ctx * self.d); self.layers.len()],
            v: vec![Vec::with_capacity(self.ctx * self.d); self.layers.len()],
            len: 0,
        }
    }

    /// Scratch buffers.
    pub fn scratch(&self) -> Scratch {
        let d = self.d;
        Scratch {
            x: vec![0.0; d],
            h: vec![0.0; d],
            qkv: vec![0.0; 3 * d],
            att: vec![0.0; self.ctx],
            y: vec![0.0; d],
            ff: vec![0.0; 4 * d],
            logits: vec![0.0; VOCAB],
        }
    }

    /// Feed one token at the next position. Fills `s.logits` when `want_logits`; returns
    /// the PRM probability at this position for PRM nets. Fails past the context.
    pub fn step(&self, cache: &mut Cache, s: &mut Scratch, tok: u8, want_logits: bool) -> Option<f32> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { self.step_avx2(cache, s, tok, want_logits) };
        }
        self.step_inner::<false>(cache, s, tok, want_logits)
    }

    /// `step` compiled for 256-bit vectors. Without FMA the arithmetic is the same, lane for
    /// lane, as the portable build, so both give bit-identical results.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn step_avx2(
        &self,
        cache: &mut Cache,
        s: &mut Scratch,
        tok: u8,
        want_logits: bool,
    ) -> Option<f32> {
        self.step_inner::<true>(cache, s, tok, want_logits)
    }

    #[inline(always)]
    fn step_inner<const AVX2: bool>(
        &self,
        cache: &mut Cache,
        s: &mut Scratch,
        tok: u8,
        want_logits: bool,
    ) -> Option<f32> {
        let d = self.d;
        let t = cache.len;
        if t >= self.ctx {
            return None;
        }
        let tok = (tok as usize).min(VOCAB - 1);
        for i in 0..d {
            s.x[i] = self.tok[tok * d + i] + self.pos[t * d + i];
        }
        let hd = d / self.heads;
        let scale = 1.0 / (hd as f32).sqrt();
        for (li, l) in self.layers.iter().enumerate() {
            rms(&s.x, &l.n1, &mut s.h);
            matvec_::<AVX2>(&l.qkv_w, &l.qkv_b, &s.h, &mut s.qkv);
            cache.k[li].extend_from_slice(&s.qkv[d..2 * d]);
            cache.v[li].extend_from_slice(&s.qkv[2 * d..3 * d]);
            let (ks, vs) = (&cache.k[li], &cache.v[li]);
            for hh in 0..self.heads {
                let q = &s.qkv[hh * hd..(hh + 1) * hd];
                let att = &mut s.att[..=t];
                scores_::<AVX2>(q, ks, d, hh * hd, scale, att);
                let mut mx = f32::NEG_INFINITY;
                for a in att.iter() {
                    mx = mx.max(*a);
                }
                let mut sum = 0.0;
                for a in att.iter_mut() {
                    *a = (*a - mx).exp();
                    sum += *a;
                }
                mix_::<AVX2>(att, sum, vs, d, hh * hd, &mut s.y[hh * hd..(hh + 1) * hd]);
            }
            matvec_::<AVX2>(&l.o_w, &l.o_b, &s.y, &mut s.h);
            for i in 0..d {
                s.x[i] += s.h[i];
            }
            rms(&s.x, &l.n2, &mut s.h);
            matvec_::<AVX2>(&l.fc1_w, &l.fc1_b, &s.h, &mut s.ff);
            if self.relu {
                for v in s.ff.iter_mut() {
                    *v = v.max(0.0);
                }
            } else {
                for v in s.ff.iter_mut() {
                    *v = gelu(*v);
                }
            }
            matvec_::<AVX2>(&l.fc2_w, &l.fc2_b, &s.ff, &mut s.h);
            for i in 0..d {
                s.x[i] += s.h[i];
            }
        }
        cache.len += 1;
        rms(&s.x, &self.nf, &mut s.h);
        if want_logits {
            matvec_::<AVX2>(&self.tok, &self.zeros, &s.h, &mut s.logits);
        }
        self.prm.as_ref().map(|(w, b)| sigmoid(dot(w, &s.h) + b))
    }
}

/// Numerically safe logistic function.
pub fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

#[inline(always)]
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + (0.797_884_6 * (x + 0.044715 * x * x * x)).tanh())
}

#[inline(always)]
fn rms(x: &[f32], g: &[f32], out: &mut [f32]) {
    let ms = x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32;
    let r = 1.0 / (ms + 1e-5).sqrt();
    for ((o, v), w) in out.iter_mut().zip(x).zip(g) {
        *o = v * r * w;
    }
}

#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s = acc.iter().sum::<f32>();
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// [`matvec`], in 256-bit vectors where `AVX2` says the CPU has them (the same arithmetic).
#[inline(always)]
fn matvec_<const AVX2: bool>(w: &[f32], b: &[f32], x: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if AVX2 {
        // SAFETY: `AVX2` is only set by `step_avx2`, which runs where the CPU has AVX2.
        return unsafe { avx2::matvec(w, b, x, out) };
    }
    matvec(w, b, x, out)
}

/// Attention scores of one head: `att[j]` = `q · k_j × scale` for the keys at `off` in each
/// position's `d` floats of `ks`.
#[inline(always)]
fn scores_<const AVX2: bool>(q: &[f32], ks: &[f32], d: usize, off: usize, scale: f32, att: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if AVX2 {
        // SAFETY: as in `matvec_`.
        return unsafe { avx2::scores(q, ks, d, off, scale, att) };
    }
    let hd = q.len();
    for (j, a) in att.iter_mut().enumerate() {
        *a = dot(q, &ks[j * d + off..j * d + off + hd]) * scale;
    }
}

/// One head's output: `y` = Σ_j (att[j] / sum) · v_j, added up in `j` order from zero.
#[inline(always)]
fn mix_<const AVX2: bool>(att: &[f32], sum: f32, vs: &[f32], d: usize, off: usize, y: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if AVX2 && y.len() % 8 == 0 {
        // SAFETY: as in `matvec_`.
        return unsafe { avx2::mix(att, sum, vs, d, off, y) };
    }
    let hd = y.len();
    y.iter_mut().for_each(|v| *v = 0.0);
    for (j, a) in att.iter().enumerate() {
        let w = a / sum;
        let v = &vs[j * d + off..j * d + off + hd];
        for (yy, vv) in y.iter_mut().zip(v) {
            *yy += w * vv;
        }
    }
}

/// `dot` and `matvec` written with AVX2 intrinsics. The compiler's own vectors for the
/// portable loops shuffle 128-bit halves; these keep the portable code's arithmetic exactly:
/// lane `i` of a row's accumulator adds `w[8c + i] * x[8c + i]` for chunk `c` in order (a
/// multiply, then an add: no FMA), the eight lanes are summed in order, then the bias added.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// The lanes of `a` summed in order, as `[f32; 8].iter().sum()`.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn lanes(a: __m256) -> f32 {
        let mut t = [0.0f32; 8];
        _mm256_storeu_ps(t.as_mut_ptr(), a);
        t.iter().sum::<f32>()
    }

    /// The 8×8 transpose: vector `i` of the result holds lane `i` of each of `r`.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
        let t0 = _mm256_unpacklo_ps(r[0], r[1]);
        let t1 = _mm256_unpackhi_ps(r[0], r[1]);
        let t2 = _mm256_unpacklo_ps(r[2], r[3]);
        let t3 = _mm256_unpackhi_ps(r[2], r[3]);
        let t4 = _mm256_unpacklo_ps(r[4], r[5]);
        let t5 = _mm256_unpackhi_ps(r[4], r[5]);
        let t6 = _mm256_unpacklo_ps(r[6], r[7]);
        let t7 = _mm256_unpackhi_ps(r[6], r[7]);
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        [
            _mm256_permute2f128_ps::<0x20>(u0, u4),
            _mm256_permute2f128_ps::<0x20>(u1, u5),
            _mm256_permute2f128_ps::<0x20>(u2, u6),
            _mm256_permute2f128_ps::<0x20>(u3, u7),
            _mm256_permute2f128_ps::<0x31>(u0, u4),
            _mm256_permute2f128_ps::<0x31>(u1, u5),
            _mm256_permute2f128_ps::<0x31>(u2, u6),
            _mm256_permute2f128_ps::<0x31>(u3, u7),
        ]
    }

    /// `scores_`: eight keys at a time, their lane sums side by side as in `matvec`.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn scores(q: &[f32], ks: &[f32], d: usize, off: usize, scale: f32, att: &mut [f32]) {
        let hd = q.len();
        let n = att.len();
        let mut j = 0;
        if hd % 8 == 0 && ks.len() >= n * d && off + hd <= d {
            let empty = _mm256_set1_ps([0.0f32; 0].iter().sum::<f32>());
            let sc = _mm256_set1_ps(scale);
            while j + 8 <= n {
                let mut acc = [_mm256_setzero_ps(); 8];
                for (kk, a) in acc.iter_mut().enumerate() {
                    // Key `j + kk` lies within `ks` (checked above), `c + 8 <= hd`.
                    let p = ks.as_ptr().add((j + kk) * d + off);
                    let mut c = 0;
                    while c < hd {
                        *a = _mm256_add_ps(
                            *a,
                            _mm256_mul_ps(_mm256_loadu_ps(q.as_ptr().add(c)), _mm256_loadu_ps(p.add(c))),
                        );
                        c += 8;
                    }
                }
                let mut sum = empty;
                for l in transpose8(acc) {
                    sum = _mm256_add_ps(sum, l);
                }
                _mm256_storeu_ps(att.as_mut_ptr().add(j), _mm256_mul_ps(sum, sc));
                j += 8;
            }
        }
        for (jj, a) in att.iter_mut().enumerate().skip(j) {
            *a = dot(q, &ks[jj * d + off..jj * d + off + hd]) * scale;
        }
    }

    /// `mix_` for `y.len()` a multiple of 8: each 8-float chunk of `y` summed over `j` in order.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn mix(att: &[f32], sum: f32, vs: &[f32], d: usize, off: usize, y: &mut [f32]) {
        let hd = y.len();
        assert!(hd % 8 == 0 && off + hd <= d && vs.len() >= att.len() * d);
        let mut c = 0;
        while c < hd {
            let mut acc = _mm256_setzero_ps();
            for (j, a) in att.iter().enumerate() {
                let w = _mm256_set1_ps(a / sum);
                // Position `j`'s values lie within `vs` (checked above).
                acc = _mm256_add_ps(acc, _mm256_mul_ps(w, _mm256_loadu_ps(vs.as_ptr().add(j * d + off + c))));
            }
            _mm256_storeu_ps(y.as_mut_ptr().add(c), acc);
            c += 8;
        }
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let whole = n / 8 * 8;
        let mut acc = _mm256_setzero_ps();
        let mut c = 0;
        while c < whole {
            // `c + 8 <= n`: within both slices.
            let (x, y) = (_mm256_loadu_ps(a.as_ptr().add(c)), _mm256_loadu_ps(b.as_ptr().add(c)));
            acc = _mm256_add_ps(acc, _mm256_mul_ps(x, y));
            c += 8;
        }
        let mut s = lanes(acc);
        for (x, y) in a[whole..n].iter().zip(&b[whole..n]) {
            s += x * y;
        }
        s
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn matvec(w: &[f32], b: &[f32], x: &[f32], out: &mut [f32]) {
        let n = x.len();
        let rows = out.len();
        if n % 8 != 0 || w.len() < rows * n || b.len() < rows {
            return super::matvec(w, b, x, out);
        }
        let mut r = 0;
        // Eight rows at a time, their lanes summed side by side: a transpose puts lane `i`
        // of the eight rows in one vector, added in lane order from the empty sum's value.
        let empty = _mm256_set1_ps([0.0f32; 0].iter().sum::<f32>());
        while r + 8 <= rows {
            let p = w[r * n..].as_ptr();
            let (mut a0, mut a1, mut a2, mut a3) =
                (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps());
            let (mut a4, mut a5, mut a6, mut a7) =
                (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps());
            let mut c = 0;
            while c < n {
                // Rows `r..r + 8` of `w` hold `n` floats each (checked above), `c + 8 <= n`.
                let xs = _mm256_loadu_ps(x.as_ptr().add(c));
                a0 = _mm256_add_ps(a0, _mm256_mul_ps(_mm256_loadu_ps(p.add(c)), xs));
                a1 = _mm256_add_ps(a1, _mm256_mul_ps(_mm256_loadu_ps(p.add(n + c)), xs));
                a2 = _mm256_add_ps(a2, _mm256_mul_ps(_mm256_loadu_ps(p.add(2 * n + c)), xs));
                a3 = _mm256_add_ps(a3, _mm256_mul_ps(_mm256_loadu_ps(p.add(3 * n + c)), xs));
                a4 = _mm256_add_ps(a4, _mm256_mul_ps(_mm256_loadu_ps(p.add(4 * n + c)), xs));
                a5 = _mm256_add_ps(a5, _mm256_mul_ps(_mm256_loadu_ps(p.add(5 * n + c)), xs));
                a6 = _mm256_add_ps(a6, _mm256_mul_ps(_mm256_loadu_ps(p.add(6 * n + c)), xs));
                a7 = _mm256_add_ps(a7, _mm256_mul_ps(_mm256_loadu_ps(p.add(7 * n + c)), xs));
                c += 8;
            }
            let lanes = transpose8([a0, a1, a2, a3, a4, a5, a6, a7]);
            let mut sum = empty;
            for l in lanes {
                sum = _mm256_add_ps(sum, l);
            }
            let sum = _mm256_add_ps(sum, _mm256_loadu_ps(b.as_ptr().add(r)));
            _mm256_storeu_ps(out.as_mut_ptr().add(r), sum);
            r += 8;
        }
        while r + 4 <= rows {
            let (mut a0, mut a1, mut a2, mut a3) =
                (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps());
            let p = w[r * n..].as_ptr();
            let mut c = 0;
            while c < n {
                // Rows `r..r + 4` of `w` hold `n` floats each (checked above), `c + 8 <= n`.
                let xs = _mm256_loadu_ps(x.as_ptr().add(c));
                a0 = _mm256_add_ps(a0, _mm256_mul_ps(_mm256_loadu_ps(p.add(c)), xs));
                a1 = _mm256_add_ps(a1, _mm256_mul_ps(_mm256_loadu_ps(p.add(n + c)), xs));
                a2 = _mm256_add_ps(a2, _mm256_mul_ps(_mm256_loadu_ps(p.add(2 * n + c)), xs));
                a3 = _mm256_add_ps(a3, _mm256_mul_ps(_mm256_loadu_ps(p.add(3 * n + c)), xs));
                c += 8;
            }
            out[r] = lanes(a0) + b[r];
            out[r + 1] = lanes(a1) + b[r + 1];
            out[r + 2] = lanes(a2) + b[r + 2];
            out[r + 3] = lanes(a3) + b[r + 3];
            r += 4;
        }
        for i in r..rows {
            out[i] = dot(&w[i * n..(i + 1) * n], x) + b[i];
        }
    }
}

#[inline(always)]
fn matvec(w: &[f32], b: &[f32], x: &[f32], out: &mut [f32]) {
    let n = x.len();
    if n % 8 != 0 {
        for (i, o) in out.iter_mut().enumerate() {
            *o = dot(&w[i * n..(i + 1) * n], x) + b[i];
        }
        return;
    }
    // Four rows at a time share the loads of `x`.
    let mut rows = out.chunks_exact_mut(4);
    let mut r = 0;
    for o in &mut rows {
        let w0 = &w[r * n..(r + 1) * n];
        let w1 = &w[(r + 1) * n..(r + 2) * n];
        let w2 = &w[(r + 2) * n..(r + 3) * n];
        let w3 = &w[(r + 3) * n..(r + 4) * n];
        let mut a0 = [0.0f32; 8];
        let mut a1 = [0.0f32; 8];
        let mut a2 = [0.0f32; 8];
        let mut a3 = [0.0f32; 8];
        for ((((xs, c0), c1), c2), c3) in x
            .chunks_exact(8)
            .zip(w0.chunks_exact(8))
            .zip(w1.chunks_exact(8))
            .zip(w2.chunks_exact(8))
            .zip(w3.chunks_exact(8))
        {
            for i in 0..8 {
                a0[i] += c0[i] * xs[i];
                a1[i] += c1[i] * xs[i];
                a2[i] += c2[i] * xs[i];
                a3[i] += c3[i] * xs[i];
            }
        }
        o[0] = a0.iter().sum::<f32>() + b[r];
        o[1] = a1.iter().sum::<f32>() + b[r + 1];
        o[2] = a2.iter().sum::<f32>() + b[r + 2];
        o[3] = a3.iter().sum::<f32>() + b[r + 3];
        r += 4;
    }
    for (k, o) in rows.into_remainder().iter_mut().enumerate() {
        let i = r + k;
        *o = dot(&w[i * n..(i + 1) * n], x) + b[i];
    }
}

/// Turn logits into a token: argmax at temperature 0, else a sample.
pub fn sample(logits: &[f32], temperature: f32, rng: &mut super::task::Rng) -> usize {
    if temperature <= 0.0 {
        return argmax(logits);
    }
    let mx = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let mut probs: Vec<f32> = logits.iter().map(|l| ((l - mx) / temperature).exp()).collect();
    let sum: f32 = probs.iter().sum();
    let mut r = rng.f32() * sum;
    for (i, p) in probs.iter_mut().enumerate() {
        r -= *p;
        if r <= 0.0 {
            return i;
        }
    }
    argmax(logits)
}

/// Log-probability of token `tok` under `logits` (log-softmax).
pub fn log_prob(logits: &[f32], tok: usize) -> f32 {
    let mx = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = logits.iter().map(|l| (l - mx).exp()).sum();
    logits.get(tok).map_or(f32::NEG_INFINITY, |l| l - mx - sum.ln())
}

/// Index of the largest logit.
pub fn argmax(logits: &[f32]) -> usize {
    let mut best = 0;
    for (i, l) in logits.iter().enumerate() {
        if *l > logits[best] {
            best = i;
        }
    }
    best
}

/// Log-softmax of logits.
pub fn log_softmax(logits: &[f32]) -> Vec<f32> {
    let mx = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let lse = mx + logits.iter().map(|l| (l - mx).exp()).sum::<f32>().ln();
    logits.iter().map(|l| l - lse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avx2_steps_are_the_portable_steps_bit_for_bit() {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            let pocket = crate::pocket::Pocket::embedded().unwrap();
            let text = b"\x0127+48*3-19\x0227+48=75\n\n75*3=225\n\n225-19=206\n\nThe answer is 206.\x03";
            for net in [&pocket.policy, &pocket.prm] {
                let (mut c0, mut c1) = (net.cache(), net.cache());
                let (mut s0, mut s1) = (net.scratch(), net.scratch());
                for tk in text {
                    let p0 = net.step_inner::<false>(&mut c0, &mut s0, *tk, true);
                    // SAFETY: the CPU has AVX2, checked above.
                    let p1 = unsafe { net.step_avx2(&mut c1, &mut s1, *tk, true) };
                    assert_eq!(p0.map(f32::to_bits), p1.map(f32::to_bits));
                    let bits = |s: &Scratch| s.logits.iter().map(|l| l.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&s0), bits(&s1));
                }
                assert_eq!(c0.bits(), c1.bits());
            }
            // Rows and lengths off the blocks of 4 rows and 8 lanes.
            let w: Vec<f32> = (0..24 * 23).map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0).collect();
            let b: Vec<f32> = (0..23).map(|i| i as f32 / 3.0).collect();
            for (n, rows) in [(8, 7), (16, 23), (21, 20), (24, 16), (24, 23), (8, 4)] {
                let x: Vec<f32> = (0..n).map(|i| (i as f32 - 4.5) / 1.7).collect();
                let (mut o0, mut o1) = (vec![0.0; rows], vec![0.0; rows]);
                matvec(&w, &b, &x, &mut o0);
                // SAFETY: as above.
                unsafe { avx2::matvec(&w, &b, &x, &mut o1) };
                assert_eq!(
                    o0.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    o1.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
                );
                // SAFETY: as above.
                assert_eq!(dot(&w[..n], &x).to_bits(), unsafe { avx2::dot(&w[..n], &x) }.to_bits());
            }
        }
    }
}
