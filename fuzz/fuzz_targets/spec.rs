//! The spec parser: any bytes as a spec file. Parsing returns a spec or an error, and the
//! error renders; nothing panics, hangs or reads outside the fuzzer's own folder.

#![no_main]

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use perfspec::spec::{Body, Context, Spec};

/// Data files the bundled and invalid specs name, written once into a private folder so that
/// specs resolve `file = "data/…"` against known content.
const DATA: &[(&str, &str)] = &[
    (
        "queries.txt",
        include_str!("../../perf-specs/data/queries.txt"),
    ),
    (
        "sentences.txt",
        include_str!("../../perf-specs/data/sentences.txt"),
    ),
    (
        "users.jsonl",
        include_str!("../../tests/invalid-specs/data/users.jsonl"),
    ),
    (
        "broken.jsonl",
        include_str!("../../tests/invalid-specs/data/broken.jsonl"),
    ),
];

/// `<temp>/perfspec-fuzz-spec/fuzz.toml`: the spec's path; its folder holds `data/`. One
/// folder for every run (nothing piles up in the temporary folder); files are written to a
/// temporary name and renamed, so a run starting beside another never reads half a file.
fn spec_path() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join("perfspec-fuzz-spec");
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("create the fuzz data folder");
        for (name, text) in DATA {
            let tmp = data.join(format!(".{name}.{}", std::process::id()));
            std::fs::write(&tmp, text).expect("write fuzz data");
            std::fs::rename(&tmp, data.join(name)).expect("rename fuzz data");
        }
        dir.join("fuzz.toml")
    })
}

/// `{{env:NAME}}` reads this map, never the real environment.
fn context() -> Context {
    Context {
        env: Some(BTreeMap::from([
            ("TOKEN".to_string(), "s3cr\"t".to_string()),
            ("EMPTY".to_string(), String::new()),
        ])),
        ..Default::default()
    }
}

/// Whether a `[data]` source names a file outside the fuzz folder (`/dev/zero`, `../x`):
/// such inputs are skipped so the target stays hermetic and fast.
fn leaves_the_folder(text: &str) -> bool {
    let Ok(doc) = text.parse::<toml::Table>() else {
        return false;
    };
    let Some(data) = doc.get("data").and_then(|d| d.as_table()) else {
        return false;
    };
    data.values()
        .filter_map(|source| source.get("file")?.as_str())
        .any(|file| {
            Path::new(file)
                .components()
                .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        })
}

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    if leaves_the_folder(&text) {
        return;
    }
    // The bytes as they are: text that is not UTF-8 is a located error too.
    match Spec::parse_bytes(bytes, spec_path(), &context()) {
        Ok(spec) => {
            // Render every request once with the first row of each source, as a run would.
            let rows: Vec<_> = spec.data.iter().map(|d| d.rows.first()).collect();
            for r in &spec.requests {
                r.path.render_string(&rows);
                for (_, t) in r.query.iter().chain(&r.headers) {
                    t.render_string(&rows);
                }
                if let Body::Json(t) = &r.body {
                    let json = t.render_string(&rows);
                    assert!(
                        serde_json::from_str::<serde_json::Value>(&json).is_ok(),
                        "a JSON body renders to invalid JSON: {json}"
                    );
                }
            }
            let _ = format!("{spec:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
