//! What code a run measured: the commit of the workspace under test (and whether its tree had
//! uncommitted changes), perfspec's version, and how the generator (perfspec itself) and the
//! service's `{bin:}` targets were built. An unoptimised build or one with debug assertions
//! measures something other than what ships: the run says so in one warning line and in the
//! result file (`provenance`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

/// How one binary was built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Build {
    /// The cargo profile (`dev`, `release`, a custom one).
    pub profile: String,
    /// The optimisation level (`0`..`3`, `s`, `z`).
    pub opt_level: String,
    /// Whether debug assertions were on.
    pub debug_assertions: bool,
}

impl Build {
    /// How perfspec (the load generator) was compiled: `OPT_LEVEL` and `PROFILE` as cargo
    /// gave them to the build script, `debug_assertions` as compiled.
    pub fn generator() -> Build {
        Build {
            profile: env!("PERFSPEC_PROFILE_NAME").to_string(),
            opt_level: env!("PERFSPEC_OPT_LEVEL").to_string(),
            debug_assertions: cfg!(debug_assertions),
        }
    }

    /// From the `profile` object of one of cargo's `compiler-artifact` messages (what cargo
    /// resolved from every profile table, override and environment variable; more reliable
    /// than reading the manifests again).
    pub fn of_artifact(profile: &serde_json::Value, name: &str) -> Option<Build> {
        Some(Build {
            profile: name.to_string(),
            opt_level: match &profile["opt_level"] {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            },
            debug_assertions: profile["debug_assertions"].as_bool()?,
        })
    }

    /// Whether it measures something other than an optimised build would: opt-level 0, or
    /// debug assertions when `assertions_matter`.
    pub fn unoptimised(&self, assertions_matter: bool) -> bool {
        self.opt_level == "0" || (assertions_matter && self.debug_assertions)
    }

    /// `opt-level 0, debug assertions on`.
    pub fn describe(&self) -> String {
        let assertions = if self.debug_assertions {
            ", debug assertions on"
        } else {
            ""
        };
        format!(
            "profile {}, opt-level {}{assertions}",
            self.profile, self.opt_level
        )
    }

    /// The warning line for `what` (`the load generator (perfspec)`, `{bin:api}`), when it was
    /// built unoptimised (debug assertions count when `assertions_matter`).
    pub fn warning(&self, what: &str, assertions_matter: bool) -> Option<String> {
        self.unoptimised(assertions_matter).then(|| {
            format!(
                "perfspec: warning: {what} was built unoptimised ({}): its figures are not what an optimised build does; set opt-level = 3 and debug-assertions = false for it in the workspace root's Cargo.toml (perfspec's README, \"Use it in your project\")",
                self.describe()
            )
        })
    }
}

/// The `{bin:}` targets built in this process, by binary name: how each was built (`None`
/// when it came prebuilt from `PERFSPEC_BIN_DIR` and cargo could not say).
static BINS: Mutex<BTreeMap<String, Option<Build>>> = Mutex::new(BTreeMap::new());

/// Records how `{bin:name}` was built, warning once when it was built unoptimised.
pub fn record_bin(name: &str, build: Option<Build>) {
    let mut bins = BINS.lock().unwrap_or_else(|p| p.into_inner());
    if bins.contains_key(name) {
        return;
    }
    // The service is what is measured: debug assertions in it change its latency.
    let what = format!("{{bin:{name}}}");
    if let Some(w) = build.as_ref().and_then(|b| b.warning(&what, true)) {
        eprintln!("{w}");
    }
    bins.insert(name.to_string(), build);
}

/// The measured code's provenance, for the result file.
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    /// `git rev-parse HEAD` of the workspace under test; `None` outside git.
    pub git_commit: Option<String>,
    /// Whether its tracked files had uncommitted changes.
    pub git_dirty: Option<bool>,
    /// The perfspec version.
    pub perfspec_version: &'static str,
    /// How the load generator was built.
    pub generator: Build,
    /// How each `{bin:}` target this run started so far was built (`null`: prebuilt, not
    /// known).
    pub targets: BTreeMap<String, Option<Build>>,
}

/// The commit and dirty flag of the git checkout at `workspace` (asked once per process and
/// folder: the tree does not change during a run that measures it).
pub fn commit(workspace: &Path) -> (Option<String>, Option<bool>) {
    type Commits = BTreeMap<PathBuf, (Option<String>, Option<bool>)>;
    static COMMITS: Mutex<Commits> = Mutex::new(BTreeMap::new());
    COMMITS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(workspace.to_path_buf())
        .or_insert_with(|| {
            let git = |args: &[&str]| {
                std::process::Command::new("git")
                    .args(args)
                    .current_dir(workspace)
                    .output()
                    .ok()
                    .filter(|o| o.status.success())
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            };
            let commit = git(&["rev-parse", "HEAD"]);
            let dirty = commit
                .as_ref()
                .and_then(|_| git(&["status", "--porcelain", "--untracked-files=no"]))
                .map(|s| !s.is_empty());
            (commit, dirty)
        })
        .clone()
}

/// `abc1234`, or `abc1234+dirty` for a tree with uncommitted changes.
pub fn short_commit(commit: &str, dirty: Option<bool>) -> String {
    let dirty = if dirty == Some(true) { "+dirty" } else { "" };
    format!("{}{dirty}", &commit[..commit.len().min(7)])
}

/// The package under test of this process: `CARGO_MANIFEST_DIR` (set by `cargo test`), else
/// the current folder (what [`crate::Harness::new`] reads specs from).
pub fn package_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The provenance of what a run in `workspace` measured.
pub fn of(workspace: &Path) -> Provenance {
    let (git_commit, git_dirty) = commit(workspace);
    Provenance {
        git_commit,
        git_dirty,
        perfspec_version: env!("CARGO_PKG_VERSION"),
        generator: Build::generator(),
        targets: BINS.lock().unwrap_or_else(|p| p.into_inner()).clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_artifact_profiles_are_read_and_judged() {
        let dev = serde_json::json!({"opt_level": "0", "debug_assertions": true});
        let b = Build::of_artifact(&dev, "dev").unwrap();
        assert!(b.unoptimised(false));
        assert_eq!(
            b.describe(),
            "profile dev, opt-level 0, debug assertions on"
        );
        let warning = b.warning("{bin:api}", true).unwrap();
        assert!(
            warning.contains("{bin:api} was built unoptimised"),
            "{warning}"
        );
        let tuned = serde_json::json!({"opt_level": "3", "debug_assertions": false});
        let b = Build::of_artifact(&tuned, "dev").unwrap();
        assert!(!b.unoptimised(true));
        assert_eq!(b.warning("x", true), None);
        let asserting = serde_json::json!({"opt_level": "3", "debug_assertions": true});
        let b = Build::of_artifact(&asserting, "dev").unwrap();
        assert!(b.unoptimised(true));
        assert!(!b.unoptimised(false));
        assert_eq!(Build::of_artifact(&serde_json::json!({}), "dev"), None);
    }
}
