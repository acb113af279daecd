//! `examples/downstream/` end to end, as a team adopting perfspec would use it: its own
//! workspace with a service, specs and a three-line xtask (`perfspec::commands::main()`).
//! A copy of it (perfspec stays a path dependency, by absolute path) blesses, passes the gate,
//! fails it when the service is slowed down (`DOWNSTREAM_DELAY_MS`), prints hints whose
//! commands run there, with and without the `xtask` alias, and writes nothing outside its own
//! folder: the repository's tree is the same before and after.
//!
//! The build shares this workspace's target folder and profile. Left alone it would compile
//! most of the tree again (measured: 8 min 21 s on the 2-core machine): a second workspace
//! unifies its dependencies' features over its own packages (serde `alloc`, tokio `signal`,
//! clap `env` differ from this workspace's, which includes its dev-dependencies), and its
//! xtask and its service select different sets again. So the copy gets one more member, what
//! cargo-hakari calls a workspace hack: a package with no code whose dependencies are every
//! registry package of this workspace's test build with the features that build resolved
//! (`cargo tree`), on which the xtask and the service depend, and this workspace's
//! `Cargo.lock`. Then every dependency is the unit already compiled here, and only perfspec
//! (hashed by its path relative to the workspace root, so compiled once per workspace), the
//! service and the xtask compile. The code under test is unchanged: the hack only adds
//! features that this workspace's build enables anyway.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Instant, SystemTime};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Files under `dir` (not `target/`, `reports/` or `.git/`) and their modification times.
fn tree(dir: &Path) -> BTreeMap<PathBuf, SystemTime> {
    let mut files = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let name = e.file_name();
            if ["target", "reports", ".git", "fuzz"]
                .iter()
                .any(|n| name == *n)
            {
                continue;
            }
            if p.is_dir() {
                todo.push(p);
            } else {
                let m = e.metadata().unwrap().modified().unwrap();
                files.insert(p.strip_prefix(dir).unwrap().to_path_buf(), m);
            }
        }
    }
    files
}

fn copy(from: &Path, to: &Path) {
    for (rel, _) in tree(from) {
        let dest = to.join(&rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(from.join(&rel), &dest).unwrap();
    }
}

/// Adds the workspace hack described at the top to the copy in `dir`: a `share` member whose
/// dependencies are this workspace's registry packages with the features its test build
/// resolved, and this workspace's lock file.
fn share_build(dir: &Path) {
    let out = Command::new(cargo())
        .args(["tree", "--workspace", "--edges", "normal,dev,no-proc-macro"])
        .args([
            "--prefix",
            "none",
            "--format",
            "{p}|{f}",
            "--target",
            "host-tuple",
        ])
        .current_dir(ROOT)
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo tree: {}", text(&out));
    let mut deps = std::collections::BTreeSet::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let line = line.trim_end_matches(" (*)");
        // (A blank line separates the members' trees.)
        let Some((package, features)) = line.split_once('|') else {
            continue;
        };
        // Registry packages only: path packages ("name v0.1.0 (/path)") are this workspace's.
        let [name, version] = package.split(' ').collect::<Vec<_>>()[..] else {
            continue;
        };
        // (Build metadata, `1.2.1+spec-1.1.0`, has no place in a requirement.)
        let version = version.trim_start_matches('v').split('+').next().unwrap();
        let features: Vec<&str> = features.split(',').filter(|f| !f.is_empty()).collect();
        let listed: Vec<String> = features
            .iter()
            .filter(|f| **f != "default")
            .map(|f| format!("{f:?}"))
            .collect();
        deps.insert(format!(
            "{key} = {{ package = {name:?}, version = \"={version}\", default-features = {}, features = [{}] }}",
            features.contains(&"default"),
            listed.join(", "),
            key = format!("{name}-{version}").replace(['.', '+'], "_"),
        ));
    }
    std::fs::create_dir_all(dir.join("share/src")).unwrap();
    std::fs::write(dir.join("share/src/lib.rs"), "").unwrap();
    let deps: Vec<String> = deps.into_iter().collect();
    std::fs::write(
        dir.join("share/Cargo.toml"),
        format!(
            "[package]\nname = \"build-share\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\n{}\n",
            deps.join("\n")
        ),
    )
    .unwrap();
    let manifest = dir.join("Cargo.toml");
    let workspace = std::fs::read_to_string(&manifest).unwrap();
    let members = "members = [\"service\", \"xtask\"]";
    assert!(workspace.contains(members), "{}", manifest.display());
    std::fs::write(
        &manifest,
        workspace.replace(members, "members = [\"service\", \"xtask\", \"share\"]"),
    )
    .unwrap();
    std::fs::copy(Path::new(ROOT).join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    // Cargo drops this workspace's own packages from the lock and adds the copy's: done here,
    // so that the run's "nothing else written" check does not see it.
    let out = Command::new(cargo())
        .args(["tree", "--depth", "0", "--target", "host-tuple"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo tree: {}", text(&out));
}

fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

struct Example {
    dir: PathBuf,
    target: PathBuf,
}

impl Example {
    fn new() -> Example {
        let dir = std::env::temp_dir().join(format!("perfspec-downstream-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        copy(&Path::new(ROOT).join("examples/downstream"), &dir);
        // The copy depends on this checkout of perfspec: the same package, so the same build.
        for manifest in ["service/Cargo.toml", "xtask/Cargo.toml"] {
            let path = dir.join(manifest);
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text.replace("path = \"../../..\"", &format!("path = {ROOT:?}"));
            std::fs::write(
                &path,
                format!("{text}\n[dependencies.build-share]\npath = \"../share\"\n"),
            )
            .unwrap();
        }
        share_build(&dir);
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| Path::new(ROOT).join("target"), PathBuf::from);
        Example { dir, target }
    }

    /// Runs `sh -c line` in the example with a clean perfspec environment.
    fn sh(&self, line: &str) -> Output {
        let started = Instant::now();
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(line).current_dir(&self.dir);
        // Without what cargo set for this test (OUT_DIR, CARGO_MANIFEST_DIR, …: ring's build
        // script watches them, and the nested cargo the harness runs goes without them, so
        // ring and all above it would compile again at every step), as a user's shell has it.
        perfspec::cargo::clean_env(&mut cmd);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("PERFSPEC_") {
                cmd.env_remove(&k);
            }
        }
        let out = cmd
            .env("CARGO_TARGET_DIR", &self.target)
            .env("PERFSPEC_OUT", self.dir.join("reports"))
            .output()
            .unwrap();
        eprintln!(
            "[{:.1} s] {line}: {}",
            started.elapsed().as_secs_f64(),
            out.status
        );
        out
    }

    /// The result of `items::steady` in the last run's reports.
    fn result(&self) -> serde_json::Value {
        let index: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(self.dir.join("reports/index.json")).unwrap(),
        )
        .unwrap();
        let rel = index["trials"][0]["result"].as_str().unwrap();
        serde_json::from_str(&std::fs::read_to_string(self.dir.join("reports").join(rel)).unwrap())
            .unwrap()
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_downstream_workspace_blesses_gates_and_names_its_own_commands() {
    let started = Instant::now();
    let repo_before = tree(Path::new(ROOT));
    let ex = Example::new();
    let before = tree(&ex.dir);
    let baseline = ex.dir.join("service/baselines/items/steady.json");
    std::fs::remove_file(&baseline).ok();

    let out = ex.sh("cargo xtask bless-baseline --runs 2");
    assert!(out.status.success(), "bless failed:\n{}", text(&out));
    assert!(
        text(&out).contains("blessed items::steady -> "),
        "{}",
        text(&out)
    );
    assert!(
        baseline.exists(),
        "no baseline beside the service's Cargo.toml"
    );
    let blessed = ex.result();
    assert_eq!(blessed["baseline"]["kind"], "blessed");

    let out = ex.sh("cargo test --test perf");
    assert!(out.status.success(), "gate failed:\n{}", text(&out));
    assert_eq!(ex.result()["baseline"]["kind"], "compared");

    let out = ex.sh("DOWNSTREAM_DELAY_MS=20 cargo test --test perf");
    assert!(
        !out.status.success(),
        "a 20 ms slowdown passed:\n{}",
        text(&out)
    );
    let slowed = ex.result();
    assert!(
        slowed["baseline"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["outcome"] == "regressed"),
        "not a regression: {:#}",
        slowed["baseline"]
    );
    let out = ex.sh("cargo xtask report");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("items::steady (fail)"),
        "{}",
        text(&out)
    );

    // Hints: with the alias, the xtask command, carrying the baseline folder the run used;
    // copied as printed, it blesses into that folder.
    // (Under CI a missing baseline fails the run; either way the result names the command.)
    ex.sh("PERFSPEC_BASELINES=other cargo test --test perf");
    let hint = ex.result()["baseline"]["command"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        hint,
        "PERFSPEC_BASELINES=other cargo xtask bless-baseline --exact items::steady"
    );
    let out = ex.sh(&hint);
    assert!(out.status.success(), "{hint}:\n{}", text(&out));
    // cargo runs test binaries in their package's folder: a relative folder is the service's.
    assert!(ex.dir.join("service/other/items/steady.json").exists());

    // Without the alias: the harness's own form, which works with cargo alone.
    std::fs::remove_file(ex.dir.join(".cargo/config.toml")).unwrap();
    ex.sh("PERFSPEC_BASELINES=bare cargo test --test perf");
    let hint = ex.result()["baseline"]["command"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        hint,
        "PERFSPEC_BLESS=3 PERFSPEC_BASELINES=bare cargo test --test perf -- --exact items::steady"
    );
    let out = ex.sh(&hint);
    assert!(out.status.success(), "{hint}:\n{}", text(&out));
    assert!(ex.dir.join("service/bare/items/steady.json").exists());

    // Written: the three baselines, beside the service and where the hints said; nothing else.
    let after = tree(&ex.dir);
    let changed: Vec<_> = after
        .iter()
        .filter(|(p, m)| before.get(*p) != Some(m))
        .map(|(p, _)| p.display().to_string())
        .collect();
    assert_eq!(
        changed,
        [
            "service/bare/items/steady.json",
            "service/baselines/items/steady.json",
            "service/other/items/steady.json"
        ]
    );
    assert_eq!(
        tree(Path::new(ROOT)),
        repo_before,
        "written outside the example"
    );
    eprintln!(
        "downstream example: {:.0} s in all",
        started.elapsed().as_secs_f64()
    );
}
