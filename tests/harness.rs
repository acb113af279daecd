//! The libtest face of perfspec: one trial per scenario, filters, ignored scenarios, broken
//! specs, and the failure table.

mod common;

use common::scratch;
use libtest_mimic::Arguments;
use perfspec::Harness;
use testkit::{Server, text};

fn specs_with(server: &Server, dir: &std::path::Path) -> std::path::PathBuf {
    let specs = dir.join("perf-specs");
    std::fs::create_dir_all(&specs).unwrap();
    std::fs::write(
        specs.join("alpha.toml"),
        format!(
            r#"
        [target]
        url = "{}"
        [[request]]
        name = "root"
        path = "/"
        [scenario.fast]
        load = {{ model = "closed", users = 1 }}
        duration = "300ms"
        assert = ["error-rate < 1%"]
        [scenario.impossible]
        load = {{ model = "closed", users = 1 }}
        duration = "300ms"
        assert = ["p99 < 1us", "error-rate < 1%"]
        [scenario.soak]
        load = {{ model = "closed", users = 1 }}
        duration = "300ms"
        ignore = true
    "#,
            server.url()
        ),
    )
    .unwrap();
    std::fs::write(specs.join("broken.toml"), "[target]\nurl = \"http://127.0.0.1:1\"\n[[request]]\nname = \"r\"\npath = \"/\"\nweight = 0\n").unwrap();
    std::fs::write(specs.join("notes.md"), "not a spec").unwrap();
    specs
}

fn harness(dir: &std::path::Path, specs: &std::path::Path) -> Harness {
    Harness::new().specs_dir(specs).out_dir(dir.join("out"))
}

/// libtest arguments; what the nested run prints goes to a log file of its own (with
/// `--logfile` already given, to that), so this test binary's output stays its own.
fn args(list: &[&str]) -> Arguments {
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut all: Vec<String> = std::iter::once("perf")
        .chain(list.iter().copied())
        .map(String::from)
        .collect();
    if !list.contains(&"--logfile") {
        let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("harness-libtest-{}-{n}.log", std::process::id()));
        all.extend(["--logfile".to_string(), log.display().to_string()]);
    }
    Arguments::from_iter(all)
}

#[test]
fn one_trial_per_scenario_and_one_per_broken_spec() {
    let server = Server::http(1, |_| async { text(200, "ok") });
    let dir = scratch("harness-list");
    let specs = specs_with(&server, &dir);
    let trials = harness(&dir, &specs).trials();
    let names: Vec<(&str, bool)> = trials
        .iter()
        .map(|t| (t.name(), t.has_ignored_flag()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("alpha::fast", false),
            ("alpha::impossible", false),
            ("alpha::soak", true),
            ("broken", false)
        ]
    );
}

#[test]
fn filters_exact_and_ignored_behave_like_libtest() {
    let server = Server::http(1, |_| async { text(200, "ok") });
    let dir = scratch("harness-filters");
    let specs = specs_with(&server, &dir);
    let c = harness(&dir, &specs).run_with(args(&["--exact", "alpha::fast"]));
    assert_eq!((c.num_passed, c.num_failed, c.num_filtered_out), (1, 0, 3));
    let c = harness(&dir, &specs).run_with(args(&["alpha::"]));
    assert_eq!((c.num_passed, c.num_failed, c.num_ignored), (1, 1, 1));
    let c = harness(&dir, &specs).run_with(args(&["--ignored", "alpha"]));
    assert_eq!((c.num_passed, c.num_failed, c.num_ignored), (1, 0, 0));
    let c = harness(&dir, &specs).run_with(args(&["--include-ignored", "alpha"]));
    assert_eq!((c.num_passed, c.num_failed), (2, 1));
    let c = harness(&dir, &specs).run_with(args(&["--skip", "alpha"]));
    assert_eq!(
        (c.num_passed, c.num_failed),
        (0, 1),
        "only the broken spec is left"
    );
}

#[test]
fn a_missed_threshold_fails_with_the_table_and_writes_the_result() {
    let server = Server::http(1, |_| async { text(200, "ok") });
    let dir = scratch("harness-fail");
    let specs = specs_with(&server, &dir);
    let h = harness(&dir, &specs);
    let outcome = h.clone().run_with(args(&["--exact", "alpha::impossible"]));
    assert_eq!(outcome.num_failed, 1);
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("out/results/alpha/impossible.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["status"], "fail");
    assert_eq!(json["checks"][0]["outcome"], "fail");
    assert_eq!(json["checks"][1]["outcome"], "pass");
    // The message libtest prints is the console table.
    let spec = perfspec::spec::Spec::load(&specs.join("alpha.toml")).unwrap();
    let report = h.run_scenario(&spec, "impossible").unwrap();
    let table = perfspec::report::console::trial_table(&report);
    for want in [
        "alpha::impossible  FAIL",
        "p99 < 1us",
        "< 1 µs",
        "FAIL  <--",
        "error-rate < 1%",
        "PASS",
        "request",
        "root",
        "p95",
        "errors",
    ] {
        assert!(table.contains(want), "missing {want:?} in\n{table}");
    }
}

#[test]
fn a_broken_spec_fails_its_trial_with_the_location() {
    let server = Server::http(1, |_| async { text(200, "ok") });
    let dir = scratch("harness-broken");
    let specs = specs_with(&server, &dir);
    let c = harness(&dir, &specs).run_with(args(&["--exact", "broken"]));
    assert_eq!(c.num_failed, 1);
    let err = perfspec::spec::Spec::load(&specs.join("broken.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("broken.toml:6:10") && err.contains("`weight` 0"),
        "{err}"
    );
}

#[test]
fn cargo_test_perf_lists_the_bundled_scenarios() {
    // The real entry point, as a user runs it (the binary is already built by this test run).
    let out = perfspec::cargo::command()
        .args([
            "test",
            "--workspace",
            "--quiet",
            "--test",
            "perf",
            "--",
            "--list",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in [
        "embed::steady: test",
        "embed::peak: test",
        "search::steady: test",
        "search::peak: test",
    ] {
        assert!(stdout.contains(name), "{name} not listed:\n{stdout}");
    }
    assert!(
        !stdout.contains("perfspec summary"),
        "--list must print only the list"
    );
}

#[test]
fn a_run_writes_its_reports_and_a_listing_writes_none() {
    let server = Server::http(1, |_| async { text(200, "ok") });
    let dir = scratch("harness-reports");
    let specs = specs_with(&server, &dir);
    let out = dir.join("out");
    let log = dir.join("libtest.log").display().to_string();
    let h = harness(&dir, &specs);
    let listed = h.clone().run_with(args(&["--list", "--logfile", &log]));
    let none = h
        .clone()
        .run_with(args(&["--exact", "no-such-test", "--logfile", &log]));
    assert_eq!((listed.num_passed, none.num_passed), (0, 0));
    assert!(!out.exists(), "nothing ran: nothing is written");

    let c = h.run_with(args(&["alpha::", "--logfile", &log]));
    assert_eq!((c.num_passed, c.num_failed), (1, 1));
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
    let index: serde_json::Value = serde_json::from_str(&read("index.json")).unwrap();
    let names: Vec<&str> = index["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha::fast", "alpha::impossible"]);
    assert_eq!(index["status"], "fail");
    let junit = read("junit.xml");
    assert!(junit.contains("<testcase classname=\"alpha\" name=\"fast\""));
    assert!(junit.contains("<failure type=\"fail\" message=\"1 of 2 checks failed: p99 &lt; 1us"));
    // The ignored scenario the filter selected is a skipped case; the broken spec it did not
    // select is not in the file.
    assert!(
        junit.contains("<testcase classname=\"alpha\" name=\"soak\" time=\"0.000\">\n      <skipped message=\"ignored:")
            && junit.contains("tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""),
        "{junit}"
    );
    let summary = read("summary.md");
    assert!(summary.starts_with(perfspec::report::markdown::MARKER));
    assert!(
        !summary.contains(&*dir.to_string_lossy()),
        "no runner-local path: {summary}"
    );
    let html = read("report.html");
    assert_eq!(html.matches("<section class=\"trial").count(), 2);
}

#[test]
fn cargo_test_perf_on_a_pipe_prints_the_summary_without_a_progress_line() {
    let server = Server::http(1, |_| async { text(200, "ok") });
    let dir = scratch("harness-pipe");
    let specs = specs_with(&server, &dir);
    let step = dir.join("step-summary.md");
    let out = perfspec::cargo::command()
        .args([
            "test",
            "--workspace",
            "--quiet",
            "--test",
            "perf",
            "--",
            "alpha::fast",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PERFSPEC_SPECS", &specs)
        .env("PERFSPEC_OUT", dir.join("out"))
        .env("GITHUB_STEP_SUMMARY", &step)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{}\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr.contains("perfspec summary"), "{stderr}");
    assert!(stderr.contains("report.html"), "{stderr}");
    assert!(
        !stderr.contains('\x1b') && !stderr.contains('\r'),
        "no progress line when stderr is not a terminal:\n{stderr:?}"
    );
    let summary = std::fs::read_to_string(&step).unwrap();
    assert!(summary.contains("`alpha::fast`"), "{summary}");
}
