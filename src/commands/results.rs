//! Reading what a run wrote: its `index.json` and the result file of each trial, as JSON (the
//! formats `schema/index.schema.json` and `schema/result.schema.json` document).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::Value;

/// One trial of a run.
#[derive(Debug, Clone)]
pub struct TrialFiles {
    /// `SPEC::SCENARIO`.
    pub name: String,
    /// `pass`, `fail`, `inconclusive` or `error`.
    pub status: String,
    /// Whether its test passed.
    pub passes: bool,
    /// Why it could not measure.
    pub error: Option<String>,
    /// Its result file, when it could be read.
    pub result: Option<Value>,
}

/// Why a run's files could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// There is no index.
    #[error("no run report at {}: {source}", path.display())]
    Missing {
        /// The index file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The index is older than the run that should have written it.
    #[error("{} was not rewritten by this run: the perf test binary did not get as far as writing its reports (see its output above)", path.display())]
    Stale {
        /// The index file.
        path: PathBuf,
    },
    /// The index is not a perfspec index.
    #[error("{} is not a perfspec run index: {message}", path.display())]
    Invalid {
        /// The index file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The index of the run in `out` and its trials; `since`: the index must have been written
/// after it (a run that stopped before writing its reports leaves the previous run's index).
pub fn read(
    out: &Path,
    since: Option<SystemTime>,
) -> Result<(Value, Vec<TrialFiles>), ResultsError> {
    let path = out.join(crate::report::artifacts::INDEX);
    let missing = |source| ResultsError::Missing {
        path: path.clone(),
        source,
    };
    let modified = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .map_err(missing)?;
    if since.is_some_and(|s| modified < s) {
        return Err(ResultsError::Stale { path });
    }
    let text = std::fs::read_to_string(&path).map_err(missing)?;
    let index: Value = serde_json::from_str(&text).map_err(|e| ResultsError::Invalid {
        path: path.clone(),
        message: e.to_string(),
    })?;
    if index["schema"] != "perfspec-index" {
        return Err(ResultsError::Invalid {
            path,
            message: "no \"schema\": \"perfspec-index\"".into(),
        });
    }
    let trials = index["trials"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| TrialFiles {
            name: t["name"].as_str().unwrap_or_default().to_string(),
            status: t["status"].as_str().unwrap_or("error").to_string(),
            passes: t["passes"].as_bool().unwrap_or(false),
            error: t["error"].as_str().map(String::from),
            result: t["result"]
                .as_str()
                .and_then(|r| std::fs::read_to_string(out.join(r)).ok())
                .and_then(|text| serde_json::from_str(&text).ok()),
        })
        .collect();
    Ok((index, trials))
}
