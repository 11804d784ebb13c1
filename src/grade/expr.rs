//! A small parser and evaluator for LaTeX-ish math expressions.
//!
//! Values are complex numbers so that answers like `6 - 5i` and `\sqrt{-4}` evaluate, and
//! expressions with free variables are compared by evaluating at sample points. Parsing is
//! bounded (input length and nesting depth) and evaluation reports overflow, division by
//! zero and undefined operations as `None`, so no input can panic or hang.
//!
//! Number literals keep their exact value (see `exact.rs`), so the same tree can also be
//! evaluated as an exact rational; the float evaluation here is the fallback for irrational
//! values (the rules are in `equal.rs`).

use std::collections::BTreeSet;
use std::f64::consts::{E, PI};

use num_traits::Signed;

use super::exact::{self, Q};

/// Longest expression (bytes) we try to parse; longer answers are compared as strings.
const MAX_LEN: usize = 1000;
/// Deepest nesting of groups/unary operators accepted by the parser.
const MAX_DEPTH: usize = 64;
/// Largest integer exponent computed by repeated squaring on complex bases.
const MAX_INT_POW: f64 = 4096.0;

/// A complex number; real answers simply have `im == 0`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct C {
    pub re: f64,
    pub im: f64,
}

impl C {
    const I: C = C { re: 0.0, im: 1.0 };

    fn new(re: f64, im: f64) -> C {
        C { re, im }
    }

    /// A real number.
    pub(crate) fn real(re: f64) -> C {
        C { re, im: 0.0 }
    }

    fn is_real(self) -> bool {
        self.im == 0.0
    }

    fn is_zero(self) -> bool {
        self.re == 0.0 && self.im == 0.0
    }

    /// Modulus, used for tolerance checks.
    pub(crate) fn abs(self) -> f64 {
        self.re.hypot(self.im)
    }

    fn is_finite(self) -> bool {
        self.re.is_finite() && self.im.is_finite()
    }

    fn neg(self) -> C {
        C::new(-self.re, -self.im)
    }

    /// Difference.
    pub(crate) fn sub(self, o: C) -> C {
        C::new(self.re - o.re, self.im - o.im)
    }

    fn add(self, o: C) -> C {
        C::new(self.re + o.re, self.im + o.im)
    }

    fn mul(self, o: C) -> C {
        // The real fast path keeps `2 * inf` = inf instead of the complex formula's NaN.
        if self.is_real() && o.is_real() {
            return C::real(self.re * o.re);
        }
        C::new(self.re * o.re - self.im * o.im, self.re * o.im + self.im * o.re)
    }

    /// Quotient; `None` for division by zero.
    pub(crate) fn div(self, o: C) -> Option<C> {
        if o.is_zero() {
            return None;
        }
        if o.is_real() {
            return Some(C::new(self.re / o.re, self.im / o.re));
        }
        let d = o.re * o.re + o.im * o.im;
        Some(C::new((self.re * o.re + self.im * o.im) / d, (self.im * o.re - self.re * o.im) / d))
    }

    fn exp(self) -> C {
        let m = self.re.exp();
        if self.im == 0.0 {
            return C::real(m);
        }
        C::new(m * self.im.cos(), m * self.im.sin())
    }

    fn ln(self) -> Option<C> {
        if self.is_zero() {
            return None;
        }
        // `-0.0` imaginary parts (from negating a real) would put ln on the wrong branch.
        let im = if self.im == 0.0 { 0.0 } else { self.im };
        Some(C::new(self.abs().ln(), im.atan2(self.re)))
    }

    fn pow(self, e: C) -> Option<C> {
        if e.is_real() && e.re.fract() == 0.0 {
            if self.is_real() {
                // powf is exact enough for integer exponents and handles negative bases.
                if self.re == 0.0 && e.re < 0.0 {
                    return None;
                }
                return Some(C::real(self.re.powf(e.re)));
            }
            if e.re.abs() <= MAX_INT_POW {
                return self.powi(e.re as i64);
            }
        }
        if self.is_real() && e.is_real() && self.re > 0.0 {
            return Some(C::real(self.re.powf(e.re)));
        }
        if self.is_zero() {
            return (e.re > 0.0).then_some(C::real(0.0));
        }
        Some(e.mul(self.ln()?).exp())
    }

    fn powi(self, n: i64) -> Option<C> {
        let mut base = self;
        let mut k = n.unsigned_abs();
        let mut acc = C::real(1.0);
        while k > 0 {
            if k & 1 == 1 {
                acc = acc.mul(base);
            }
            base = base.mul(base);
            k >>= 1;
        }
        if n < 0 {
            C::real(1.0).div(acc)
        } else {
            Some(acc)
        }
    }

    /// `n`-th root; odd roots of negative reals stay real (`\sqrt[3]{-8}` = -2).
    fn root(self, n: C) -> Option<C> {
        if n.is_real() && n.re.fract() == 0.0 && n.re >= 1.0 && self.is_real() {
            let k = n.re;
            if self.re >= 0.0 {
                return Some(C::real(self.re.powf(1.0 / k)));
            }
            if k % 2.0 == 1.0 {
                return Some(C::real(-(-self.re).powf(1.0 / k)));
            }
        }
        if self.is_zero() {
            return Some(C::real(0.0));
        }
        Some(self.ln()?.div(n)?.exp())
    }

    fn sin(self) -> C {
        C::new(self.re.sin() * self.im.cosh(), self.re.cos() * self.im.sinh())
    }

    fn cos(self) -> C {
        C::new(self.re.cos() * self.im.cosh(), -self.re.sin() * self.im.sinh())
    }

    fn sinh(self) -> C {
        C::new(self.re.sinh() * self.im.cos(), self.re.cosh() * self.im.sin())
    }

    fn cosh(self) -> C {
        C::new(self.re.cosh() * self.im.cos(), self.re.sinh() * self.im.sin())
    }
}

/// Functions the evaluator knows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Func {
    Sin,
    Cos,
    Tan,
    Cot,
    Sec,
    Csc,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Ln,
    Exp,
    Sqrt,
}

impl Func {
    fn from_name(name: &str) -> Option<Func> {
        Some(match name {
            "sin" => Func::Sin,
            "cos" => Func::Cos,
            "tan" => Func::Tan,
            "cot" => Func::Cot,
            "sec" => Func::Sec,
            "csc" => Func::Csc,
            "arcsin" => Func::Asin,
            "arccos" => Func::Acos,
            "arctan" => Func::Atan,
            "sinh" => Func::Sinh,
            "cosh" => Func::Cosh,
            "tanh" => Func::Tanh,
            // Natural log for both; the base does not matter when both sides use it.
            "ln" | "log" => Func::Ln,
            "exp" => Func::Exp,
            "sqrt" => Func::Sqrt,
            _ => return None,
        })
    }

    fn apply(self, x: C) -> Option<C> {
        let one = C::real(1.0);
        match self {
            Func::Sin => Some(x.sin()),
            Func::Cos => Some(x.cos()),
            Func::Tan => x.sin().div(x.cos()),
            Func::Cot => x.cos().div(x.sin()),
            Func::Sec => one.div(x.cos()),
            Func::Csc => one.div(x.sin()),
            Func::Sinh => Some(x.sinh()),
            Func::Cosh => Some(x.cosh()),
            Func::Tanh => x.sinh().div(x.cosh()),
            // Inverse trig only on its real domain; complex branches are not worth the risk.
            Func::Asin => (x.is_real() && x.re.abs() <= 1.0).then(|| C::real(x.re.asin())),
            Func::Acos => (x.is_real() && x.re.abs() <= 1.0).then(|| C::real(x.re.acos())),
            Func::Atan => x.is_real().then(|| C::real(x.re.atan())),
            Func::Ln => x.ln(),
            Func::Exp => Some(x.exp()),
            Func::Sqrt => x.root(C::real(2.0)),
        }
    }
}

/// Greek-letter commands treated as variables.
const GREEK: &[&str] = &[
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "varepsilon",
    "zeta",
    "eta",
    "theta",
    "vartheta",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "rho",
    "sigma",
    "tau",
    "phi",
    "varphi",
    "chi",
    "psi",
    "omega",
    "Gamma",
    "Delta",
    "Theta",
    "Lambda",
    "Sigma",
    "Phi",
    "Psi",
    "Omega",
];

/// Parsed expression tree.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Expr {
    /// A number as written, exactly; `integer` when written without `.` or an exponent.
    Lit {
        exact: Box<Q>,
        integer: bool,
    },
    /// A constant with no literal spelling (`i`).
    Num(C),
    Var(String),
    Pi,
    Inf,
    Neg(Box<Expr>),
    Add(Box<Expr>, Box<Expr>),
    Sub(Box<Expr>, Box<Expr>),
    Mul(Box<Expr>, Box<Expr>),
    Div(Box<Expr>, Box<Expr>),
    Pow(Box<Expr>, Box<Expr>),
    /// `Root(index, radicand)`.
    Root(Box<Expr>, Box<Expr>),
    Func(Func, Box<Expr>),
    Fact(Box<Expr>),
}

impl Expr {
    /// `a - b`, used to turn an equation into one expression.
    pub(crate) fn difference(a: Expr, b: Expr) -> Expr {
        Expr::Sub(Box::new(a), Box::new(b))
    }

    /// Adds the names of the free variables to `out`.
    pub(crate) fn vars(&self, out: &mut BTreeSet<String>) {
        match self {
            Expr::Var(v) => {
                out.insert(v.clone());
            }
            Expr::Lit { .. } | Expr::Num(_) | Expr::Pi | Expr::Inf => {}
            Expr::Neg(a) | Expr::Func(_, a) | Expr::Fact(a) => a.vars(out),
            Expr::Add(a, b)
            | Expr::Sub(a, b)
            | Expr::Mul(a, b)
            | Expr::Div(a, b)
            | Expr::Pow(a, b)
            | Expr::Root(a, b) => {
                a.vars(out);
                b.vars(out);
            }
        }
    }

    /// Value under `env` (variable → value); `None` when undefined or when finite inputs overflow.
    pub(crate) fn eval(&self, env: &dyn Fn(&str) -> Option<C>) -> Option<C> {
        let (result, inputs): (C, [C; 2]) = match self {
            // A literal beyond the float range (`1e400`) has no float value.
            Expr::Lit { exact, .. } => return exact::to_float(exact).map(C::real),
            Expr::Num(c) => return Some(*c),
            Expr::Pi => return Some(C::real(PI)),
            Expr::Inf => return Some(C::real(f64::INFINITY)),
            Expr::Var(name) => return env(name),
            Expr::Neg(a) => return Some(a.eval(env)?.neg()),
            Expr::Add(a, b) => {
                let (x, y) = (a.eval(env)?, b.eval(env)?);
                (x.add(y), [x, y])
            }
            Expr::Sub(a, b) => {
                let (x, y) = (a.eval(env)?, b.eval(env)?);
                (x.sub(y), [x, y])
            }
            Expr::Mul(a, b) => {
                let (x, y) = (a.eval(env)?, b.eval(env)?);
                (x.mul(y), [x, y])
            }
            Expr::Div(a, b) => {
                let (x, y) = (a.eval(env)?, b.eval(env)?);
                (x.div(y)?, [x, y])
            }
            Expr::Pow(a, b) => {
                let (x, y) = (a.eval(env)?, b.eval(env)?);
                (x.pow(y)?, [x, y])
            }
            Expr::Root(n, a) => {
                let (k, x) = (n.eval(env)?, a.eval(env)?);
                (x.root(k)?, [k, x])
            }
            Expr::Func(f, a) => {
                let x = a.eval(env)?;
                (f.apply(x)?, [x, x])
            }
            Expr::Fact(a) => {
                let x = a.eval(env)?;
                (factorial(x)?, [x, x])
            }
        };
        if result.re.is_nan() || result.im.is_nan() {
            return None;
        }
        // Infinity is legitimate only when it came from `\infty`; finite inputs overflowing
        // (e.g. `2^{10^{10}}`) would otherwise make two different huge numbers "equal".
        if !result.is_finite() && inputs.iter().all(|c| c.is_finite()) {
            return None;
        }
        Some(result)
    }
}

/// `n!` for integers 0..=170 (larger overflows f64).
fn factorial(x: C) -> Option<C> {
    if !x.is_real() || x.re < 0.0 || x.re > 170.0 || x.re.fract() != 0.0 {
        return None;
    }
    let mut acc = 1.0;
    let mut k = 2.0;
    while k <= x.re {
        acc *= k;
        k += 1.0;
    }
    Some(C::real(acc))
}

/// Evaluation environment where the only free variable `e` means Euler's number.
pub(crate) fn euler_env(name: &str) -> Option<C> {
    (name == "e").then_some(C::real(E))
}

/// Lexical token.
#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// A number literal (exact) and whether it was written as an integer.
    Num(Box<Q>, bool),
    /// Bare letters: one variable letter or a known name like `sin` or `pi`.
    Ident(String),
    /// A control word without its backslash.
    Cmd(String),
    Sym(char),
}

/// Known multi-letter names written without a backslash.
const NAMES: &[&str] = &[
    "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "sqrt", "sin", "cos", "tan", "cot", "sec", "csc",
    "log", "exp", "ln", "pi",
];

fn lex(s: &str) -> Option<Vec<Tok>> {
    let chars: Vec<char> = s.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            i = lex_number(&chars, i, &mut toks)?;
        } else if c == '\\' {
            let next = *chars.get(i + 1)?;
            if next.is_ascii_alphabetic() {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && chars[j].is_ascii_alphabetic() {
                    j += 1;
                }
                toks.push(Tok::Cmd(chars[start..j].iter().collect()));
                i = j;
            } else {
                match next {
                    '{' => toks.push(Tok::Sym('{')),
                    '}' => toks.push(Tok::Sym('}')),
                    '%' => toks.push(Tok::Sym('%')),
                    ',' | '!' | ';' | ':' | ' ' | '$' => {}
                    _ => return None,
                }
                i += 2;
            }
        } else if c.is_ascii_alphabetic() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_alphabetic() {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            lex_word(&word, &mut toks)?;
        } else if "+-*/^!()[]{}%,=&_|'".contains(c) {
            toks.push(Tok::Sym(c));
            i += 1;
        } else {
            return None;
        }
    }
    Some(toks)
}

/// Lexes a decimal literal (with optional `e` exponent) starting at `i`; returns the next index.
fn lex_number(chars: &[char], i: usize, toks: &mut Vec<Tok>) -> Option<usize> {
    let mut j = i;
    while j < chars.len() && chars[j].is_ascii_digit() {
        j += 1;
    }
    let mut integer = true;
    if chars.get(j) == Some(&'.') && chars.get(j + 1).is_some_and(char::is_ascii_digit) {
        integer = false;
        j += 1;
        while j < chars.len() && chars[j].is_ascii_digit() {
            j += 1;
        }
    }
    // Scientific notation only when digits follow the `e`, so `2e` stays 2·e.
    if matches!(chars.get(j), Some('e' | 'E')) {
        let k = if matches!(chars.get(j + 1), Some('+' | '-')) { j + 2 } else { j + 1 };
        if chars.get(k).is_some_and(char::is_ascii_digit) {
            integer = false;
            j = k;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
        }
    }
    let text: String = chars[i..j].iter().collect();
    let (mantissa, exp) = match text.split_once(['e', 'E']) {
        // An exponent too long for i64 is far past the exact bound anyway.
        Some((m, e)) => (m, e.parse::<i64>().ok()?),
        None => (text.as_str(), 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    // Past the size bounds (`1e99999`) a literal is not a number we can compare.
    let value = exact::decimal(int, frac, exp)?;
    toks.push(Tok::Num(Box::new(value), integer));
    Some(j)
}

/// Splits a run of letters into names and one-letter variables (`2xy` is `2·x·y`).
///
/// Runs of four or more letters that are not known names are words, not products, so the
/// expression is rejected and compared as text instead.
fn lex_word(word: &str, toks: &mut Vec<Tok>) -> Option<()> {
    if NAMES.contains(&word) {
        toks.push(Tok::Ident(word.to_string()));
        return Some(());
    }
    let (head, tail) = match NAMES.iter().find(|n| word.starts_with(*n)) {
        Some(n) if word.len() - n.len() <= 2 => (Some(*n), &word[n.len()..]),
        _ if word.len() <= 3 => (None, word),
        _ => return None,
    };
    if let Some(h) = head {
        toks.push(Tok::Ident(h.to_string()));
    }
    toks.extend(tail.chars().map(|c| Tok::Ident(c.to_string())));
    Some(())
}

/// Parses a whole expression; `None` if it is not a single well-formed expression.
pub(crate) fn parse(s: &str) -> Option<Expr> {
    if s.len() > MAX_LEN || s.trim().is_empty() {
        return None;
    }
    let toks = lex(s)?;
    let mut p = Parser { toks, pos: 0, depth: 0 };
    let e = p.expr()?;
    (p.pos == p.toks.len()).then_some(e)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

fn bx(e: Expr) -> Box<Expr> {
    Box::new(e)
}

/// A small integer literal.
fn int_lit(n: u32) -> Expr {
    Expr::Lit { exact: Box::new(Q::from_integer(n.into())), integer: true }
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn peek_sym(&self, c: char) -> bool {
        self.peek() == Some(&Tok::Sym(c))
    }

    fn peek_cmd(&self, names: &[&str]) -> bool {
        matches!(self.peek(), Some(Tok::Cmd(n)) if names.contains(&n.as_str()))
    }

    fn eat_sym(&mut self, c: char) -> bool {
        let hit = self.peek_sym(c);
        if hit {
            self.pos += 1;
        }
        hit
    }

    /// Guards recursion depth so `((((...` cannot overflow the stack.
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        if self.depth >= MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    /// sum := term (('+' | '-') term)*
    fn expr(&mut self) -> Option<Expr> {
        let mut lhs = self.term()?;
        loop {
            if self.eat_sym('+') {
                lhs = Expr::Add(bx(lhs), bx(self.term()?));
            } else if self.eat_sym('-') {
                lhs = Expr::Sub(bx(lhs), bx(self.term()?));
            } else {
                return Some(lhs);
            }
        }
    }

    /// term := unary (('*' | '/' | `\cdot` | `\times` | `\div` | implicit) unary)*
    fn term(&mut self) -> Option<Expr> {
        let mut lhs = self.unary()?;
        loop {
            if self.eat_sym('*') || self.eat_cmd(&["cdot", "times"]) {
                lhs = Expr::Mul(bx(lhs), bx(self.unary()?));
            } else if self.eat_sym('/') || self.eat_cmd(&["div"]) {
                lhs = Expr::Div(bx(lhs), bx(self.unary()?));
            } else if self.starts_primary() {
                // Implicit multiplication: `2\sqrt{3}`, `3\pi`, `2(x+1)`, `(a+5)(b+2)`.
                lhs = Expr::Mul(bx(lhs), bx(self.power()?));
            } else {
                return Some(lhs);
            }
        }
    }

    fn eat_cmd(&mut self, names: &[&str]) -> bool {
        let hit = self.peek_cmd(names);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn starts_primary(&self) -> bool {
        match self.peek() {
            Some(Tok::Num(..)) | Some(Tok::Ident(_)) => true,
            Some(Tok::Sym(c)) => matches!(c, '(' | '[' | '{'),
            Some(Tok::Cmd(n)) => {
                matches!(n.as_str(), "frac" | "sqrt" | "pi" | "infty")
                    || Func::from_name(n).is_some()
                    || GREEK.contains(&n.as_str())
            }
            None => false,
        }
    }

    /// unary := ('-' | '+') unary | power
    fn unary(&mut self) -> Option<Expr> {
        self.nested(|p| {
            if p.eat_sym('-') {
                Some(Expr::Neg(bx(p.unary()?)))
            } else if p.eat_sym('+') {
                p.unary()
            } else {
                p.power()
            }
        })
    }

    /// power := postfix ('^' unary)?  — right-associative through `unary`.
    fn power(&mut self) -> Option<Expr> {
        let base = self.postfix()?;
        if self.eat_sym('^') {
            let exp = self.unary()?;
            return Some(Expr::Pow(bx(base), bx(exp)));
        }
        Some(base)
    }

    /// postfix := primary ('!' | '%')*
    fn postfix(&mut self) -> Option<Expr> {
        let mut e = self.primary()?;
        loop {
            if self.eat_sym('!') {
                e = Expr::Fact(bx(e));
            } else if self.eat_sym('%') {
                e = Expr::Div(bx(e), bx(int_lit(100)));
            } else {
                return Some(e);
            }
        }
    }

    fn primary(&mut self) -> Option<Expr> {
        self.nested(Self::primary_inner)
    }

    fn primary_inner(&mut self) -> Option<Expr> {
        let tok = self.peek()?.clone();
        self.pos += 1;
        match tok {
            Tok::Num(v, integer) => Some(self.mixed_number(v, integer)),
            Tok::Ident(name) => match name.as_str() {
                "pi" => Some(Expr::Pi),
                "i" => Some(Expr::Num(C::I)),
                n => match Func::from_name(n) {
                    Some(f) => self.function(f),
                    None => Some(Expr::Var(name)),
                },
            },
            Tok::Cmd(name) => match name.as_str() {
                "frac" => {
                    let num = self.arg()?;
                    let den = self.arg()?;
                    Some(Expr::Div(bx(num), bx(den)))
                }
                "sqrt" => {
                    let index = if self.eat_sym('[') {
                        let n = self.expr()?;
                        self.eat_sym(']').then_some(n)?
                    } else {
                        int_lit(2)
                    };
                    let radicand = self.arg()?;
                    Some(Expr::Root(bx(index), bx(radicand)))
                }
                "pi" => Some(Expr::Pi),
                "infty" => Some(Expr::Inf),
                n if GREEK.contains(&n) => Some(Expr::Var(format!("\\{n}"))),
                n => self.function(Func::from_name(n)?),
            },
            Tok::Sym('(') | Tok::Sym('[') => {
                let e = self.expr()?;
                (self.eat_sym(')') || self.eat_sym(']')).then_some(e)
            }
            Tok::Sym('{') => {
                let e = self.expr()?;
                self.eat_sym('}').then_some(e)
            }
            Tok::Sym(_) => None,
        }
    }

    /// A command argument: a `{...}` group or a single primary (`\sqrt x`).
    fn arg(&mut self) -> Option<Expr> {
        self.primary()
    }

    /// Integer followed by a proper fraction of integers is a mixed number: `1\frac{4}{5}` = 1.8.
    fn mixed_number(&mut self, v: Box<Q>, integer: bool) -> Expr {
        let plain = Expr::Lit { exact: v, integer };
        if !integer || !self.peek_cmd(&["frac"]) {
            return plain;
        }
        let save = (self.pos, self.depth);
        self.pos += 1;
        let int_arg = |p: &mut Self| -> Option<Q> {
            let start = p.pos;
            let e = p.arg()?;
            let single = p.pos - start == 1 || (p.pos - start == 3);
            match (e, single) {
                (Expr::Lit { exact, integer: true }, true) => Some(*exact),
                _ => None,
            }
        };
        if let (Some(n), Some(d)) = (int_arg(self), int_arg(self)) {
            if !n.is_negative() && n < d {
                let frac = Expr::Div(
                    bx(Expr::Lit { exact: Box::new(n), integer: true }),
                    bx(Expr::Lit { exact: Box::new(d), integer: true }),
                );
                return Expr::Add(bx(plain), bx(frac));
            }
        }
        (self.pos, self.depth) = save;
        plain
    }

    /// Function application: `\sin x`, `\sin(x)`, `\sin^2 x`, `\cot{x}`.
    fn function(&mut self, f: Func) -> Option<Expr> {
        let power = if self.eat_sym('^') { Some(self.unary()?) } else { None };
        let arg = self.power()?;
        let applied = Expr::Func(f, bx(arg));
        Some(match power {
            Some(p) => Expr::Pow(bx(applied), bx(p)),
            None => applied,
        })
    }
}
