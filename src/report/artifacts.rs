//! Writing the reports of a whole run next to the per-trial results:
//! `index.json`, `summary.md` (also appended to `$GITHUB_STEP_SUMMARY`), `junit.xml` and
//! `report.html`, each atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{RunReport, html, index, junit, markdown};
use crate::files::write_atomic;

/// What [`write`] wrote, and what it could not.
#[derive(Debug, Default)]
pub struct Written {
    /// `(what it holds, path)` of each file written.
    pub files: Vec<(&'static str, PathBuf)>,
    /// Why a file could not be written.
    pub errors: Vec<String>,
}

/// The file names, relative to the output folder.
pub const INDEX: &str = "index.json";
/// See [`INDEX`].
pub const SUMMARY: &str = "summary.md";
/// See [`INDEX`].
pub const JUNIT: &str = "junit.xml";
/// See [`INDEX`].
pub const HTML: &str = "report.html";

/// Writes the run's reports into `out`, and appends the Markdown summary to `step_summary`
/// (`$GITHUB_STEP_SUMMARY`) when given.
pub fn write(run: &RunReport, out: &Path, step_summary: Option<PathBuf>) -> Written {
    write_with_skipped(run, &[], out, step_summary)
}

/// [`write`], with `skipped`: the `SPEC::SCENARIO` names of ignored scenarios the run
/// selected but did not run (JUnit reports them as skipped).
pub fn write_with_skipped(
    run: &RunReport,
    skipped: &[String],
    out: &Path,
    step_summary: Option<PathBuf>,
) -> Written {
    // Relative to the artifact folder: the summary is read in a PR comment or a job summary.
    let summary = markdown::render(run, Some(HTML));
    let files: [(&'static str, &str, String); 4] = [
        ("charts of every scenario", HTML, html::render(run)),
        ("Markdown summary", SUMMARY, summary.clone()),
        ("JUnit XML", JUNIT, junit::render_with_skipped(run, skipped)),
        ("index of the run", INDEX, index::render(run)),
    ];
    let mut written = Written::default();
    for (what, name, text) in files {
        let path = out.join(name);
        match write_atomic(&path, text.as_bytes()) {
            Ok(()) => written.files.push((what, path)),
            Err(e) => written.errors.push(e.to_string()),
        }
    }
    if let Some(path) = step_summary.filter(|p| !p.as_os_str().is_empty()) {
        match append(&path, &summary) {
            Ok(()) => written.files.push(("GitHub step summary", path)),
            Err(e) => written.errors.push(format!(
                "cannot append to {} ($GITHUB_STEP_SUMMARY): {e}",
                path.display()
            )),
        }
    }
    written
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")
}
