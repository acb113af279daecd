//! `{bin:NAME}`: a binary of this workspace, built on demand with the same profile as the test
//! binary (`$CARGO build --bin NAME`), so a spec never runs a stale build. Cargo does not hold
//! its build lock while tests run, so the nested build is safe under `cargo test` and nextest.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);

/// Builds (or finds up to date) binary `name` of the cargo workspace at `workspace` with the
/// profile of the running executable, and returns its path. `PERFSPEC_BIN_DIR`, when set, is
/// searched instead and nothing is built (for prebuilt archives).
pub fn workspace_bin(name: &str, workspace: &Path) -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("PERFSPEC_BIN_DIR") {
        let path = Path::new(&dir).join(name);
        return if path.is_file() {
            // Prebuilt: how it was built is not known here.
            crate::provenance::record_bin(name, None);
            Ok(path)
        } else {
            Err(format!(
                "PERFSPEC_BIN_DIR is set but {} does not exist",
                path.display()
            ))
        };
    }
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(path) = built.get_or_insert_with(HashMap::new).get(name) {
        return Ok(path.clone());
    }
    let path = build(name, workspace)?;
    built
        .get_or_insert_with(HashMap::new)
        .insert(name.to_string(), path.clone());
    Ok(path)
}

/// The cargo profile the running executable was built with, from its directory
/// (`target/debug/deps/perf-…` is `dev`).
fn profile() -> String {
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent();
    if dir.is_some_and(|d| d.ends_with("deps")) {
        dir = dir.and_then(Path::parent);
    }
    match dir.and_then(|d| d.file_name()).and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".into(),
        Some(other) => other.into(),
    }
}

fn build(name: &str, workspace: &Path) -> Result<PathBuf, String> {
    let out = crate::cargo::command()
        .args([
            "build",
            "--quiet",
            "--workspace",
            "--message-format=json-render-diagnostics",
            "--bin",
            name,
            "--profile",
            &profile(),
        ])
        .current_dir(workspace)
        .output()
        .map_err(|e| format!("could not run `cargo build`: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let reason = stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(12)
            .collect::<Vec<_>>()
            .join("\n");
        return Err(format!("`cargo build --bin {name}` failed:\n{reason}"));
    }
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let is_it = msg["reason"] == "compiler-artifact"
            && msg["target"]["name"] == name
            && msg["target"]["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"));
        if let (true, Some(exe)) = (is_it, msg["executable"].as_str()) {
            let build = crate::provenance::Build::of_artifact(&msg["profile"], &profile());
            crate::provenance::record_bin(name, build);
            return Ok(PathBuf::from(exe));
        }
    }
    Err(format!(
        "`cargo build --bin {name}` succeeded but reported no executable"
    ))
}
