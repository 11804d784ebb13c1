//! Exact rational evaluation of parsed expressions.
//!
//! Integer and decimal literals, `\frac`, `+ - * /`, `%`, `n!`, integer powers and roots of
//! perfect powers are evaluated as exact rationals of any size, so `2^{64}` is
//! 18446744073709551616 and not the nearest `f64`. Anything else (`\pi`, `\sqrt{2}`, `e`,
//! trigonometry, non-integer powers, `i`) has no exact value here and the caller falls back
//! to floating point.
//!
//! Sizes are bounded so that no answer can make the grader eat memory or time: every
//! numerator and denominator stays within [`MAX_BITS`] bits (about 4,900 decimal digits),
//! a power is refused *before* it is computed when its result would not fit, and a decimal
//! exponent (`1e4000`) may be at most [`MAX_DECIMAL_EXPONENT`]. Beyond the bounds the exact
//! value is `None`; the float evaluation then overflows too, so such answers are equal only
//! when they are equal as normalised strings.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};

/// An exact rational value.
pub(crate) type Q = BigRational;

/// Most bits in a numerator or denominator (2^14 bits ≈ 4,932 decimal digits).
pub(crate) const MAX_BITS: u64 = 1 << 14;
/// Largest `|k|` in a literal's scientific exponent `1e<k>` that is read exactly.
pub(crate) const MAX_DECIMAL_EXPONENT: u64 = 4_000;
/// Largest `n` for which `n!` is computed exactly (1000! has 8,530 bits).
const MAX_FACTORIAL: u64 = 1_000;
/// Largest root index tried exactly (`\sqrt[k]{...}`).
const MAX_ROOT_INDEX: u32 = 64;

/// Whether `q` is within the size bound.
fn fits(q: &Q) -> bool {
    q.numer().bits() <= MAX_BITS && q.denom().bits() <= MAX_BITS
}

fn checked(q: Q) -> Option<Q> {
    fits(&q).then_some(q)
}

/// The exact value of a decimal literal `<int>.<frac>e<exp>`; `None` past the bounds.
pub(crate) fn decimal(int: &str, frac: &str, exp: i64) -> Option<Q> {
    let digits = format!("{int}{frac}");
    let mantissa = BigInt::parse_bytes(digits.as_bytes(), 10)?;
    let scale = exp.checked_sub(i64::try_from(frac.len()).ok()?)?;
    if scale.unsigned_abs() > MAX_DECIMAL_EXPONENT {
        return None;
    }
    let power = BigInt::from(10u8).pow(u32::try_from(scale.unsigned_abs()).ok()?);
    let q = if scale >= 0 { Q::from_integer(mantissa * power) } else { Q::new(mantissa, power) };
    checked(q)
}

/// `q` as a float; `None` when it is outside the `f64` range.
pub(crate) fn to_float(q: &Q) -> Option<f64> {
    q.to_f64().filter(|f| f.is_finite())
}

/// A float as the exact dyadic rational it is (used for sample points).
pub(crate) fn from_float(f: f64) -> Option<Q> {
    Q::from_float(f).filter(fits)
}

pub(crate) fn add(a: Q, b: Q) -> Option<Q> {
    // Integer fast path: no gcd on huge numbers.
    if a.is_integer() && b.is_integer() {
        return checked(Q::from_integer(a.to_integer() + b.to_integer()));
    }
    checked(a + b)
}

pub(crate) fn mul(a: Q, b: Q) -> Option<Q> {
    if a.is_integer() && b.is_integer() {
        return checked(Q::from_integer(a.to_integer() * b.to_integer()));
    }
    checked(a * b)
}

pub(crate) fn div(a: Q, b: Q) -> Option<Q> {
    if b.is_zero() {
        return None;
    }
    checked(a / b)
}

/// `a^e` for an integer `e`, refused before computing when the result would not fit.
pub(crate) fn pow(a: Q, e: Q) -> Option<Q> {
    if !e.is_integer() {
        return None;
    }
    let n = e.to_integer();
    if a.is_zero() {
        // 0^0 = 1 as in the float evaluation; 0^-n is undefined.
        return match n.sign() {
            num_bigint::Sign::Minus => None,
            num_bigint::Sign::NoSign => Some(Q::one()),
            num_bigint::Sign::Plus => Some(Q::zero()),
        };
    }
    if a.abs().is_one() {
        let odd = n.bits() > 0 && (&n % 2u8) != BigInt::zero();
        return Some(if a.is_negative() && odd { -Q::one() } else { Q::one() });
    }
    let k = n.magnitude().to_u32()?;
    let widest = a.numer().bits().max(a.denom().bits());
    if widest.saturating_sub(1).saturating_mul(u64::from(k)) > MAX_BITS {
        return None;
    }
    let (num, den) = (a.numer().pow(k), a.denom().pow(k));
    // Powers of coprime numbers stay coprime: no reduction needed.
    let q = if n.is_negative() { Q::new(den, num) } else { Q::new_raw(num, den) };
    checked(q)
}

/// The exact `k`-th root of `a` when numerator and denominator are perfect `k`-th powers.
pub(crate) fn root(k: Q, a: Q) -> Option<Q> {
    if !k.is_integer() {
        return None;
    }
    let k = k.to_integer().to_u32().filter(|k| (1..=MAX_ROOT_INDEX).contains(k))?;
    let negative = a.is_negative();
    if negative && k % 2 == 0 {
        return None;
    }
    let a = a.abs();
    let exact_root = |n: &BigInt| {
        let r = n.nth_root(k);
        (r.pow(k) == *n).then_some(r)
    };
    let r = Q::new_raw(exact_root(a.numer())?, exact_root(a.denom())?);
    Some(if negative { -r } else { r })
}

pub(crate) fn factorial(a: Q) -> Option<Q> {
    if !a.is_integer() || a.is_negative() {
        return None;
    }
    let n = a.to_integer().to_u64().filter(|&n| n <= MAX_FACTORIAL)?;
    let mut acc = BigInt::one();
    for k in 2..=n {
        acc *= k;
    }
    checked(Q::from_integer(acc))
}
