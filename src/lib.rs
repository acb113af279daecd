#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
// The README shows `tests/perf.rs` as users write it: a `fn main`.
#![allow(clippy::needless_doctest_main)]

pub mod assertion;
pub mod baseline;
mod capacity;
pub mod cargo;
mod client;
/// The parsers of what a server sends, for the fuzz targets only (`--cfg fuzzing`).
#[cfg(fuzzing)]
pub use client::fuzz as response_parsers;
#[cfg(feature = "commands")]
pub mod commands;
pub mod compare;
pub mod component;
pub mod data;
pub mod export;
pub mod files;
pub mod gate;
mod harness;
mod load;
pub mod measure;
pub mod provenance;
pub mod report;
pub mod resources;
pub mod scrape;
mod secrets;
pub mod shard;
pub mod spec;
mod target;
pub mod template;
pub mod units;

pub use component::Component;
pub use harness::Harness;
pub use target::{TargetError, workspace_bin};

/// The perf test harness with the default folders: call it from `tests/perf.rs`
/// (`harness = false`).
pub fn main() {
    Harness::new().run()
}
