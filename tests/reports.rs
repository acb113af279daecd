//! What people read, pinned with insta snapshots (`tests/snapshots/reports__*.snap`): the
//! console table and summary, the Markdown summary, JUnit XML and the run index, rendered from
//! hand-built reports (fixed histograms, no timing). The HTML page is checked for structure
//! here and for rendering in `html_report.rs`.

mod common;

use common::fixtures;
use perfspec::report::{artifacts, console, html, index, junit, markdown};

/// The version moves; snapshots should not.
fn stable(text: String) -> String {
    text.replace(env!("CARGO_PKG_VERSION"), "[VERSION]")
}

#[test]
fn console_tables() {
    insta::assert_snapshot!("console_pass", console::trial_table(&fixtures::passing()));
    insta::assert_snapshot!("console_fail", console::trial_table(&fixtures::failing()));
    insta::assert_snapshot!(
        "console_inconclusive",
        console::trial_table(&fixtures::inconclusive())
    );
    insta::assert_snapshot!(
        "console_error",
        console::trial_table(&fixtures::unmeasured())
    );
}

#[test]
fn console_summary() {
    insta::assert_snapshot!("console_summary", console::summary(&fixtures::run()));
}

#[test]
fn markdown_summary() {
    let text = markdown::render(&fixtures::run(), Some("report.html"));
    assert!(text.starts_with(markdown::MARKER), "the marker comes first");
    insta::assert_snapshot!("markdown", stable(text));
}

#[test]
fn markdown_without_baselines_shows_dashes() {
    let mut run = fixtures::run();
    for t in &mut run.trials {
        t.baseline = None;
    }
    let text = markdown::render(&run, None);
    for line in text
        .lines()
        .filter(|l| l.starts_with("| ✅") || l.starts_with("| ❌"))
    {
        assert!(line.ends_with("| — |"), "{line}");
    }
}

/// GitHub refuses comments over 65,536 characters: a run with many broken specs, each with a
/// long error, still gives a summary that fits, keeps the table of scenarios, caps each error
/// block and says what was cut and where it is.
#[test]
fn markdown_summary_fits_in_a_comment() {
    let mut run = fixtures::run();
    let error = format!(
        "error: unknown key `thnk-time` in `load`\n{}",
        "   | a long line of the spec that cannot run, repeated to make the error long\n"
            .repeat(300)
    );
    assert!(error.chars().count() > 20_000);
    run.broken = (0..40)
        .map(|i| perfspec::report::BrokenSpec {
            name: format!("broken-{i:02}"),
            error: error.clone(),
        })
        .collect();
    let text = markdown::render(&run, Some("report.html"));
    let chars = text.chars().count();
    assert!(chars <= 65_536, "{chars} characters");
    assert!(
        chars > 40_000,
        "cut only as far as needed: {chars} characters"
    );
    assert!(text.starts_with(markdown::MARKER));
    for t in &run.trials {
        assert!(
            text.contains(&format!("`{}`", t.name())),
            "{} in the table",
            t.name()
        );
    }
    assert!(text.contains("more characters: the whole text is in `junit.xml` in the artifact"));
    assert!(text.contains("`broken-00`: the spec cannot run"));
    assert!(!text.contains("`broken-39`: the spec cannot run"));
    let left_out = text
        .lines()
        .find(|l| l.contains("more scenario sections left out"))
        .expect("a note says what was left out");
    let shown = text.matches("the spec cannot run").count();
    assert!(
        left_out.starts_with(&format!("_{} more", 40 - shown)),
        "{left_out}"
    );
    assert!(text.ends_with("charts: `report.html` in the artifact</sub>\n"));
}

/// Ignored scenarios the run selected but did not run are skipped cases, counted as such.
/// A table of scenarios too long by itself is cut by whole rows, with a note.
#[test]
fn markdown_summary_with_a_huge_table_still_fits() {
    let mut run = fixtures::run();
    let one = run.trials.clone();
    run.trials = (0..200).flat_map(|_| one.clone()).collect();
    let text = markdown::render(&run, Some("report.html"));
    let chars = text.chars().count();
    assert!((40_000..=65_536).contains(&chars), "{chars} characters");
    let note = text
        .lines()
        .find(|l| l.contains("more rows of the table left out"))
        .expect("a note says rows were left out");
    let rows = text
        .lines()
        .filter(|l| {
            l.starts_with("| ✅")
                || l.starts_with("| ❌")
                || l.starts_with("| ⚠️")
                || l.starts_with("| 💥")
        })
        .count();
    let table_rows = run.trials.len() + run.broken.len();
    assert!(
        note.starts_with(&format!("_{} more rows", table_rows - rows)),
        "{note}, {rows} rows shown"
    );
    assert!(text.ends_with("charts: `report.html` in the artifact</sub>\n"));
}

#[test]
fn junit_marks_ignored_scenarios_skipped() {
    let xml = junit::render_with_skipped(&fixtures::run(), &["embed::soak".to_string()]);
    assert!(
        xml.contains("tests=\"7\" failures=\"2\" errors=\"2\" skipped=\"1\""),
        "{xml}"
    );
    assert!(
        xml.contains("<testcase classname=\"embed\" name=\"soak\" time=\"0.000\">\n      <skipped message=\"ignored: the scenario says ignore = true; run it with -- --ignored or --include-ignored\"/>\n    </testcase>"),
        "{xml}"
    );
    assert_eq!(
        junit::render(&fixtures::run()).matches("<skipped").count(),
        0
    );
}

#[test]
fn junit_xml() {
    insta::assert_snapshot!("junit", stable(junit::render(&fixtures::run())));
}

#[test]
fn inconclusive_trials_that_may_pass_are_passing_junit_cases_with_a_note() {
    let mut t = fixtures::inconclusive();
    t.scenario.inconclusive = perfspec::spec::Inconclusive::Pass;
    let run = perfspec::report::RunReport {
        trials: vec![t],
        broken: vec![],
        ..fixtures::run()
    };
    let xml = junit::render(&run);
    assert!(!xml.contains("<failure"), "{xml}");
    assert!(xml.contains("failures=\"0\""), "{xml}");
    assert!(
        xml.contains(
            "<system-out>INCONCLUSIVE (passes: inconclusive = \"pass\"): generator saturated"
        ),
        "{xml}"
    );
}

#[test]
fn run_index() {
    insta::assert_snapshot!("index", stable(index::render(&fixtures::run())));
}

#[test]
fn html_is_one_self_contained_page_with_every_chart() {
    let page = html::render(&fixtures::run());
    for banned in ["<script", "src=", "url(", "@import", "href=\"http", "<link"] {
        assert!(
            !page.contains(banned),
            "the page must fetch nothing: found {banned}"
        );
    }
    assert!(page.contains("Content-Security-Policy"));
    // passing, inconclusive, undecided: 3 charts each; failing: 3 + CPU + memory; unmeasured:
    // none.
    assert_eq!(page.matches("<svg class=\"chart\"").count(), 14);
    for want in [
        "Latency over time",
        "Latency distribution",
        "Throughput and errors over time",
        "CPU of the target",
        "Memory of the target",
        "sut.rss (baseline)",
        "baseline (all)",
        "p95 ↑48.2%",
        "could not measure: target not ready after 30s",
        "generator saturated",
        "broken",
        "id=\"t-search--tight\"",
    ] {
        assert!(page.contains(want), "missing {want:?}");
    }
}

#[test]
fn artifacts_are_written_and_the_step_summary_is_appended() {
    let dir = common::scratch("reports-artifacts");
    let step = dir.join("step-summary.md");
    std::fs::write(&step, "earlier step\n").unwrap();
    let run = fixtures::run();
    for _ in 0..2 {
        let written = artifacts::write(&run, &dir.join("out"), Some(step.clone()));
        assert!(written.errors.is_empty(), "{:?}", written.errors);
        assert_eq!(written.files.len(), 5);
    }
    for name in ["index.json", "summary.md", "junit.xml", "report.html"] {
        assert!(dir.join("out").join(name).is_file(), "{name}");
    }
    let summary = std::fs::read_to_string(dir.join("out/summary.md")).unwrap();
    assert!(
        summary.contains("charts: `report.html` in the artifact")
            && !summary.contains(&*dir.to_string_lossy()),
        "links relative to the artifact, never the runner's path: {summary}"
    );
    let appended = std::fs::read_to_string(&step).unwrap();
    assert!(appended.starts_with("earlier step\n"));
    assert_eq!(
        appended.matches(markdown::MARKER).count(),
        2,
        "appended, not replaced"
    );
}

/// Undecided is a result: a comparison the noise did not let the gate decide shows as
/// undecided, with its interval and what would decide it, in every format people read.
#[test]
fn undecided_is_visible_in_every_format() {
    let t = fixtures::undecided();
    assert_eq!(t.status_name(), "inconclusive");
    assert!(
        t.passes(),
        "regression.inconclusive = \"pass\" is the default"
    );
    let line =
        "p95 ↑5.8% undecided (95% interval -3.1% .. +14.9%; about 4 more rounds would decide it)";
    let run = perfspec::report::RunReport {
        trials: vec![t.clone()],
        broken: vec![],
        ..fixtures::run()
    };
    let table = console::trial_table(&t);
    assert!(
        table.contains("UNDECIDED") && table.contains("-3.1% .. +14.9%"),
        "{table}"
    );
    assert!(
        table.contains("about 4 more rounds would decide it"),
        "{table}"
    );
    let summary = console::summary(&run);
    assert!(
        summary.contains("INCONCLUSIVE") && summary.contains("p95 ↑5.8% undecided"),
        "{summary}"
    );
    let notes = perfspec::report::gate::baseline_notes(&run.trials);
    assert!(notes.contains(line), "{notes}");
    let md = markdown::render(&run, None);
    assert!(
        md.contains(line) && md.contains("p95 ↑5.8% undecided ⚠️"),
        "{md}"
    );
    let page = html::render(&run);
    assert!(
        page.contains("<span class=\"undecided\">p95 ↑5.8% undecided</span>")
            && page.contains("UNDECIDED")
            && page.contains("about 4 more rounds would decide it"),
        "html"
    );
    let xml = junit::render(&run);
    assert!(
        xml.contains("<property name=\"perfspec.undecided\" value=\"p95 ↑5.8% undecided")
            && xml.contains(
                "<system-out>INCONCLUSIVE (passes: inconclusive = \"pass\"): p95 ↑5.8% undecided"
            ),
        "{xml}"
    );
    let json = perfspec::report::json::render(&t);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let p95 = &v["baseline"]["checks"][0];
    assert_eq!(p95["outcome"], "inconclusive");
    assert_eq!(p95["undecided"], line);
    assert_eq!(p95["needed"]["count"], 4);
    let index: serde_json::Value = serde_json::from_str(&index::render(&run)).unwrap();
    assert_eq!(index["trials"][0]["changes"][0]["judgement"], "undecided");
}
