//! Running cargo from a process that cargo started (a test, `cargo run`, an xtask).
//!
//! Cargo gives the processes it runs the variables it sets for a crate's build
//! (`CARGO_MANIFEST_DIR`, `CARGO_PKG_NAME`, `OUT_DIR`, …). A nested cargo that inherits them
//! reads them as the user's environment, and build scripts that watch them (ring's does,
//! through `rerun-if-env-changed`) run again: ring, rustls and everything above them were
//! rebuilt by every nested build, and once more by the user's next ordinary build. The
//! suite's nested builds cost minutes this way, and so would a `{bin:}` target of any service
//! that depends on rustls.

use std::ffi::OsStr;
use std::process::Command;

/// `$CARGO` (the cargo that started this process), else `cargo` from `PATH`, without the
/// variables cargo set for this process's crate.
pub fn command() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    clean_env(&mut c);
    c
}

/// Removes from `c`'s environment the variables cargo sets for the crate it builds or runs.
/// The user's own configuration (`CARGO_HOME`, `CARGO_TARGET_DIR`, `CARGO_PROFILE_*`, …) stays.
pub fn clean_env(c: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        if set_for_crate(&key) {
            c.env_remove(key);
        }
    }
    c
}

/// Whether cargo sets `key` for a crate's build or run (cargo's "environment variables Cargo
/// sets for crates" and for build scripts' dependants).
fn set_for_crate(key: &OsStr) -> bool {
    let Some(k) = key.to_str() else {
        return false;
    };
    k == "OUT_DIR"
        || k.starts_with("CARGO_PKG_")
        || k.starts_with("CARGO_BIN_")
        || matches!(
            k,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_MANIFEST_LINKS"
                | "CARGO_CRATE_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
                | "CARGO_RUSTC_CURRENT_DIR"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crates_variables_go_and_the_users_stay() {
        for k in [
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_NAME",
            "CARGO_PKG_VERSION_MAJOR",
            "CARGO_BIN_EXE_perfspec-demo",
            "CARGO_CRATE_NAME",
            "OUT_DIR",
        ] {
            assert!(set_for_crate(OsStr::new(k)), "{k}");
        }
        for k in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_PROFILE_DEV_OPT_LEVEL",
            "CARGO_INCREMENTAL",
            "CARGO_BUILD_JOBS",
            "PATH",
        ] {
            assert!(!set_for_crate(OsStr::new(k)), "{k}");
        }
    }

    /// Under `cargo test` this process has the variables; the command must not pass them on.
    #[test]
    fn a_nested_cargo_does_not_inherit_them() {
        let c = command();
        let removed: Vec<_> = c
            .get_envs()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
        assert!(
            removed.iter().any(|k| k == "CARGO_MANIFEST_DIR"),
            "{removed:?}"
        );
        assert!(removed.iter().any(|k| k == "CARGO_PKG_NAME"), "{removed:?}");
    }
}
