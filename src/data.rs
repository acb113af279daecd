//! Data sources for request variables: a file with one value per line or one JSON object per
//! line (JSONL), or inline values; and the picker that draws a row per request, round-robin or
//! at random from a fixed seed.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// How rows are drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pick {
    /// In file order, shared by all users, wrapping around.
    RoundRobin,
    /// Uniformly at random; each user's generator is seeded from `seed` and its index, so a run
    /// is reproducible.
    Random {
        /// The seed.
        seed: u64,
    },
}

/// The format of a data file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Format {
    /// One string value per non-empty line.
    Lines,
    /// One JSON value per non-empty line.
    Jsonl,
}

/// A named, loaded data source.
#[derive(Debug, Clone)]
pub struct DataSource {
    /// The name used in `{{name}}`.
    pub name: String,
    /// The rows, shared by all users.
    pub rows: Arc<[Value]>,
    /// How rows are drawn.
    pub pick: Pick,
    /// The file line of each row (empty for inline values), for messages.
    pub lines: Vec<usize>,
}

/// Reads a data file. Errors name the file and line.
/// The largest data file read (all rows are kept in memory).
const MAX_DATA_BYTES: u64 = 512 * 1024 * 1024;

/// Reads a data file into rows and the line number of each; `shown` names it in errors.
pub fn load_file(
    path: &Path,
    shown: &str,
    format: Format,
) -> Result<(Vec<Value>, Vec<usize>), String> {
    // Only regular files, and not huge ones: /dev/zero or a FIFO would never end.
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read data file `{shown}`: {e}"))?;
    if !meta.is_file() {
        return Err(format!("data file `{shown}` is not a regular file"));
    }
    if meta.len() > MAX_DATA_BYTES {
        return Err(format!(
            "data file `{shown}` is larger than {} MiB",
            MAX_DATA_BYTES / (1024 * 1024)
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read data file `{shown}`: {e}"))?;
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        rows.push(match format {
            Format::Lines => Value::String(line.to_string()),
            Format::Jsonl => serde_json::from_str(line).map_err(|e| {
                let what = e.to_string();
                let what = what
                    .rfind(" at line ")
                    .map_or(what.as_str(), |at| &what[..at]);
                format!("{shown}:{}:{}: invalid JSON: {what}", i + 1, e.column())
            })?,
        });
        lines.push(i + 1);
    }
    if rows.is_empty() {
        return Err(format!("data file `{shown}` has no rows"));
    }
    Ok((rows, lines))
}

/// Shared rows of every source; each user draws from them with its own [`RowPicker`].
#[derive(Debug, Clone)]
pub struct Rows {
    sources: Vec<(Arc<[Value]>, Pick, Arc<AtomicUsize>)>,
}

/// One user's cursors. Round-robin cursors are shared between users.
#[derive(Debug)]
pub struct RowPicker {
    cursors: Vec<Cursor>,
}

#[derive(Debug)]
enum Cursor {
    Shared(Arc<AtomicUsize>),
    Random(SmallRng),
}

impl Rows {
    /// Prepares the sources of a spec.
    pub fn new(sources: &[DataSource]) -> Rows {
        Rows {
            sources: sources
                .iter()
                .map(|s| (s.rows.clone(), s.pick, Arc::new(AtomicUsize::new(0))))
                .collect(),
        }
    }

    /// How many sources there are (user variables come after them in a template's rows).
    pub fn count(&self) -> usize {
        self.sources.len()
    }

    /// The picker of user `user`.
    pub fn picker(&self, user: u64) -> RowPicker {
        let cursors = self
            .sources
            .iter()
            .map(|(_, pick, shared)| match pick {
                Pick::RoundRobin => Cursor::Shared(shared.clone()),
                Pick::Random { seed } => Cursor::Random(SmallRng::seed_from_u64(
                    seed ^ user.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                )),
            })
            .collect();
        RowPicker { cursors }
    }
}

impl RowPicker {
    /// Draws the next row of each source in `used` into `out` (indexed by source), leaving
    /// the others `None`.
    pub fn draw<'r>(&mut self, rows: &'r Rows, used: &[usize], out: &mut Vec<Option<&'r Value>>) {
        out.clear();
        out.resize(rows.sources.len(), None);
        for &i in used {
            let values = &rows.sources[i].0;
            let index = match &mut self.cursors[i] {
                Cursor::Shared(c) => c.fetch_add(1, Ordering::Relaxed) % values.len(),
                Cursor::Random(rng) => rng.random_range(0..values.len()),
            };
            out[i] = Some(&values[index]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(pick: Pick) -> DataSource {
        DataSource {
            name: "q".into(),
            rows: (0..4).map(Value::from).collect(),
            pick,
            lines: vec![],
        }
    }

    #[test]
    fn round_robin_is_shared_and_wraps() {
        let rows = Rows::new(&[source(Pick::RoundRobin)]);
        let (mut a, mut b) = (rows.picker(0), rows.picker(1));
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for i in 0..6 {
            let p = if i % 2 == 0 { &mut a } else { &mut b };
            p.draw(&rows, &[0], &mut out);
            seen.push(out[0].unwrap().as_i64().unwrap());
        }
        assert_eq!(seen, vec![0, 1, 2, 3, 0, 1]);
    }

    #[test]
    fn random_is_reproducible() {
        let draw = || {
            let rows = Rows::new(&[source(Pick::Random { seed: 7 })]);
            let mut p = rows.picker(3);
            let mut out = Vec::new();
            (0..20)
                .map(|_| {
                    p.draw(&rows, &[0], &mut out);
                    out[0].unwrap().as_i64().unwrap()
                })
                .collect::<Vec<_>>()
        };
        let first = draw();
        assert_eq!(first, draw());
        assert!(
            first.iter().any(|&v| v != first[0]),
            "all draws equal: {first:?}"
        );
    }

    #[test]
    fn files_are_read_with_line_numbers_in_errors() {
        let dir = std::env::temp_dir().join(format!("perfspec-data-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("q.jsonl");
        std::fs::write(&good, "{\"a\":1}\n\n{\"a\":2}\n").unwrap();
        let (rows, lines) = load_file(&good, "q.jsonl", Format::Jsonl).unwrap();
        assert_eq!((rows.len(), lines), (2, vec![1, 3]));
        let bad = dir.join("bad.jsonl");
        std::fs::write(&bad, "{\"a\":1}\n{oops\n").unwrap();
        assert!(
            load_file(&bad, "bad.jsonl", Format::Jsonl)
                .unwrap_err()
                .starts_with("bad.jsonl:2:2: invalid JSON: key must be a string")
        );
        let empty = dir.join("empty.txt");
        std::fs::write(&empty, "\n\n").unwrap();
        assert!(
            load_file(&empty, "empty.txt", Format::Lines)
                .unwrap_err()
                .contains("no rows")
        );
        assert!(
            load_file(Path::new("/dev/zero"), "/dev/zero", Format::Lines)
                .unwrap_err()
                .contains("not a regular file")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
