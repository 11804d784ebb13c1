//! The embedded pocket model: a tiny character-level policy and PRM for chains of
//! arithmetic operations, trained with candle and run in-process on the CPU.

pub mod task;

pub use task::{problem, problems};
