//! Building with cargo for a command: the perf test binary and the workspace's binaries of one
//! checkout, their paths read from cargo's JSON messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::AbError;

/// What one checkout built.
#[derive(Debug, Clone)]
pub(super) struct Built {
    /// The perf test binary.
    pub test: PathBuf,
    /// The folder of the workspace's binaries (`PERFSPEC_BIN_DIR` of its runs).
    pub bins: Option<PathBuf>,
}

/// Builds test target `test` and every binary of the workspace at `dir`, into `target_dir`
/// (`None`: cargo's default), in release mode when `release`.
pub(super) fn build(
    cargo: &Path,
    dir: &Path,
    target_dir: Option<&Path>,
    test: &str,
    release: bool,
) -> Result<Built, AbError> {
    let run = |args: &[&str]| -> Result<Vec<serde_json::Value>, AbError> {
        let mut cmd = Command::new(cargo);
        crate::cargo::clean_env(&mut cmd)
            .current_dir(dir)
            .args(args)
            .arg("--message-format=json-render-diagnostics")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if release {
            cmd.arg("--release");
        }
        if let Some(t) = target_dir {
            cmd.env("CARGO_TARGET_DIR", t);
        }
        let what = format!("cargo {} in {}", args.join(" "), dir.display());
        let out = cmd.output().map_err(|e| AbError::Start {
            what: what.clone(),
            source: e,
        })?;
        if !out.status.success() {
            return Err(AbError::Build {
                what,
                status: out.status.to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    };
    let executable = |messages: &[serde_json::Value], kind: &str, name: Option<&str>| {
        messages
            .iter()
            .filter(|m| m["reason"] == "compiler-artifact")
            .filter(|m| {
                m["target"]["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == kind))
            })
            .filter(|m| name.is_none_or(|n| m["target"]["name"] == n))
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
    };
    let bins = run(&["build", "--workspace", "--bins"])?;
    let tests = run(&["test", "--test", test, "--no-run"])?;
    let test = executable(&tests, "test", Some(test)).ok_or_else(|| AbError::NoTestBinary {
        test: test.to_string(),
        dir: dir.to_path_buf(),
    })?;
    Ok(Built {
        test,
        bins: executable(&bins, "bin", None).and_then(|p| p.parent().map(Path::to_path_buf)),
    })
}
