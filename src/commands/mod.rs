//! The commands a workspace's `xtask` calls (cargo feature `commands`): plain functions that
//! take an options struct and return a result, so a downstream `xtask/src/main.rs` is a thin
//! client of them.
//!
//! - [`ab()`]: compare the working tree with a base revision in alternating rounds on this
//!   machine (`cargo xtask ab`).

mod ab;
mod cargo;

pub use ab::{AbDecision, AbError, AbOptions, AbReport, ab};
