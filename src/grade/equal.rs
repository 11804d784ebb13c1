//! Answer equivalence: string match after normalisation, then structure (tuples, intervals,
//! sets, lists, matrices, equations), then numeric or symbolic comparison of scalars.
//!
//! # How two scalars compare
//!
//! 1. **Exact.** When both sides have an exact rational value ([`super::exact`]: integer and
//!    decimal literals of any length, `\frac`, `+ - * /`, `%`, `n!` up to 1000, integer
//!    powers, roots of perfect powers, mixed numbers) they compare as exact rationals:
//!    `2^{64}` ≠ `18446744073709551617`, `12345678901234567` ≠ `12345678901234568`,
//!    `10^{309}` = 1 followed by 309 zeros, `0.5` = `\frac{1}{2}`.
//!    One exception keeps MATH-style leniency: when the values differ, a decimal written with
//!    a point or exponent is taken as a rounding and the 1e-4 relative tolerance applies —
//!    `0.33333` = `\frac13` — unless both sides are bare numbers (`0.3` ≠ `0.30000000000000004`)
//!    or both values are integers (`10081` ≠ `1.008\times10^4`).
//! 2. **Size bound.** Every exact numerator and denominator stays within 2^14 bits (about
//!    4,900 digits; a power is refused before it is computed), and a literal exponent
//!    (`1e4000`) within ±4000. Beyond that, and beyond the `f64` range for floats, an answer
//!    such as `10^{100000000}` has no value: it equals only itself as a normalised string.
//! 3. **Float.** When a side has no exact value (`\sqrt{2}`, `\pi`, `e`, trigonometry, logs,
//!    non-integer powers, `i`, or a decimal mixed with any of these) both sides are evaluated
//!    as `f64` complex numbers and compared within relative tolerance 1e-4 (absolute 1e-9
//!    near zero). An exact integer against a float that is an integer up to float error
//!    compares exactly with that integer, so `10081` ≠ `10080\cos 0`.
//! 4. **Symbolic.** Expressions with free variables are evaluated at six deterministic
//!    sample points; at each point both sides are compared exactly when both are rational
//!    functions (the sample points are exact dyadic rationals), else as floats as in 3.
//!
//! Tuples, intervals, sets, matrices and equations apply these rules element by element.

use std::collections::BTreeSet;

use num_traits::Signed;

use super::exact::{self, Q};
use super::expr::{self, Expr, C};
use super::latex::{enclosed, find_command, split_top_level};
use super::normalize::{normalize, strip_assignment};

/// Answers longer than this (bytes, normalised) are only compared as strings.
const MAX_LEN: usize = 4096;
/// Most items in one tuple/set/list/matrix; beyond it we compare as strings.
const MAX_ITEMS: usize = 64;
/// Deepest nesting of structures (tuples of sets of ...) that is parsed.
const MAX_SHAPE_DEPTH: usize = 4;
/// Most `\pm` signs expanded in one item (each doubles the candidates).
const MAX_PM: usize = 3;
/// Relative tolerance for numeric comparison.
const REL_TOL: f64 = 1e-4;
/// Absolute tolerance, which matters only near zero.
const ABS_TOL: f64 = 1e-9;
/// Sample points for comparing expressions with free variables.
const SAMPLE_POINTS: usize = 6;

/// Whether a predicted answer is equivalent to the gold answer (string, numeric or symbolic).
pub fn answers_equal(pred: &str, gold: &str) -> bool {
    let p = normalize(pred);
    let g = normalize(gold);
    if p.is_empty() || g.is_empty() {
        return false;
    }
    if p == g {
        return true;
    }
    if p.len() > MAX_LEN || g.len() > MAX_LEN {
        return false;
    }
    if shapes_equal(&parse_shape(&p, 0), &parse_shape(&g, 0)) {
        return true;
    }
    // Normalisation drops `%`, so `50\%` already equals `50`; also accept the fraction
    // reading, `50\%` = `0.5`, when exactly one side was written as a percentage.
    let (pp, gp) = (pred.contains('%'), gold.contains('%'));
    if pp != gp {
        return if pp {
            scalar_equal(&format!("({p})/100"), &g)
        } else {
            scalar_equal(&p, &format!("({g})/100"))
        };
    }
    false
}

/// The structure of an answer; leaves are normalised scalar strings.
#[derive(Debug)]
enum Shape {
    Scalar(String),
    /// Tuple or interval: order matters and so do the bracket kinds.
    Seq {
        open: String,
        close: String,
        items: Vec<Shape>,
    },
    /// Set `\{...\}` or bare comma list: compared as a multiset.
    Unordered(Vec<Shape>),
    Matrix(Vec<Vec<Shape>>),
    /// Union of intervals, order-insensitive.
    Union(Vec<Shape>),
    /// `lhs = rhs`.
    Equation(String, String),
}

fn parse_shape(s: &str, depth: usize) -> Shape {
    let s = s.trim();
    if depth > MAX_SHAPE_DEPTH {
        return Shape::Scalar(s.to_string());
    }
    let parts = split_top_level(s, "\\cup");
    if parts.len() > 1 {
        if parts.len() > MAX_ITEMS {
            return Shape::Scalar(s.to_string());
        }
        return Shape::Union(parts.iter().map(|p| parse_shape(p, depth + 1)).collect());
    }
    if let Some(m) = matrix(s, depth) {
        return m;
    }
    if let Some((open, inner, close)) = enclosed(s) {
        if open == "\\{" {
            return unordered(inner, depth).unwrap_or_else(|| Shape::Scalar(s.to_string()));
        }
        let parts = split_top_level(inner, ",");
        if parts.len() > 1 {
            if parts.len() > MAX_ITEMS {
                return Shape::Scalar(s.to_string());
            }
            return Shape::Seq {
                open: open.to_string(),
                close: close.to_string(),
                items: parts.iter().map(|p| parse_shape(p, depth + 1)).collect(),
            };
        }
    }
    if split_top_level(s, ",").len() > 1 {
        return unordered(s, depth).unwrap_or_else(|| Shape::Scalar(s.to_string()));
    }
    let sides = split_top_level(s, "=");
    if sides.len() == 2 {
        return Shape::Equation(sides[0].trim().to_string(), sides[1].trim().to_string());
    }
    let expanded = expand_pm(s);
    if expanded.len() > 1 {
        return Shape::Unordered(expanded.into_iter().map(Shape::Scalar).collect());
    }
    Shape::Scalar(s.to_string())
}

/// Items of a set or list, with `x=` prefixes dropped and `a \pm b` expanded into two items.
fn unordered(inner: &str, depth: usize) -> Option<Shape> {
    let parts = split_top_level(inner, ",");
    if parts.len() > MAX_ITEMS {
        return None;
    }
    let mut items = Vec::new();
    for part in parts {
        let part = strip_assignment(part.trim());
        let expanded = expand_pm(part);
        if expanded.len() > 1 {
            items.extend(expanded.into_iter().map(Shape::Scalar));
        } else {
            items.push(parse_shape(part, depth + 1));
        }
    }
    Some(Shape::Unordered(items))
}

/// `\begin{pmatrix} a & b \\ c & d \end{pmatrix}` (and bmatrix/matrix/…) as rows of cells.
fn matrix(s: &str, depth: usize) -> Option<Shape> {
    for env in ["pmatrix", "bmatrix", "Bmatrix", "vmatrix", "matrix", "smallmatrix"] {
        let begin = format!("\\begin{{{env}}}");
        let end = format!("\\end{{{env}}}");
        let Some(inner) = s.strip_prefix(&begin).and_then(|r| r.strip_suffix(&end)) else {
            continue;
        };
        let mut rows = Vec::new();
        for row in split_top_level(inner, "\\\\") {
            if row.trim().is_empty() {
                continue; // a trailing `\\` before `\end` is common
            }
            let cells = split_top_level(row, "&");
            if cells.len() > MAX_ITEMS || rows.len() >= MAX_ITEMS {
                return None;
            }
            rows.push(cells.iter().map(|c| parse_shape(c, depth + 1)).collect());
        }
        return Some(Shape::Matrix(rows));
    }
    None
}

/// All sign choices of `\pm`/`\mp` in `s` (just `s` itself when there are none).
fn expand_pm(s: &str) -> Vec<String> {
    let mut out = vec![s.to_string()];
    for _ in 0..MAX_PM {
        let mut next = Vec::new();
        let mut changed = false;
        for item in &out {
            let hit = [("\\pm", ["+", "-"]), ("\\mp", ["-", "+"])]
                .iter()
                .find_map(|(cmd, signs)| find_command(item, cmd).map(|at| (at, cmd.len(), signs)));
            match hit {
                Some((at, len, signs)) => {
                    changed = true;
                    for sign in signs {
                        next.push(format!("{}{}{}", &item[..at], sign, &item[at + len..]));
                    }
                }
                None => next.push(item.clone()),
            }
        }
        out = next;
        if !changed {
            break;
        }
    }
    out
}

fn shapes_equal(a: &Shape, b: &Shape) -> bool {
    use Shape::*;
    match (a, b) {
        (Scalar(x), Scalar(y)) => scalar_equal(x, y),
        (Seq { open: o1, close: c1, items: x }, Seq { open: o2, close: c2, items: y }) => {
            o1 == o2 && c1 == c2 && all_pairs_equal(x, y)
        }
        (Unordered(x), Unordered(y)) | (Union(x), Union(y)) => multiset_equal(x, y),
        // A one-element set or list is its element: `\{5\}` = `5`.
        (Unordered(x), other) | (other, Unordered(x)) if x.len() == 1 => shapes_equal(&x[0], other),
        (Matrix(x), Matrix(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(r1, r2)| all_pairs_equal(r1, r2))
        }
        // A row or column vector may be written as a tuple.
        (Matrix(m), Seq { open, items, .. }) | (Seq { open, items, .. }, Matrix(m))
            if open == "(" || open == "[" =>
        {
            vector_cells(m).is_some_and(|cells| {
                cells.len() == items.len() && cells.iter().zip(items).all(|(c, i)| shapes_equal(c, i))
            })
        }
        (Equation(l1, r1), Equation(l2, r2)) => equations_equal(l1, r1, l2, r2),
        // `2x+3=y` against the (assignment-stripped) gold `2x+3`.
        (Equation(l, r), Scalar(x)) | (Scalar(x), Equation(l, r)) => {
            let lone_var = |s: &str| s.len() == 1 && s.bytes().all(|b| b.is_ascii_alphabetic());
            (lone_var(r) && scalar_equal(l, x)) || (lone_var(l) && scalar_equal(r, x))
        }
        _ => false,
    }
}

/// Cells of a one-row or one-column matrix.
fn vector_cells(m: &[Vec<Shape>]) -> Option<Vec<&Shape>> {
    if m.len() == 1 {
        Some(m[0].iter().collect())
    } else if m.iter().all(|row| row.len() == 1) {
        Some(m.iter().map(|row| &row[0]).collect())
    } else {
        None
    }
}

fn all_pairs_equal(x: &[Shape], y: &[Shape]) -> bool {
    x.len() == y.len() && x.iter().zip(y).all(|(a, b)| shapes_equal(a, b))
}

/// Greedy multiset matching; enough because tolerance classes are tiny and disjoint in practice.
fn multiset_equal(x: &[Shape], y: &[Shape]) -> bool {
    if x.len() != y.len() {
        return false;
    }
    let mut used = vec![false; y.len()];
    for a in x {
        let found = y.iter().enumerate().find(|(j, b)| !used[*j] && shapes_equal(a, b)).map(|(j, _)| j);
        match found {
            Some(j) => used[j] = true,
            None => return false,
        }
    }
    true
}

/// Only letters: a word answer such as `Evelyn` or a choice letter.
fn is_letters(s: &str) -> bool {
    !s.is_empty() && s.chars().all(char::is_alphabetic)
}

fn scalar_equal(x: &str, y: &str) -> bool {
    if x == y {
        return true;
    }
    if is_letters(x) && is_letters(y) {
        return x.to_lowercase() == y.to_lowercase();
    }
    // Subscripts are bases (`52_8`) or indices: meaningful only as written.
    if x.is_empty() || y.is_empty() || x.contains('_') || y.contains('_') {
        return false;
    }
    // Two integer literals compare exactly at any length, even past the parser's limit.
    if let (Some(a), Some(b)) = (integer_literal(x), integer_literal(y)) {
        return a == b;
    }
    let (Some(ex), Some(ey)) = (expr::parse(x), expr::parse(y)) else {
        return false;
    };
    exprs_equal(&ex, &ey)
}

/// `-?[0-9]+` as an exact integer.
fn integer_literal(s: &str) -> Option<num_bigint::BigInt> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Deterministic pseudo-random sample values in [0.5, 2.5) for symbolic comparison.
fn sample_values(n_vars: usize, point: usize) -> Vec<f64> {
    use crate::hash::{mix64, GOLDEN};
    let mut state = GOLDEN ^ (point as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03);
    (0..n_vars)
        .map(|_| {
            // splitmix64: cheap and well spread, no external crate needed.
            state = state.wrapping_add(GOLDEN);
            let z = mix64(state);
            0.5 + 2.0 * (z >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

/// Free variables of both sides, or `None` when `e` should be read as Euler's number.
///
/// `e` is a variable by default (`e^2` = `e^{2}` either way), but when it is the only symbol
/// and the other side is a pure number (`e` vs `2.71828`), it must be the constant.
fn free_vars(a: &Expr, b: &Expr) -> Option<Vec<String>> {
    let (mut va, mut vb) = (BTreeSet::new(), BTreeSet::new());
    a.vars(&mut va);
    b.vars(&mut vb);
    let union: BTreeSet<String> = va.union(&vb).cloned().collect();
    let only_e = union.len() == 1 && union.contains("e");
    if only_e && (va.is_empty() || vb.is_empty()) {
        return None;
    }
    Some(union.into_iter().collect())
}

fn exprs_equal(a: &Expr, b: &Expr) -> bool {
    let vars = match free_vars(a, b) {
        None => {
            return match (a.eval(&expr::euler_env), b.eval(&expr::euler_env)) {
                (Some(x), Some(y)) => values_close(x, y),
                _ => false,
            }
        }
        Some(v) => v,
    };
    // A decimal may stand for a rounding (`0.3333` for 1/3) unless both sides are bare numbers.
    let rounded = (a.has_decimal() || b.has_decimal()) && !(a.is_literal() && b.is_literal());
    if vars.is_empty() {
        let none = |_: &str| None;
        let no_exact = |_: &str| None;
        return match (a.exact(&no_exact), b.exact(&no_exact)) {
            (Some(p), Some(q)) => rationals_equal(&p, &q, rounded),
            (Some(p), None) => b.eval(&none).is_some_and(|y| exact_float_equal(&p, y)),
            (None, Some(q)) => a.eval(&none).is_some_and(|x| exact_float_equal(&q, x)),
            (None, None) => match (a.eval(&none), b.eval(&none)) {
                (Some(x), Some(y)) => values_close(x, y),
                _ => false,
            },
        };
    }
    let mut agreed = 0;
    for point in 0..SAMPLE_POINTS {
        let values = sample_values(vars.len(), point);
        // Rational functions are compared exactly at the (dyadic rational) sample points.
        let exact_env =
            |name: &str| vars.iter().position(|v| v == name).and_then(|i| exact::from_float(values[i]));
        if let (Some(p), Some(q)) = (a.exact(&exact_env), b.exact(&exact_env)) {
            if !rationals_equal(&p, &q, rounded) {
                return false;
            }
            agreed += 1;
            continue;
        }
        let env = |name: &str| vars.iter().position(|v| v == name).map(|i| C::real(values[i]));
        match (a.eval(&env), b.eval(&env)) {
            (Some(x), Some(y)) if values_close(x, y) => agreed += 1,
            // Both undefined here (a pole): this point says nothing.
            (None, None) => {}
            _ => return false,
        }
    }
    agreed >= 2
}

/// Two exact values: equal exactly, or — when `rounded` (a decimal that may be a rounding
/// is involved) and not both are integers — within the relative tolerance, computed exactly.
fn rationals_equal(p: &Q, q: &Q, rounded: bool) -> bool {
    if p == q {
        return true;
    }
    if !rounded || (p.is_integer() && q.is_integer()) {
        return false;
    }
    let d = (p - q).abs();
    let abs_tol = Q::new(1.into(), 1_000_000_000.into());
    let larger = if p.abs() > q.abs() { p.abs() } else { q.abs() };
    d <= abs_tol || d * Q::from_integer(10_000.into()) <= larger
}

/// An exact value against a float-only one (`\sqrt`, `\pi`, ...).
///
/// An exact integer compares exactly with the integer the float rounds to (when the float
/// is one up to float error), otherwise the 1e-4 relative tolerance would make `10081`
/// equal `10080`; other values compare within the tolerance.
fn exact_float_equal(p: &Q, y: C) -> bool {
    let Some(x) = exact::to_float(p) else {
        // Outside the float range: no finite float can be close to it.
        return false;
    };
    if p.is_integer() && y.im.abs() <= ABS_TOL && y.re.is_finite() {
        let r = y.re.round();
        if (y.re - r).abs() <= 1e-9 * r.abs().max(1.0) {
            return (x - r).abs() <= 1e-12 * x.abs().max(r.abs()).max(1.0);
        }
    }
    values_close(C::real(x), y)
}

/// Within relative tolerance 1e-4 (absolute 1e-9 near zero); infinities must match exactly.
fn values_close(x: C, y: C) -> bool {
    if x.re.is_nan() || x.im.is_nan() || y.re.is_nan() || y.im.is_nan() {
        return false;
    }
    if x.re.is_infinite() || y.re.is_infinite() || x.im.is_infinite() || y.im.is_infinite() {
        return x.re == y.re && x.im == y.im;
    }
    let d = x.sub(y).abs();
    d <= ABS_TOL || d <= REL_TOL * x.abs().max(y.abs())
}

/// Equations are equal when `lhs - rhs` of one is a constant non-zero multiple of the other's.
fn equations_equal(l1: &str, r1: &str, l2: &str, r2: &str) -> bool {
    let parse_side = |s: &str| expr::parse(s);
    let (Some(a1), Some(b1), Some(a2), Some(b2)) =
        (parse_side(l1), parse_side(r1), parse_side(l2), parse_side(r2))
    else {
        return false;
    };
    let d1 = Expr::difference(a1, b1);
    let d2 = Expr::difference(a2, b2);
    let Some(vars) = free_vars(&d1, &d2) else {
        return false;
    };
    if vars.is_empty() {
        return false;
    }
    let mut ratio: Option<C> = None;
    let mut agreed = 0;
    for point in 0..SAMPLE_POINTS {
        let values = sample_values(vars.len(), point);
        let env = |name: &str| vars.iter().position(|v| v == name).map(|i| C::real(values[i]));
        let (Some(v1), Some(v2)) = (d1.eval(&env), d2.eval(&env)) else {
            return false;
        };
        let (z1, z2) = (v1.abs() <= ABS_TOL, v2.abs() <= ABS_TOL);
        if z1 && z2 {
            continue;
        }
        if z1 || z2 {
            return false;
        }
        let Some(r) = v1.div(v2) else {
            return false;
        };
        match ratio {
            None => ratio = Some(r),
            Some(r0) if values_close(r0, r) => {}
            Some(_) => return false,
        }
        agreed += 1;
    }
    agreed >= 2
}
