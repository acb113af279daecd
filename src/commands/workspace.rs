//! Which package a command works on: the one with the perf test target, found with
//! `cargo metadata` from the folder the command runs in (any folder of the user's workspace),
//! and where its run writes its reports.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The package whose perf specs a command runs.
#[derive(Debug, Clone)]
pub struct Package {
    /// Its name (`cargo test -p NAME`).
    pub name: String,
    /// The folder of its `Cargo.toml`: its `perf-specs/` and `baselines/` live here.
    pub dir: PathBuf,
    /// The workspace's target folder (`CARGO_TARGET_DIR` or `target/`).
    pub target_dir: PathBuf,
}

impl Package {
    /// Where its runs write their reports: `PERFSPEC_OUT`, else `TARGET/perfspec` (what the
    /// harness does).
    pub fn out_dir(&self) -> PathBuf {
        std::env::var_os("PERFSPEC_OUT")
            .filter(|v| !v.is_empty())
            .map_or_else(|| self.target_dir.join("perfspec"), PathBuf::from)
    }
}

/// Why the package could not be found.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// `cargo metadata` could not run or failed.
    #[error("`cargo metadata` failed in {}: {message}", dir.display())]
    Metadata {
        /// Where it ran.
        dir: PathBuf,
        /// Its error output.
        message: String,
    },
    /// No package has the test target.
    #[error("no package of the workspace at {} has a test target `{test}`{}: add `tests/{test}.rs` with `fn main() {{ perfspec::main() }}` and a `[[test]] name = \"{test}\" harness = false` entry (see the README), or name the target with --test", dir.display(), package.as_ref().map(|p| format!(" in package `{p}`")).unwrap_or_default())]
    NoTest {
        /// The test target looked for.
        test: String,
        /// The package asked for with `-p`.
        package: Option<String>,
        /// Where the command ran.
        dir: PathBuf,
    },
    /// Several packages have it.
    #[error("packages {} each have a test target `{test}`: choose one with -p NAME", names.join(", "))]
    Ambiguous {
        /// The test target.
        test: String,
        /// The packages.
        names: Vec<String>,
    },
}

/// The package of the workspace around `dir` that has test target `test` (the one named
/// `package` when given).
pub fn locate(
    cargo: &Path,
    dir: &Path,
    package: Option<&str>,
    test: &str,
) -> Result<Package, WorkspaceError> {
    let failed = |message: String| WorkspaceError::Metadata {
        dir: dir.to_path_buf(),
        message,
    };
    let out = crate::cargo::clean_env(&mut Command::new(cargo))
        .current_dir(dir)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .map_err(|e| failed(format!("cannot run {}: {e}", cargo.display())))?;
    if !out.status.success() {
        return Err(failed(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| failed(e.to_string()))?;
    let target_dir = PathBuf::from(meta["target_directory"].as_str().unwrap_or("target"));
    let found: Vec<Package> = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| package.is_none_or(|n| p["name"] == n))
        .filter(|p| {
            p["targets"].as_array().into_iter().flatten().any(|t| {
                t["name"] == test
                    && t["kind"]
                        .as_array()
                        .is_some_and(|k| k.iter().any(|k| k == "test"))
            })
        })
        .filter_map(|p| {
            Some(Package {
                name: p["name"].as_str()?.to_string(),
                dir: Path::new(p["manifest_path"].as_str()?)
                    .parent()?
                    .to_path_buf(),
                target_dir: target_dir.clone(),
            })
        })
        .collect();
    match found.len() {
        1 => Ok(found.into_iter().next().expect("one")),
        0 => Err(WorkspaceError::NoTest {
            test: test.to_string(),
            package: package.map(String::from),
            dir: dir.to_path_buf(),
        }),
        _ => Err(WorkspaceError::Ambiguous {
            test: test.to_string(),
            names: found.into_iter().map(|p| p.name).collect(),
        }),
    }
}
