//! The bench's progress bar: position, ETA and per-strategy counts on stderr, drawn only
//! when stderr is a terminal (otherwise nothing but failures is printed per item).

use std::collections::BTreeMap;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::results::Record;
use super::spec::StrategySpec;

/// The bar, and done/total per strategy.
pub struct Progress {
    bar: ProgressBar,
    names: Vec<String>,
    counts: Mutex<BTreeMap<usize, (usize, usize)>>,
}

impl Progress {
    /// A bar over `total` items of which `resumed` are already done.
    pub fn new(
        total: usize,
        resumed: usize,
        strategies: &[StrategySpec],
        counts: &BTreeMap<usize, (usize, usize)>,
    ) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{bar:30} {pos}/{len} [{elapsed_precise}, ETA {eta}] {wide_msg}")
        {
            bar.set_style(style);
        }
        bar.set_position(resumed as u64);
        // The ETA counts only the work of this run.
        bar.reset_eta();
        let p = Self {
            bar,
            names: strategies.iter().map(|s| s.text.clone()).collect(),
            counts: Mutex::new(counts.clone()),
        };
        p.refresh();
        p
    }

    fn refresh(&self) {
        if self.bar.is_hidden() {
            return;
        }
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let msg: Vec<String> =
            counts.iter().map(|(i, (done, total))| format!("{} {done}/{total}", self.names[*i])).collect();
        self.bar.set_message(msg.join(" · "));
    }

    /// One item finished.
    pub fn finished(&self, strategy: usize, _record: &Record) {
        if let Some(c) = self.counts.lock().unwrap_or_else(|e| e.into_inner()).get_mut(&strategy) {
            c.0 += 1;
        }
        self.refresh();
        self.bar.inc(1);
    }

    /// One item failed: say so (above the bar when there is one).
    pub fn failed(&self, line: &str) {
        self.bar.suspend(|| eprintln!("ttc: {line}"));
    }

    /// Take the bar off the screen.
    pub fn done(&self) {
        self.bar.finish_and_clear();
    }
}
