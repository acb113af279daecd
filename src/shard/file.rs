//! The shard file (`OUT/shards/SPEC/SCENARIO/K-of-N.shard.json`): everything a merge needs to
//! rebuild the measurement exactly: full HDR histograms (V2 + DEFLATE, base64), the
//! per-second timeline with the wall-clock time of its second 0, counts, errors by kind,
//! the resource series of the shard that sampled the target, the phases, chat turns and flows,
//! the shard's id, the identity of the scenario as resolved and the common start.
// Reading and merging shard files is the `commands` feature's (`perfspec::commands::merge`).
#![cfg_attr(not(feature = "commands"), allow(dead_code))]

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

mod convert;
mod course;

/// The shard file format's name and version.
pub const SCHEMA: &str = "perfspec-shard";
/// The version of a shard file whose spec has flows: it carries their iterations and chat
/// turns, which a perfspec that reads only version 1 would refuse (by an unknown field).
pub const VERSION: u32 = 2;
/// The version of a shard file whose spec has no flows: the same fields as before flows were
/// carried, so an older perfspec still reads it.
pub const VERSION_WITHOUT_FLOWS: u32 = 1;

/// One shard's result of one scenario.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShardFile {
    pub schema: String,
    pub schema_version: u32,
    pub perfspec_version: String,
    pub spec: String,
    pub scenario: String,
    /// The spec file as the shard saw it (relative to its workspace).
    pub spec_file: String,
    /// [`super::spec_hash`] of the scenario as resolved.
    pub spec_hash: String,
    pub shard: u32,
    pub shards: u32,
    /// The common start (RFC 3339); `None` when the shards were not given one.
    pub start_at: Option<String>,
    /// Whether this shard sampled the target's resources.
    pub sampled_target: bool,
    /// What went wrong while it ran (the target exited …).
    pub problems: Vec<String>,
    pub measurement: MeasurementFile,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MeasurementFile {
    /// Wall clock of load start, µs since the epoch.
    pub started_at_unix_us: u64,
    pub warmup_us: u64,
    pub window_us: u64,
    pub interrupted: u64,
    pub requests: Vec<RequestFile>,
    /// Second `t` begins at `started_at + warmup + t` s.
    pub timeline: Vec<SecondFile>,
    pub generator: GeneratorFile,
    pub resources: Option<ResourcesFile>,
    pub phases: Vec<PhaseFile>,
    pub aborted: Option<AbortFile>,
    /// Whether the target's process was watched.
    pub target_watched: bool,
    /// Why the watched target is gone; `None`: it stayed alive (or was not watched).
    pub target_exited: Option<String>,
    // Flows and turns came after version 1 was out: absent in older files (read as none),
    // left out when empty so files without them stay readable by an older perfspec.
    /// Each flow's iterations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flows: Vec<FlowFile>,
    /// Each turn index of the chat steps, measured on its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub turns: Vec<TurnFile>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequestFile {
    pub name: String,
    pub latency: String,
    pub service: Option<String>,
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
    pub bytes: u64,
    pub good: Option<u64>,
    pub stream: Option<StreamFile>,
    pub stages: BTreeMap<String, String>,
    pub connect: String,
    pub tls: String,
    pub tls_resumed: u64,
    pub ttfb: String,
    pub transfer: String,
    pub statuses: BTreeMap<u16, u64>,
    pub retry_after_s: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StreamFile {
    pub ttft: String,
    pub itl: String,
    pub tpot: String,
    pub output_tokens: u64,
    pub counted_by_usage: u64,
    pub counted_by_events: u64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SecondFile {
    pub t: i64,
    pub dropped: u64,
    /// Per request: ok, errors, latency (2 significant figures).
    pub requests: Vec<(u64, u64, String)>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GeneratorFile {
    pub lateness: Option<String>,
    pub requested: Option<u64>,
    pub sent: u64,
    pub dropped: u64,
    pub cpu: Option<f64>,
    pub threads: usize,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResourcesFile {
    pub interval_us: u64,
    pub window_us: u64,
    pub cpus: usize,
    pub sut: Option<String>,
    pub counters: Option<String>,
    /// GPUs sampled, or why none could be.
    pub gpu: Result<u32, String>,
    pub samples: u64,
    pub cost_cpu_us: u64,
    pub cost_wall_us: u64,
    /// Entity name → quantity (`Cpu`, `Rss` …) → `[t_s, value]` points.
    pub entities: Vec<(String, SeriesFile)>,
}

/// The series of one entity: quantity (`Cpu`, `Rss` …) → `[t_s, value]` points.
pub(crate) type SeriesFile = BTreeMap<String, Vec<[f64; 2]>>;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PhaseFile {
    pub name: String,
    pub from_s: f64,
    pub to_s: f64,
    pub measurement: MeasurementFile,
}

/// The iterations of one flow: counts, and the durations of those that succeeded.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FlowFile {
    pub name: String,
    pub succeeded: u64,
    pub failed: u64,
    /// Durations of the succeeded iterations, µs.
    pub duration: String,
}

/// The chat requests sent as turn `turn` (from 1), with their own measurement.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TurnFile {
    pub turn: u32,
    pub measurement: MeasurementFile,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AbortFile {
    pub at_s: f64,
    pub condition: String,
    pub observed: String,
}

/// Writes `file` to `path` whole or not at all.
pub(crate) fn write(path: &Path, file: &ShardFile) -> Result<(), String> {
    let text = serde_json::to_string(file).map_err(|e| e.to_string())?;
    crate::files::write_atomic(path, text.as_bytes()).map_err(|e| e.to_string())
}

/// Reads a shard file; errors say what is wrong, the caller names the file.
pub(crate) fn read(path: &Path) -> Result<ShardFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    let file: ShardFile =
        serde_json::from_str(&text).map_err(|e| format!("not a perfspec shard file: {e}"))?;
    if file.schema != SCHEMA || !(VERSION_WITHOUT_FLOWS..=VERSION).contains(&file.schema_version) {
        return Err(format!(
            "schema `{}` version {}, this perfspec reads `{SCHEMA}` versions {VERSION_WITHOUT_FLOWS} to {VERSION}",
            file.schema, file.schema_version
        ));
    }
    if file.shard == 0 || file.shard > file.shards {
        return Err(format!(
            "shard {} of {} is not a shard",
            file.shard, file.shards
        ));
    }
    Ok(file)
}
