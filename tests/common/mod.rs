//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use perfspec::Harness;
use perfspec::report::TrialReport;
use perfspec::spec::{Context, Spec};

/// A fresh folder under the target directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Parses `text` as spec `dir/NAME.toml` (written there, so relative files resolve).
pub fn spec(dir: &Path, name: &str, text: &str) -> Spec {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    Spec::parse(text, &path, &Context::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs one scenario with artifacts under `dir/out`.
pub fn run(dir: &Path, spec: &Spec, scenario: &str) -> TrialReport {
    Harness::new()
        .out_dir(dir.join("out"))
        .run_scenario(spec, scenario)
        .expect("scenario exists")
}

/// The measured outcome, or a panic with the reason it could not measure.
pub fn measured(r: &TrialReport) -> &perfspec::report::Measured {
    r.outcome
        .as_ref()
        .unwrap_or_else(|e| panic!("could not measure: {e}"))
}

/// The errors of request `request`, by kind.
pub fn request_errors(
    m: &perfspec::report::Measured,
    request: &str,
) -> Vec<(perfspec::measure::ErrorKind, u64)> {
    request_stats(m, request)
        .errors
        .iter()
        .map(|(k, n)| (*k, *n))
        .collect()
}

/// The requests of request `request` in the measured window.
pub fn request_count(m: &perfspec::report::Measured, request: &str) -> u64 {
    request_stats(m, request).requests()
}

fn request_stats<'a>(
    m: &'a perfspec::report::Measured,
    request: &str,
) -> &'a perfspec::measure::RequestStats {
    m.measurement
        .requests
        .iter()
        .find(|r| r.name == request)
        .unwrap_or_else(|| panic!("no request {request}"))
}

/// The perf test binary (`tests/perf.rs`), built (or found up to date) by cargo: for tests
/// that run the harness as its own process.
pub fn perf_binary() -> PathBuf {
    let out = perfspec::cargo::command()
        // `--workspace` as the suite is run (README): the same feature resolution finds the
        // binary that run built; without it cargo rebuilds perfspec with other features.
        .args([
            "test",
            "--workspace",
            "--quiet",
            "--test",
            "perf",
            "--no-run",
            "--message-format=json",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|m| m["target"]["name"] == "perf" && m["executable"].is_string())
        .map(|m| PathBuf::from(m["executable"].as_str().unwrap()))
        .expect("cargo reports the perf binary")
}

pub mod fixtures;
pub mod prom;
