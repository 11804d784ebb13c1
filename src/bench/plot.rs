//! Publication-style figures as standalone SVG, written by hand: small multiples of line
//! charts on shared axes (log₂ or linear), shaded bands, notes at the plot edge, a legend
//! beside the panels (never over a line) and diverging heat-map grids. Every piece of text
//! goes through [`esc`].

use std::fmt::Write as _;

/// Ten distinguishable colours (Tableau 10); a strategy keeps its colour in every figure.
pub const COLORS: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
    "#7f7f7f",
];

/// Budgets in order (dark → light, viridis).
const SEQUENCE: [&str; 8] =
    ["#440154", "#46327e", "#365c8d", "#277f8e", "#1fa187", "#4ac16d", "#8fbf26", "#c9a800"];

/// Bins 1 (easiest, green) … 5 (hardest, red).
const BINS: [&str; 5] = ["#1a9850", "#66bd63", "#f1a340", "#e66101", "#b2182b"];

/// XML-escape text and drop control characters (XML 1.0 cannot carry most of them).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The colour of a strategy: by its place in `all` (the bench's strategies).
pub fn strategy_color(spec: &str, all: &[String]) -> &'static str {
    let i = all.iter().position(|s| s == spec).unwrap_or(all.len());
    COLORS[i % COLORS.len()]
}

/// The colour of the i-th of n ordered items (budgets).
pub fn sequence_color(i: usize, n: usize) -> &'static str {
    let n = n.max(1);
    let at = if n == 1 { 0 } else { i * (SEQUENCE.len() - 1) / (n - 1) };
    SEQUENCE[at.min(SEQUENCE.len() - 1)]
}

/// The colour of a bin (1–5); black for 0 (all problems).
pub fn bin_color(bin: u8) -> &'static str {
    match bin {
        1..=5 => BINS[bin as usize - 1],
        _ => "#000000",
    }
}

/// An axis: its label, range, scale and ticks (value, label).
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub label: String,
    pub lo: f64,
    pub hi: f64,
    pub log2: bool,
    pub ticks: Vec<(f64, String)>,
}

impl Axis {
    /// Budgets on a log₂ axis, a tick at each.
    pub fn budgets(budgets: &[u32]) -> Self {
        let lo = budgets.iter().copied().min().unwrap_or(1).max(1) as f64;
        let hi = budgets.iter().copied().max().unwrap_or(1).max(1) as f64;
        Axis {
            label: "budget (generation-equivalents, log₂)".into(),
            lo,
            hi,
            log2: true,
            ticks: budgets.iter().map(|b| (*b as f64, b.to_string())).collect(),
        }
    }

    /// Accuracy 0–1, ticks every 0.2.
    pub fn accuracy() -> Self {
        Axis {
            label: "accuracy".into(),
            lo: 0.0,
            hi: 1.0,
            log2: false,
            ticks: (0..=5).map(|i| (i as f64 / 5.0, format!("{:.1}", i as f64 / 5.0))).collect(),
        }
    }

    /// Where a value falls, 0 at `lo` and 1 at `hi` (clamped).
    pub fn frac(&self, v: f64) -> f64 {
        let t = |x: f64| if self.log2 { x.max(1e-12).log2() } else { x };
        let (lo, hi) = (t(self.lo), t(self.hi));
        if (hi - lo).abs() < 1e-12 {
            return 0.5;
        }
        ((t(v) - lo) / (hi - lo)).clamp(0.0, 1.0)
    }
}

/// How a line is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Solid,
    Dashed,
    Dotted,
}

impl Style {
    fn dash(self) -> &'static str {
        match self {
            Style::Solid => "",
            Style::Dashed => r#" stroke-dasharray="7 4""#,
            Style::Dotted => r#" stroke-dasharray="2 3""#,
        }
    }
}

/// One line of a panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub label: String,
    pub color: String,
    pub style: Style,
    /// (x, y) in axis units.
    pub points: Vec<(f64, f64)>,
    /// (x, low, high): a shaded band around the line.
    pub band: Vec<(f64, f64, f64)>,
    pub markers: bool,
}

impl Line {
    pub fn new(label: &str, color: &str, points: Vec<(f64, f64)>) -> Self {
        Line {
            label: label.into(),
            color: color.into(),
            style: Style::Solid,
            points,
            band: vec![],
            markers: true,
        }
    }
}

/// A marker pinned to the top edge of a panel at x, with a short text ("> 64").
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub x: f64,
    pub color: String,
    pub text: String,
}

/// One chart of a figure.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Panel {
    pub title: String,
    pub lines: Vec<Line>,
    pub notes: Vec<Note>,
}

/// A figure: panels on shared axes in a grid, one legend beside them.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub title: String,
    /// A line under the panels saying what bands and marks mean.
    pub caption: String,
    pub x: Axis,
    pub y: Axis,
    pub panels: Vec<Panel>,
    pub columns: usize,
}

const LEGEND_W: f64 = 340.0;
const HEAD: f64 = 56.0;
const FOOT: f64 = 40.0;
// Inside a panel: room for tick labels and axis labels.
const PL: f64 = 64.0;
const PR: f64 = 16.0;
const PT: f64 = 30.0;
const PB: f64 = 54.0;

fn open(s: &mut String, w: f64, h: f64, title: &str) {
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="Helvetica, Arial, sans-serif" font-size="14">"#
    );
    let _ = writeln!(s, r#"<title>{}</title>"#, esc(title));
    let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="32" text-anchor="middle" font-size="20" font-weight="bold">{}</text>"#,
        w / 2.0,
        esc(title)
    );
}

/// Draw a figure.
pub fn figure(f: &Figure) -> String {
    let cols = f.columns.clamp(1, f.panels.len().max(1));
    let rows = f.panels.len().max(1).div_ceil(cols);
    let (pw, ph) = if f.panels.len() <= 1 { (640.0, 430.0) } else { (420.0, 310.0) };
    let w = cols as f64 * pw + LEGEND_W;
    let h = HEAD + rows as f64 * ph + FOOT;
    let mut s = String::new();
    open(&mut s, w, h, &f.title);
    for (i, p) in f.panels.iter().enumerate() {
        let (r, c) = (i / cols, i % cols);
        let x0 = c as f64 * pw;
        let y0 = HEAD + r as f64 * ph;
        panel(&mut s, f, p, (x0, y0, pw, ph), c == 0, r + 1 == rows || i + cols >= f.panels.len());
    }
    legend(&mut s, f, cols as f64 * pw + 12.0);
    if !f.caption.is_empty() {
        let _ = writeln!(
            s,
            r##"<text x="16" y="{}" font-size="13" fill="#444">{}</text>"##,
            h - 14.0,
            esc(&f.caption)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn panel(
    s: &mut String,
    f: &Figure,
    p: &Panel,
    (x0, y0, pw, ph): (f64, f64, f64, f64),
    ylab: bool,
    xlab: bool,
) {
    let (l, r, t, b) = (x0 + PL, x0 + pw - PR, y0 + PT, y0 + ph - PB);
    let px = |v: f64| l + f.x.frac(v) * (r - l);
    let py = |v: f64| b - f.y.frac(v) * (b - t);
    let _ = writeln!(s, r#"<g>"#);
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="15" font-weight="bold">{}</text>"#,
        (l + r) / 2.0,
        t - 10.0,
        esc(&p.title)
    );
    for (v, label) in &f.y.ticks {
        let y = py(*v);
        let _ = writeln!(s, r##"<line x1="{l:.1}" y1="{y:.1}" x2="{r:.1}" y2="{y:.1}" stroke="#e6e6e6"/>"##);
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="13">{}</text>"#,
            l - 6.0,
            y + 4.5,
            esc(label)
        );
    }
    for (v, label) in &f.x.ticks {
        let x = px(*v);
        let _ = writeln!(s, r##"<line x1="{x:.1}" y1="{t:.1}" x2="{x:.1}" y2="{b:.1}" stroke="#f0f0f0"/>"##);
        let _ = writeln!(
            s,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="13">{}</text>"#,
            b + 18.0,
            esc(label)
        );
    }
    let _ = writeln!(
        s,
        r##"<rect x="{l:.1}" y="{t:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#333"/>"##,
        r - l,
        b - t
    );
    if xlab {
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            (l + r) / 2.0,
            b + 40.0,
            esc(&f.x.label)
        );
    }
    if ylab {
        let (x, y) = (x0 + 18.0, (t + b) / 2.0);
        let _ = writeln!(
            s,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="middle" transform="rotate(-90 {x:.1} {y:.1})">{}</text>"#,
            esc(&f.y.label)
        );
    }
    for line in &p.lines {
        if line.band.len() >= 2 {
            let upper = line.band.iter().map(|(x, _, hi)| format!("{:.1},{:.1}", px(*x), py(*hi)));
            let lower = line.band.iter().rev().map(|(x, lo, _)| format!("{:.1},{:.1}", px(*x), py(*lo)));
            let pts: Vec<String> = upper.chain(lower).collect();
            let _ = writeln!(
                s,
                r#"<polygon points="{}" fill="{}" fill-opacity="0.18" stroke="none"/>"#,
                pts.join(" "),
                esc(&line.color)
            );
        }
    }
    for line in &p.lines {
        let pts: Vec<(f64, f64)> = line.points.iter().map(|(x, y)| (px(*x), py(*y))).collect();
        let color = esc(&line.color);
        if pts.len() >= 2 {
            let text: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
            let _ = writeln!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2.5"{}/>"#,
                text.join(" "),
                line.style.dash()
            );
        }
        if line.markers || pts.len() == 1 {
            for (x, y) in &pts {
                let _ = writeln!(s, r#"<circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="{color}"/>"#);
            }
        }
    }
    for (i, n) in p.notes.iter().enumerate() {
        let x = px(n.x);
        // Notes at the same x stack downwards.
        let below = p.notes[..i].iter().filter(|m| (px(m.x) - x).abs() < 1.0).count() as f64;
        let top = t + 2.0 + 24.0 * below;
        let _ = writeln!(
            s,
            r#"<path d="M {:.1} {:.1} L {:.1} {:.1} L {:.1} {:.1} Z" fill="{}"/>"#,
            x - 5.0,
            top + 8.0,
            x + 5.0,
            top + 8.0,
            x,
            top,
            esc(&n.color)
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="12" fill="{}">{}</text>"#,
            x - 8.0,
            top + 9.0,
            esc(&n.color),
            esc(&n.text)
        );
    }
    s.push_str("</g>\n");
}

fn legend(s: &mut String, f: &Figure, x: f64) {
    let mut seen: Vec<(&str, &str, Style, bool)> = Vec::new();
    for p in &f.panels {
        for l in &p.lines {
            if !seen.iter().any(|(label, ..)| *label == l.label) {
                seen.push((&l.label, &l.color, l.style, l.band.len() >= 2));
            }
        }
    }
    for (i, (label, color, style, band)) in seen.iter().enumerate() {
        let y = HEAD + 30.0 + 24.0 * i as f64;
        let color = esc(color);
        if *band {
            let _ = writeln!(
                s,
                r#"<rect x="{x:.1}" y="{:.1}" width="30" height="12" fill="{color}" fill-opacity="0.18"/>"#,
                y - 6.0
            );
        }
        let _ = writeln!(
            s,
            r#"<line x1="{x:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{color}" stroke-width="2.5"{}/>"#,
            x + 30.0,
            style.dash()
        );
        let _ = writeln!(s, r#"<text x="{:.1}" y="{:.1}">{}</text>"#, x + 38.0, y + 5.0, esc(label));
    }
}

/// One table of a heat-map figure: rows × columns of values (None: no data).
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    pub title: String,
    pub rows: Vec<String>,
    pub cols: Vec<String>,
    pub cells: Vec<Vec<Option<f64>>>,
}

/// A diverging fill for v in −scale…scale: blue above 0, red below, white at 0.
pub fn diverging(v: f64, scale: f64) -> String {
    let t = (v / scale.max(1e-12)).clamp(-1.0, 1.0);
    let (to, amount) = if t >= 0.0 { ((33.0, 102.0, 172.0), t) } else { ((178.0, 24.0, 43.0), -t) };
    let mix = |c: f64| (255.0 + (c - 255.0) * amount).round() as u8;
    format!("#{:02x}{:02x}{:02x}", mix(to.0), mix(to.1), mix(to.2))
}

/// Heat maps side by side: each cell coloured by its value and labelled with `label(v)`.
pub fn grids(
    title: &str,
    caption: &str,
    axes: (&str, &str),
    grids: &[Grid],
    scale: f64,
    label: impl Fn(f64) -> String,
) -> String {
    let (cw, ch) = (64.0, 40.0);
    let widths: Vec<f64> = grids.iter().map(|g| 110.0 + cw * g.cols.len() as f64 + 24.0).collect();
    let tallest = grids.iter().map(|g| g.rows.len()).max().unwrap_or(1) as f64;
    let w = widths.iter().sum::<f64>().max(480.0) + 20.0;
    let h = HEAD + 40.0 + ch * tallest + 70.0 + FOOT;
    let mut s = String::new();
    open(&mut s, w, h, title);
    let mut x0 = 20.0;
    for (g, gw) in grids.iter().zip(&widths) {
        let (l, t) = (x0 + 110.0, HEAD + 40.0);
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="15" font-weight="bold">{}</text>"#,
            l + cw * g.cols.len() as f64 / 2.0,
            t - 22.0,
            esc(&g.title)
        );
        for (i, c) in g.cols.iter().enumerate() {
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="13">{}</text>"#,
                l + cw * (i as f64 + 0.5),
                t - 6.0,
                esc(c)
            );
        }
        for (j, row) in g.rows.iter().enumerate() {
            let y = t + ch * j as f64;
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="13">{}</text>"#,
                l - 8.0,
                y + ch / 2.0 + 4.5,
                esc(row)
            );
            for i in 0..g.cols.len() {
                let x = l + cw * i as f64;
                let v = g.cells.get(j).and_then(|r| r.get(i)).copied().flatten();
                let (fill, text, ink) = match v {
                    Some(v) => (
                        diverging(v, scale),
                        label(v),
                        if (v / scale.max(1e-12)).abs() > 0.6 { "#ffffff" } else { "#111111" },
                    ),
                    None => ("#eeeeee".to_string(), "—".to_string(), "#888888"),
                };
                let _ = writeln!(
                    s,
                    r##"<rect x="{x:.1}" y="{y:.1}" width="{cw}" height="{ch}" fill="{fill}" stroke="#ffffff"/>"##
                );
                let _ = writeln!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="13" fill="{ink}">{}</text>"#,
                    x + cw / 2.0,
                    y + ch / 2.0 + 4.5,
                    esc(&text)
                );
            }
        }
        let bottom = t + ch * g.rows.len() as f64;
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            l + cw * g.cols.len() as f64 / 2.0,
            bottom + 26.0,
            esc(axes.0)
        );
        let (x, y) = (x0 + 14.0, t + ch * g.rows.len() as f64 / 2.0);
        let _ = writeln!(
            s,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="middle" transform="rotate(-90 {x:.1} {y:.1})">{}</text>"#,
            esc(axes.1)
        );
        x0 += gw;
    }
    if !caption.is_empty() {
        let _ = writeln!(
            s,
            r##"<text x="16" y="{}" font-size="13" fill="#444">{}</text>"##,
            h - 14.0,
            esc(caption)
        );
    }
    s.push_str("</svg>\n");
    s
}
