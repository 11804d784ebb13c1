//! Exact evaluation of a parsed expression: walks the tree, the arithmetic lives in
//! [`super::exact`].

use super::exact::{self, Q};
use super::expr::{Expr, C};

impl Expr {
    /// The exact value under `env`, or `None` when the expression has no exact rational
    /// value here (irrational pieces, undefined operations, or sizes past the bounds).
    pub(crate) fn exact(&self, env: &dyn Fn(&str) -> Option<Q>) -> Option<Q> {
        Some(match self {
            Expr::Lit { exact, .. } => (**exact).clone(),
            Expr::Num(c) => exact_complex(*c)?,
            Expr::Var(name) => env(name)?,
            Expr::Pi | Expr::Inf | Expr::Func(..) => return None,
            Expr::Neg(a) => -a.exact(env)?,
            Expr::Add(a, b) => exact::add(a.exact(env)?, b.exact(env)?)?,
            Expr::Sub(a, b) => exact::add(a.exact(env)?, -b.exact(env)?)?,
            Expr::Mul(a, b) => exact::mul(a.exact(env)?, b.exact(env)?)?,
            Expr::Div(a, b) => exact::div(a.exact(env)?, b.exact(env)?)?,
            Expr::Pow(a, b) => exact::pow(a.exact(env)?, b.exact(env)?)?,
            Expr::Root(k, a) => exact::root(k.exact(env)?, a.exact(env)?)?,
            Expr::Fact(a) => exact::factorial(a.exact(env)?)?,
        })
    }

    /// Whether a literal written with a decimal point or an exponent (`0.333`, `1.5e3`)
    /// occurs: such a number may be a rounding, see the grading rules in `equal.rs`.
    pub(crate) fn has_decimal(&self) -> bool {
        match self {
            Expr::Lit { integer, .. } => !integer,
            Expr::Num(_) | Expr::Var(_) | Expr::Pi | Expr::Inf => false,
            Expr::Neg(a) | Expr::Func(_, a) | Expr::Fact(a) => a.has_decimal(),
            Expr::Add(a, b)
            | Expr::Sub(a, b)
            | Expr::Mul(a, b)
            | Expr::Div(a, b)
            | Expr::Pow(a, b)
            | Expr::Root(a, b) => a.has_decimal() || b.has_decimal(),
        }
    }

    /// A bare number as written: `12`, `-0.5`.
    pub(crate) fn is_literal(&self) -> bool {
        match self {
            Expr::Lit { .. } => true,
            Expr::Neg(a) => matches!(**a, Expr::Lit { .. }),
            _ => false,
        }
    }
}

/// A real constant of the float evaluator (e.g. the implicit square-root index) exactly.
fn exact_complex(c: C) -> Option<Q> {
    if c.im != 0.0 {
        return None;
    }
    exact::from_float(c.re)
}
