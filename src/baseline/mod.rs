//! The baseline file: `baselines/[PROFILE/]SPEC/SCENARIO.json`, pretty JSON with stable key
//! order, small enough to review. It holds where and when it was blessed, each run's figures
//! (so the run-to-run noise is known) and the merged histogram of each request.

mod check;
mod histogram;
mod host;
mod runs;
mod sides;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use histogram::{decode, encode};
pub use host::Host;
pub use runs::{Scope, histograms_of, scopes_of};
pub use sides::{side_of_baseline, side_of_runs};

use crate::files::write_atomic;

/// The baseline format version this perfspec writes and reads.
pub const SCHEMA_VERSION: u32 = 1;
const SCHEMA: &str = "perfspec-baseline";

/// A blessed baseline of one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Always `perfspec-baseline`.
    pub schema: String,
    /// Format version.
    pub schema_version: u32,
    /// Spec name.
    pub spec: String,
    /// Scenario name.
    pub scenario: String,
    /// The baseline profile (`PERFSPEC_PROFILE`), if any.
    pub profile: Option<String>,
    /// Where, when and from what it was blessed.
    pub provenance: Provenance,
    /// The load, described.
    pub load: String,
    /// Runs blessed together.
    pub runs: usize,
    /// Measured seconds of each run.
    pub window_s: Vec<f64>,
    /// Per scope (`all` and each request): each run's figures.
    pub scopes: BTreeMap<String, Scope>,
    /// Per request: the response-time histogram of all runs merged (µs, V2+DEFLATE, base64).
    pub histograms: BTreeMap<String, String>,
}

/// Where, when and from what a baseline was blessed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// `git rev-parse HEAD` of the workspace, when it is a git checkout.
    pub git_commit: Option<String>,
    /// Whether the checkout had uncommitted changes.
    pub git_dirty: Option<bool>,
    /// When (RFC 3339, UTC).
    pub date: String,
    /// The perfspec version.
    pub perfspec_version: String,
    /// The cargo profile of the test binary (`dev`, `release`, …) and its optimisation level.
    pub build_profile: String,
    /// The machine.
    pub host: Host,
}

/// Why a baseline could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The file could not be read.
    #[error("cannot read baseline {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid baseline JSON.
    #[error("baseline {}:{line}:{column} is corrupt: {message}; re-bless it with `cargo xtask bless-baseline`", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The file was written by another format version.
    #[error("baseline {} has schema {found} ({what}); this perfspec reads {SCHEMA_VERSION}: {help}", path.display())]
    Schema {
        /// The file.
        path: PathBuf,
        /// The version found.
        found: String,
        /// Newer or unknown.
        what: &'static str,
        /// What to do.
        help: &'static str,
    },
    /// The file parses, but its numbers cannot come from a run.
    #[error("baseline {}:{line}:{column}: `{field}`: {message}; re-bless it with `cargo xtask bless-baseline`", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the field.
        line: usize,
        /// 1-based column of the field.
        column: usize,
        /// The field, as a path: `scopes.all.latency_us.p95`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The file belongs to another scenario.
    #[error("baseline {} is for {found}, not {expected}", path.display())]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// The scenario expected.
        expected: String,
        /// The scenario found.
        found: String,
    },
}

/// The folder holding baselines: `PERFSPEC_BASELINES`, else `WORKSPACE/baselines`.
pub fn dir(workspace: &Path) -> PathBuf {
    std::env::var_os("PERFSPEC_BASELINES")
        .map_or_else(|| workspace.join("baselines"), PathBuf::from)
}

/// The baseline profile: `PERFSPEC_PROFILE` (e.g. the CI runner kind), if set.
pub fn profile() -> Option<String> {
    std::env::var("PERFSPEC_PROFILE")
        .ok()
        .filter(|p| !p.trim().is_empty())
}

/// The file of one scenario's baseline.
pub fn path(dir: &Path, profile: Option<&str>, spec: &str, scenario: &str) -> PathBuf {
    let base = match profile {
        Some(p) => dir.join(p),
        None => dir.to_path_buf(),
    };
    base.join(spec).join(format!("{scenario}.json"))
}

impl Baseline {
    /// Reads a baseline, checking its format and that it belongs to `spec::scenario`.
    pub fn read(path: &Path, spec: &str, scenario: &str) -> Result<Baseline, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Baseline::parse(&text, path, spec, scenario)
    }

    /// Parses baseline text (`path` names it in errors).
    pub fn parse(
        text: &str,
        path: &Path,
        spec: &str,
        scenario: &str,
    ) -> Result<Baseline, BaselineError> {
        let corrupt = |e: serde_json::Error| BaselineError::Corrupt {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        };
        // Check the version before the shape: a newer format may have other fields.
        let value: serde_json::Value = serde_json::from_str(text).map_err(corrupt)?;
        if value.get("schema").and_then(|s| s.as_str()) != Some(SCHEMA) {
            return Err(BaselineError::Schema {
                path: path.to_path_buf(),
                found: value.get("schema").map_or("none".into(), |v| v.to_string()),
                what: "not a perfspec baseline",
                help: "bless one with `cargo xtask bless-baseline`",
            });
        }
        match value.get("schema_version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(SCHEMA_VERSION) => {}
            Some(v) if v > u64::from(SCHEMA_VERSION) => {
                return Err(BaselineError::Schema {
                    path: path.to_path_buf(),
                    found: v.to_string(),
                    what: "written by a newer perfspec",
                    help: "update perfspec, or re-bless with this one",
                });
            }
            other => {
                return Err(BaselineError::Schema {
                    path: path.to_path_buf(),
                    found: other.map_or("none".into(), |v| v.to_string()),
                    what: "unknown",
                    help: "re-bless it with `cargo xtask bless-baseline`",
                });
            }
        }
        let b: Baseline = serde_json::from_str(text).map_err(corrupt)?;
        if b.spec != spec || b.scenario != scenario {
            return Err(BaselineError::Mismatch {
                path: path.to_path_buf(),
                expected: format!("{spec}::{scenario}"),
                found: format!("{}::{}", b.spec, b.scenario),
            });
        }
        check::check(&b, text, path)?;
        Ok(b)
    }

    /// Writes the baseline atomically as pretty JSON with a trailing newline.
    pub fn write(&self, path: &Path) -> Result<(), crate::files::WriteError> {
        let mut text = serde_json::to_string_pretty(self).expect("baselines always serialize");
        text.push('\n');
        write_atomic(path, text.as_bytes())
    }
}

fn strip_position(message: &str) -> String {
    message
        .rfind(" at line ")
        .map_or(message, |i| &message[..i])
        .to_string()
}

/// Provenance of a blessing made now in `workspace`.
pub fn provenance(workspace: &Path) -> Provenance {
    let (commit, dirty) = crate::provenance::commit(workspace);
    Provenance {
        git_commit: commit,
        git_dirty: dirty,
        date: crate::report::rfc3339(std::time::SystemTime::now()),
        perfspec_version: env!("CARGO_PKG_VERSION").to_string(),
        build_profile: build_profile(),
        host: Host::current(),
    }
}

/// The profile of the running test binary, from its folder, and the optimisation level
/// perfspec was compiled with.
pub fn build_profile() -> String {
    let exe = std::env::current_exe().unwrap_or_default();
    let profile = exe
        .ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == "deps"))
        .and_then(|d| d.parent()?.file_name()?.to_str().map(String::from))
        .unwrap_or_else(|| "unknown".into());
    format!(
        "{profile} (perfspec opt-level {})",
        env!("PERFSPEC_OPT_LEVEL")
    )
}

#[cfg(test)]
mod tests;
