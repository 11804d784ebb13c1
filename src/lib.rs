//! ttc — a terminal lab for test-time compute.
//!
//! The engine applies a [`strategy`] to one [`problem::Problem`] against a
//! [`model::Generator`], scores steps with a [`verify::Verifier`], selects an
//! answer, and reports everything as a stream of [`event::Event`]s. Views
//! (headless JSON, the TUI, trace files) are built only from those events.

pub mod bench;
pub mod budget;
pub mod cli;
pub mod config;
pub mod event;
pub mod grade;
pub mod hash;
pub mod lab;
pub mod launch;
pub mod model;
pub mod pocket;
pub mod problem;
pub mod resume;
pub mod run;
pub mod safe;
#[cfg(any(test, feature = "test-doubles"))]
pub mod scripted;
pub mod spec;
pub mod steps;
pub mod strategy;
pub mod trace;
pub mod tree;
pub mod tui;
pub mod verify;
