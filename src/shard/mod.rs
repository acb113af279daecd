//! Sharded runs: shard K of N of every selected scenario (`PERFSPEC_SHARD=K/N`, `--shard K/N`)
//! runs its share of the load from a common start time (`PERFSPEC_START_AT`), and writes a
//! mergeable shard file; `perfspec::commands::merge` adds the shards up into one measurement
//! and one verdict. The closed model gives shard K the users `i` with `i mod N = K−1` (sizes
//! differ by at most one; stages scale with them); the open model gives it the arrivals `i`
//! with `i mod N = K−1` of the one schedule, so the union of the shards is the schedule.

mod file;
mod merge;
mod start;

use std::time::{Duration, SystemTime};

#[cfg_attr(not(feature = "commands"), allow(unused_imports))]
pub(crate) use file::read as read_file;
pub(crate) use file::{
    MeasurementFile, SCHEMA, ShardFile, VERSION, VERSION_WITHOUT_FLOWS, write as write_file,
};
#[cfg_attr(not(feature = "commands"), allow(unused_imports))]
pub(crate) use merge::{Combined, combine};
pub use merge::{MergeError, Mismatch};
pub use start::{LATE_TOLERANCE, MAX_AHEAD};
pub(crate) use start::{StartSlots, parse_start, start_text};

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shard {
    /// Which shard, 1 to `count`.
    pub index: u32,
    /// How many shards share the load.
    pub count: u32,
}

/// The most shards a run may be split into (a merge of this many takes well under a second).
pub const MAX_SHARDS: u32 = 10_000;

impl Shard {
    /// Parses `K/N` (1 ≤ K ≤ N ≤ [`MAX_SHARDS`]).
    pub fn parse(text: &str) -> Result<Shard, String> {
        let what = "write K/N with 1 ≤ K ≤ N, as in `2/4` (shard 2 of 4)";
        let (k, n) = text
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not a shard: {what}"))?;
        let num = |s: &str| s.trim().parse::<u32>().ok();
        match (num(k), num(n)) {
            (Some(_), Some(n)) if n > MAX_SHARDS => {
                Err(format!("`{text}`: at most {MAX_SHARDS} shards (got {n})"))
            }
            (Some(k), Some(n)) if (1..=n).contains(&k) => Ok(Shard { index: k, count: n }),
            _ => Err(format!("`{text}` is not a shard: {what}")),
        }
    }

    /// Whether item `i` (a user index, an arrival index; 0-based) belongs to this shard.
    pub fn takes(&self, i: u64) -> bool {
        i % u64::from(self.count) == u64::from(self.index - 1)
    }

    /// How many of `total` items (0..total) this shard takes.
    pub fn share(&self, total: u64) -> u64 {
        let n = u64::from(self.count);
        total / n + u64::from(u64::from(self.index - 1) < total % n)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// How this process runs as a shard: which one, when its first scenario starts, and which
/// shard samples the target's resources and scrapes its metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardRun {
    /// This shard.
    pub shard: Shard,
    /// The common start of the first scenario; `None`: start at once.
    pub start_at: Option<SystemTime>,
    /// The shard that samples the target (1 unless `PERFSPEC_SHARD_RESOURCES` says).
    pub resources: u32,
}

impl ShardRun {
    /// Whether this shard samples the target's resources and scrapes its metrics.
    pub fn samples_target(&self) -> bool {
        self.shard.index == self.resources
    }

    /// A shard run from the values of `PERFSPEC_SHARD`, `PERFSPEC_START_AT` and
    /// `PERFSPEC_SHARD_RESOURCES` (or their command-line forms); `None` without a shard.
    /// Errors name the variable and say what is valid.
    pub fn from_values(
        shard: Option<&str>,
        start_at: Option<&str>,
        resources: Option<&str>,
        now: SystemTime,
    ) -> Option<Result<ShardRun, String>> {
        let Some(shard) = shard else {
            return match (start_at, resources) {
                (None, None) => None,
                _ => Some(Err(
                    "PERFSPEC_START_AT and PERFSPEC_SHARD_RESOURCES need a shard: set PERFSPEC_SHARD=K/N (or --shard K/N)".to_string(),
                )),
            };
        };
        Some((|| {
            let shard = Shard::parse(shard).map_err(|e| format!("PERFSPEC_SHARD: {e}"))?;
            let start_at = start_at
                .map(|t| parse_start(t, now))
                .transpose()
                .map_err(|e| format!("PERFSPEC_START_AT: {e}"))?;
            let resources = match resources {
                None => 1,
                Some(r) => match r.trim().parse::<u32>() {
                    Ok(k) if (1..=shard.count).contains(&k) => k,
                    _ => {
                        return Err(format!(
                            "PERFSPEC_SHARD_RESOURCES: `{r}` is not a shard of {}: write a number from 1 to {}",
                            shard.count, shard.count
                        ));
                    }
                },
            };
            Ok(ShardRun {
                shard,
                start_at,
                resources,
            })
        })())
    }
}

/// A 64-bit FNV-1a hash, in hex: the identity of a scenario as resolved (its load, timing,
/// assertions and the requests it sends), so a merge refuses shards of different specs.
pub(crate) fn spec_hash(spec: &crate::spec::Spec, scenario: &crate::spec::Scenario) -> String {
    let text = format!(
        "{:?}\n{:?}\n{:?}\n{:?}",
        scenario,
        spec.requests,
        spec.flows,
        spec.data.len()
    );
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Time from the start of one scenario to the start of the next selected one in a sharded
/// run: its planned length plus this margin (target start-up, teardown, writing files).
pub(crate) const SLOT_MARGIN: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests;
