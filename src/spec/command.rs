//! Live changes sent to a running strategy.

/// Live changes sent to a running strategy.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Grow or shrink the number of candidates. Growing starts new ones at
    /// once; shrinking cancels the newest unfinished ones and keeps finished work.
    SetN(usize),
    /// Stop reading from the model (true) or go on (false). While paused no
    /// text is consumed, so servers stop generating once their buffers fill.
    Pause(bool),
    /// Beam width M, from the next step boundary.
    SetWidth(usize),
    /// Max depth, from the next step boundary.
    SetDepth(u32),
    /// Lookahead k, from the next step boundary.
    SetLookahead(u32),
    /// Chains C, from the next revision round.
    SetChains(usize),
    /// Revisions D, from the next revision round.
    SetRevisions(usize),
    /// Adaptive-consistency's confidence, from the next stopping check.
    SetConfidence(f64),
    /// Particle filtering's weight temperature T, from the next step boundary.
    SetParticleTemp(f64),
    /// Particle filtering's ESS threshold (fraction of N), from the next step boundary.
    SetEssThreshold(f64),
}
