//! The data-file reader: any bytes as a `[data]` file, read as lines and as JSONL. Reading
//! returns rows with their line numbers or an error naming the line; nothing panics.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use perfspec::data::{Format, load_file};

/// One file, rewritten for every input: in memory (`/dev/shm`) where there is one, since
/// a disk-backed temporary folder makes the target about ten times slower.
fn file() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("perfspec-fuzz-data-{}.jsonl", std::process::id()))
    })
}

fuzz_target!(|bytes: &[u8]| {
    std::fs::write(file(), bytes).expect("write the data file");
    for format in [Format::Lines, Format::Jsonl] {
        match load_file(file(), "data/fuzz.jsonl", format) {
            Ok((rows, lines)) => {
                assert_eq!(rows.len(), lines.len());
                assert!(!rows.is_empty());
                assert!(
                    lines.windows(2).all(|w| w[0] < w[1]),
                    "line numbers out of order"
                );
            }
            Err(e) => assert!(!e.is_empty()),
        }
    }
    // Nothing is left behind when the run ends.
    let _ = std::fs::remove_file(file());
});
