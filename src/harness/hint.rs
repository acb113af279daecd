//! The bless command every hint prints, as it works in the user's workspace: `cargo xtask
//! bless-baseline` only where a cargo `xtask` alias exists, else the harness's own
//! `PERFSPEC_BLESS=N cargo test --test NAME -- …` form; either way with the `PERFSPEC_*`
//! variables that chose the specs, baselines and binaries of the run that printed it, so that
//! the command copied as printed blesses what was measured, into the same folder.

use std::path::Path;

/// Variables that select what a run measures or where its baselines live, carried over into
/// the printed command when set (`PERFSPEC_PROFILE` comes from the run's profile).
const CARRIED: [&str; 4] = [
    "PERFSPEC_SPECS",
    "PERFSPEC_BASELINES",
    "PERFSPEC_BIN_DIR",
    "PERFSPEC_THREADS",
];

/// Runs per scenario the `PERFSPEC_BLESS` form asks for: what `cargo xtask bless-baseline`
/// does by default.
const RUNS: u32 = 3;

/// The command that blesses scenario `name` (`SPEC::SCENARIO`) in the workspace at
/// `workspace` (the package folder the perf tests run from), with baseline profile `profile`.
pub(crate) fn bless_command(workspace: &Path, name: &str, profile: Option<&str>) -> String {
    let mut env: Vec<(&str, String)> = Vec::new();
    if let Some(p) = profile {
        env.push(("PERFSPEC_PROFILE", p.to_string()));
    }
    for var in CARRIED {
        if let Some(value) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            env.push((var, value.to_string_lossy().into_owned()));
        }
    }
    render(has_xtask_alias(workspace), &test_target(), &env, name)
}

/// `message` (a baseline error that says to re-bless with the generic command) with that
/// command replaced by the one that works here.
pub(crate) fn retarget(message: &str, command: &str) -> String {
    message.replace("`cargo xtask bless-baseline`", &format!("`{command}`"))
}

fn render(xtask: bool, test: &str, env: &[(&str, String)], name: &str) -> String {
    let mut out = String::new();
    if !xtask {
        out.push_str(&format!("PERFSPEC_BLESS={RUNS} "));
    }
    for (var, value) in env {
        out.push_str(&format!("{var}={} ", quoted(value)));
    }
    if xtask {
        out.push_str(&format!("cargo xtask bless-baseline --exact {name}"));
    } else {
        out.push_str(&format!("cargo test --test {test} -- --exact {name}"));
    }
    out
}

/// `value` as one shell word.
fn quoted(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+%".contains(c));
    if plain {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// Whether cargo, run from `start`, knows `cargo xtask`: an `xtask` key in the `[alias]` table
/// of `.cargo/config.toml` (or the older `.cargo/config`) in `start` or a folder above it.
fn has_xtask_alias(start: &Path) -> bool {
    start.ancestors().any(|dir| {
        ["config.toml", "config"].iter().any(|name| {
            std::fs::read_to_string(dir.join(".cargo").join(name))
                .ok()
                .and_then(|text| text.parse::<toml::Table>().ok())
                .and_then(|table| table.get("alias")?.get("xtask").cloned())
                .is_some()
        })
    })
}

/// The name of the test target running now (`perf` for `target/debug/deps/perf-0123abcd`),
/// `perf` when it cannot be told.
fn test_target() -> String {
    let exe = std::env::current_exe().ok();
    let stem = exe
        .as_deref()
        .and_then(Path::file_stem)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    target_of(&stem).unwrap_or("perf").to_string()
}

/// `perf` from `perf-0123456789abcdef` (cargo's hashed file name); None without the hash.
fn target_of(stem: &str) -> Option<&str> {
    let (name, hash) = stem.rsplit_once('-')?;
    let hashed = hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit());
    (hashed && !name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_an_xtask_alias_the_xtask_command_with_the_selecting_environment() {
        let env = [
            ("PERFSPEC_PROFILE", "dev-2core".to_string()),
            ("PERFSPEC_SPECS", "/tmp/my specs".to_string()),
        ];
        assert_eq!(
            render(true, "perf", &env, "search::steady"),
            "PERFSPEC_PROFILE=dev-2core PERFSPEC_SPECS='/tmp/my specs' cargo xtask bless-baseline --exact search::steady"
        );
        assert_eq!(
            render(true, "perf", &[], "a::b"),
            "cargo xtask bless-baseline --exact a::b"
        );
    }

    #[test]
    fn without_one_the_harness_form_for_the_running_test_target() {
        let env = [("PERFSPEC_BASELINES", "perf/baselines".to_string())];
        assert_eq!(
            render(false, "load", &env, "search::steady"),
            "PERFSPEC_BLESS=3 PERFSPEC_BASELINES=perf/baselines cargo test --test load -- --exact search::steady"
        );
    }

    #[test]
    fn the_alias_is_found_in_a_folder_above_and_only_as_an_alias() {
        let root = std::env::temp_dir().join(format!("perfspec-hint-{}", std::process::id()));
        let member = root.join("crates/service");
        std::fs::create_dir_all(&member).unwrap();
        std::fs::create_dir_all(root.join(".cargo")).unwrap();
        assert!(!has_xtask_alias(&member) || has_xtask_alias(&std::env::temp_dir()));
        std::fs::write(root.join(".cargo/config.toml"), "[build]\nxtask = 1\n").unwrap();
        let above = has_xtask_alias(&std::env::temp_dir());
        assert_eq!(has_xtask_alias(&member), above, "`xtask` outside [alias]");
        std::fs::write(
            root.join(".cargo/config.toml"),
            "[alias]\nxtask = \"run --package xtask --\"\n",
        )
        .unwrap();
        assert!(has_xtask_alias(&member));
        assert!(has_xtask_alias(&root));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn the_test_target_is_the_file_name_without_cargos_hash() {
        assert_eq!(target_of("perf-0123456789abcdef"), Some("perf"));
        assert_eq!(target_of("load-tests-0123456789abcdef"), Some("load-tests"));
        assert_eq!(target_of("perf"), None);
        assert_eq!(target_of("perf-tests"), None);
    }

    #[test]
    fn quoting_keeps_plain_paths_plain() {
        assert_eq!(quoted("baselines/dev-2core"), "baselines/dev-2core");
        assert_eq!(quoted("it's here"), r"'it'\''s here'");
        assert_eq!(quoted(""), "''");
    }

    #[test]
    fn baseline_errors_name_the_command_that_works_here() {
        assert_eq!(
            retarget(
                "baseline x.json:1:2 is corrupt: eof; re-bless it with `cargo xtask bless-baseline`",
                "PERFSPEC_BLESS=3 cargo test --test perf -- --exact a::b"
            ),
            "baseline x.json:1:2 is corrupt: eof; re-bless it with `PERFSPEC_BLESS=3 cargo test --test perf -- --exact a::b`"
        );
    }
}
