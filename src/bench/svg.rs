//! Accuracy-vs-budget line charts as standalone SVG (log₂ budget axis,
//! accuracy 0–1), written by hand so the report needs no plotting crate.

use std::fmt::Write as _;

const W: f64 = 760.0;
const H: f64 = 440.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 560.0;
const TOP: f64 = 48.0;
const BOTTOM: f64 = 380.0;
const COLORS: [&str; 8] =
    ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];

/// One line: a label, its points (budget, accuracy), and whether it is drawn dashed in black.
pub struct Series {
    pub label: String,
    pub points: Vec<(u32, f64)>,
    pub emphasis: bool,
}

fn esc(s: &str) -> String {
    super::plot::esc(s)
}

/// The x coordinate of a budget on a log₂ axis spanning `lo..=hi`.
pub fn x_of(budget: u32, lo: u32, hi: u32) -> f64 {
    let (l, h) = ((lo.max(1) as f64).log2(), (hi.max(1) as f64).log2());
    if h - l < 1e-12 {
        return (LEFT + RIGHT) / 2.0;
    }
    LEFT + ((budget.max(1) as f64).log2() - l) / (h - l) * (RIGHT - LEFT)
}

/// The y coordinate of an accuracy in 0–1.
pub fn y_of(acc: f64) -> f64 {
    BOTTOM - acc.clamp(0.0, 1.0) * (BOTTOM - TOP)
}

/// A chart of accuracy against budget for every series, with a title and a legend.
pub fn chart(title: &str, budgets: &[u32], series: &[Series]) -> String {
    let lo = budgets.iter().copied().min().unwrap_or(1);
    let hi = budgets.iter().copied().max().unwrap_or(1);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="26" text-anchor="middle" font-size="15">{}</text>"#,
        (LEFT + RIGHT) / 2.0,
        esc(title)
    );
    for i in 0..=5 {
        let a = i as f64 / 5.0;
        let y = y_of(a);
        let _ = writeln!(s, r##"<line x1="{LEFT}" y1="{y:.1}" x2="{RIGHT}" y2="{y:.1}" stroke="#e4e4e4"/>"##);
        let _ = writeln!(s, r#"<text x="{}" y="{:.1}" text-anchor="end">{a:.1}</text>"#, LEFT - 6.0, y + 4.0);
    }
    for &b in budgets {
        let x = x_of(b, lo, hi);
        let _ = writeln!(s, r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{BOTTOM}" stroke="#f0f0f0"/>"##);
        let _ = writeln!(s, r#"<text x="{x:.1}" y="{}" text-anchor="middle">{b}</text>"#, BOTTOM + 18.0);
    }
    let _ = writeln!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{}" height="{}" fill="none" stroke="#333"/>"##,
        RIGHT - LEFT,
        BOTTOM - TOP
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">budget (generation-equivalents, log₂ scale)</text>"#,
        (LEFT + RIGHT) / 2.0,
        BOTTOM + 40.0
    );
    let _ = writeln!(
        s,
        r#"<text x="18" y="{}" text-anchor="middle" transform="rotate(-90 18 {})">accuracy</text>"#,
        (TOP + BOTTOM) / 2.0,
        (TOP + BOTTOM) / 2.0
    );
    let mut color = 0;
    for (i, line) in series.iter().enumerate() {
        let (stroke, dash) = if line.emphasis {
            ("#000000", r#" stroke-dasharray="6 4""#)
        } else {
            color += 1;
            (COLORS[(color - 1) % COLORS.len()], "")
        };
        let pts: Vec<String> =
            line.points.iter().map(|(b, a)| format!("{:.1},{:.1}", x_of(*b, lo, hi), y_of(*a))).collect();
        if !pts.is_empty() {
            let _ = writeln!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{stroke}" stroke-width="2"{dash}/>"#,
                pts.join(" ")
            );
            for p in &pts {
                let (x, y) = p.split_once(',').unwrap_or(("0", "0"));
                let _ = writeln!(s, r#"<circle cx="{x}" cy="{y}" r="3" fill="{stroke}"/>"#);
            }
        }
        let ly = TOP + 8.0 + 20.0 * i as f64;
        let _ = writeln!(
            s,
            r#"<line x1="{}" y1="{ly:.1}" x2="{}" y2="{ly:.1}" stroke="{stroke}" stroke-width="2"{dash}/>"#,
            RIGHT + 16.0,
            RIGHT + 40.0
        );
        let _ = writeln!(s, r#"<text x="{}" y="{:.1}">{}</text>"#, RIGHT + 46.0, ly + 4.0, esc(&line.label));
    }
    s.push_str("</svg>\n");
    s
}
