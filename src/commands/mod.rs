//! The commands a workspace's `xtask` calls (cargo feature `commands`): plain functions that
//! take an options struct and return a result, so a downstream `xtask/src/main.rs` is a thin
//! client of them.
//!
//! - [`ab()`]: compare the working tree with a base revision in alternating rounds on this
//!   machine (`cargo xtask ab`).
//! - [`merge()`]: merge the shard files of a sharded run into one verdict and the usual
//!   reports (`cargo xtask merge`).

mod ab;
mod cargo;
mod merge;

pub use ab::{AbDecision, AbError, AbOptions, AbReport, ab};
pub use merge::{MergeCommandError, MergeReport, MergedScenario, merge};
