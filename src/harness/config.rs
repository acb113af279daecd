//! Where a run reads specs and writes artifacts, and the settings every trial shares.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use super::{ab, export, gate};
use crate::report::progress::Layout;

/// Where a run reads specs and writes artifacts.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// The cargo workspace (for `{bin:NAME}`).
    pub workspace: PathBuf,
    /// Artifacts: results, logs.
    pub out_dir: PathBuf,
    /// Whether the command line or environment allows non-loopback targets.
    pub allow_remote: bool,
    /// Worker threads of the load generator; `None`: one per CPU.
    pub threads: Option<usize>,
    /// Set when this run blesses baselines instead of comparing with them.
    pub bless: Option<gate::Bless>,
    /// Set when this run compares with the base revision in A/B rounds
    /// (`perfspec::commands::ab` sets it up through `PERFSPEC_AB_*`).
    pub ab: Option<ab::Ab>,
    /// Whether the run is in CI (`CI` set), where a gated scenario needs its baseline.
    pub ci: bool,
    /// The baselines folder.
    pub baselines: PathBuf,
    /// The baseline profile (`PERFSPEC_PROFILE`).
    pub profile: Option<String>,
    /// In-process components by name.
    pub components: std::collections::BTreeMap<String, crate::component::Component>,
    /// Where GPU readings come from (NVML unless a test says otherwise).
    pub gpu: std::sync::Arc<dyn crate::resources::Gpu>,
    /// The live progress line, set once the run knows its test names when stderr is a
    /// terminal and trials run one at a time; never set for [`Harness::run_scenario`].
    pub progress: Arc<OnceLock<Layout>>,
    /// The live OpenMetrics endpoint, when asked for.
    pub live: Arc<export::LiveSlot>,
    /// Where each trial's final figures are pushed (remote write), when asked for.
    pub push: Option<Result<crate::export::push::Destination, String>>,
    /// Set when this process runs one shard of the load (`PERFSPEC_SHARD`, `--shard`); the
    /// error every trial reports when the settings are invalid.
    pub shard: Option<Result<crate::shard::ShardRun, String>>,
    /// The common starts of a sharded run's scenarios.
    pub slots: Arc<crate::shard::StartSlots>,
}

/// The `*.toml` files of `dir`, sorted by name.
pub(super) fn spec_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
        .collect();
    files.sort();
    files
}

/// The spec path relative to the workspace when it is inside it (shorter messages).
pub(super) fn display_path(path: &Path, workspace: &Path) -> PathBuf {
    path.strip_prefix(workspace)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

/// Cargo's target folder: `CARGO_TARGET_DIR`, else the folder above the test binary's
/// profile folder, else `WORKSPACE/target`.
pub(super) fn target_dir(workspace: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == "deps"))
        .and_then(|deps| deps.parent()?.parent())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| workspace.join("target"))
}
