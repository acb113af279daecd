//! Every file of `tests/invalid-specs/` is a small spec with exactly one mistake a user would
//! make; its error message is pinned with an insta snapshot (`tests/snapshots/`).
//!
//! The parse also must never panic, whatever the input: every spec, valid or not, is parsed
//! again cut off at many points.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use perfspec::spec::{Context, Spec};

/// At least this many invalid specs are expected in the corpus.
const MIN_CASES: usize = 40;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid-specs")
}

/// `*.toml` files of `dir`, sorted by name.
fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    files
}

/// Parses `path` as the harness does, but names it `tests/invalid-specs/FILE` in messages so
/// snapshots do not depend on where the repository is checked out.
fn parse(path: &Path, bytes: &[u8]) -> Result<Spec, perfspec::spec::SpecError> {
    let file_name = path.file_name().expect("a file").to_string_lossy();
    let cx = Context {
        display_path: Some(PathBuf::from(format!("tests/invalid-specs/{file_name}"))),
        ..Default::default()
    };
    Spec::parse_bytes(bytes, path, &cx)
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(non-string panic)".into())
}

/// The message with the corpus folder shown as `[DIR]` and the OS's words for a missing file
/// spelled the same everywhere.
fn stable(message: &str, dir: &str) -> String {
    let mut out = message.replace(dir, "[DIR]").replace("[DIR]\\", "[DIR]/");
    const NOT_FOUND: &str = "(os error 2)";
    if let Some(at) = out.find(NOT_FOUND) {
        let start = out[..at].rfind(": ").map_or(at, |i| i + 2);
        out.replace_range(
            start..at + NOT_FOUND.len(),
            "No such file or directory (os error 2)",
        );
    }
    out
}

#[test]
fn invalid_specs_have_stable_messages() {
    let dir = corpus_dir();
    let files = toml_files(&dir);
    assert!(
        files.len() >= MIN_CASES,
        "expected at least {MIN_CASES} invalid specs in {}, found {}",
        dir.display(),
        files.len()
    );
    // Data files are resolved against the real folder: its absolute path may appear in
    // messages, and the OS words for a missing file differ between systems.
    let dir_text = dir.display().to_string();
    let mut failures = Vec::new();
    for path in &files {
        let stem = path
            .file_stem()
            .expect("a file")
            .to_string_lossy()
            .into_owned();
        let bytes = std::fs::read(path).expect("readable spec");
        let message = match parse(path, &bytes) {
            Ok(_) => {
                failures.push(format!("{stem}: accepted, but it is meant to be invalid"));
                continue;
            }
            Err(e) => stable(&e.to_string(), &dir_text),
        };
        let checked = panic::catch_unwind(AssertUnwindSafe(|| {
            insta::assert_snapshot!(stem.as_str(), message);
        }));
        if let Err(payload) = checked {
            failures.push(format!("{stem}: {}", panic_text(payload.as_ref())));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} invalid specs failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn truncated_specs_never_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = toml_files(&corpus_dir());
    let valid = toml_files(&root.join("perf-specs"));
    assert!(!valid.is_empty(), "no valid specs in perf-specs/");
    files.extend(valid);
    // The panics are caught and reported below; keep the default hook from printing each.
    let hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let mut failures = Vec::new();
    for path in &files {
        // Bytes, cut anywhere: a cut inside a character is text that is not UTF-8.
        let text = std::fs::read(path).expect("readable spec");
        let mut ends: Vec<usize> = (0..text.len()).step_by(7).collect();
        ends.push(text.len());
        for end in ends {
            let cut = &text[..end];
            if let Err(payload) = panic::catch_unwind(|| parse(path, cut).map(drop)) {
                failures.push(format!(
                    "{} cut at byte {end}: {}",
                    path.display(),
                    panic_text(payload.as_ref())
                ));
            }
        }
    }
    panic::set_hook(hook);
    assert!(
        failures.is_empty(),
        "Spec::parse panicked on {} inputs:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
