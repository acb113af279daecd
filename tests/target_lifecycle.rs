//! Targets started from a command: readiness, early exit, crash mid-run, teardown of the whole
//! process group. Real child processes (`testkit-target`, built through `{bin:NAME}`).

mod common;

use std::time::{Duration, Instant};

use common::{measured, run, scratch, spec};
use perfspec::compare::Status;

fn target_spec(args: &str, extra_target: &str, scenario: &str) -> String {
    format!(
        r#"
        [target]
        command = ["{{bin:testkit-target}}", "--port", "{{port}}", {args}]
        ready = "/health"
        ready-timeout = "1500ms"
        {extra_target}
        [[request]]
        name = "root"
        path = "/"
        [scenario.s]
        {scenario}
        "#
    )
}

const SHORT: &str = r#"load = { model = "closed", users = 2 }
        duration = "1s""#;

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe { libc::kill(pid, 0) == 0 }
}

#[test]
fn a_healthy_target_is_started_measured_and_stopped() {
    let dir = scratch("healthy");
    let pids = dir.join("pids");
    let s = spec(
        &dir,
        "healthy",
        &target_spec(&format!(r#""--pid-file", "{}""#, pids.display()), "", SHORT),
    );
    let report = run(&dir, &s, "s");
    let m = measured(&report);
    assert_eq!(
        m.verdict.status(),
        Status::Pass,
        "{}",
        perfspec::report::console::trial_table(&report)
    );
    assert!(m.measurement.requests[0].ok > 10);
    let log = std::fs::read_to_string(dir.join("out/logs/healthy/s.log")).unwrap();
    assert!(
        log.contains("testkit-target listening on http://127.0.0.1:"),
        "{log}"
    );
    for pid in std::fs::read_to_string(&pids).unwrap().lines() {
        assert!(!alive(pid.parse().unwrap()), "pid {pid} outlived the trial");
    }
}

#[test]
fn a_target_that_exits_early_fails_with_its_status_and_log() {
    let dir = scratch("exits");
    let s = spec(&dir, "exits", &target_spec(r#""--exit", "7""#, "", SHORT));
    let report = run(&dir, &s, "s");
    let err = report.outcome.as_ref().expect_err("must not measure");
    assert!(err.contains("exited before it was ready"), "{err}");
    assert!(err.contains("exit status: 7"), "{err}");
    assert!(
        err.contains("exiting at once as asked"),
        "log tail missing: {err}"
    );
}

#[test]
fn a_target_that_never_gets_ready_times_out_with_its_log() {
    let dir = scratch("never-ready");
    let s = spec(
        &dir,
        "never",
        &target_spec(r#""--health", "503""#, "", SHORT),
    );
    let t = Instant::now();
    let report = run(&dir, &s, "s");
    let err = report.outcome.as_ref().expect_err("must not measure");
    assert!(err.contains("not ready after 1.5s"), "{err}");
    assert!(err.contains("http-5xx"), "last attempt missing: {err}");
    assert!(
        err.contains("testkit-target listening"),
        "log tail missing: {err}"
    );
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "took {:?}",
        t.elapsed()
    );
}

#[test]
fn a_crash_mid_run_fails_the_trial_and_stops_load_early() {
    let dir = scratch("crash");
    let s = spec(
        &dir,
        "crash",
        &target_spec(
            r#""--crash-after-ms", "800""#,
            "",
            r#"load = { model = "closed", users = 2 }
        duration = "10s""#,
        ),
    );
    let t = Instant::now();
    let report = run(&dir, &s, "s");
    let m = measured(&report);
    assert_eq!(m.verdict.status(), Status::Fail);
    let problem = m.verdict.problems().join("\n");
    assert!(
        problem.contains("target exited during the run (exit status: 3)"),
        "{problem}"
    );
    assert!(problem.contains("crashing as asked"), "{problem}");
    assert!(
        t.elapsed() < Duration::from_secs(6),
        "load went on after the crash: {:?}",
        t.elapsed()
    );
}

#[test]
fn the_whole_group_is_killed_even_when_it_ignores_sigterm() {
    let dir = scratch("stubborn");
    let pids = dir.join("pids");
    let s = spec(
        &dir,
        "stubborn",
        &target_spec(
            &format!(
                r#""--ignore-sigterm", "--fork-daemon", "--pid-file", "{}""#,
                pids.display()
            ),
            r#"stop-timeout = "300ms""#,
            SHORT,
        ),
    );
    let report = run(&dir, &s, "s");
    assert_eq!(measured(&report).verdict.status(), Status::Pass);
    let pids: Vec<i32> = std::fs::read_to_string(&pids)
        .unwrap()
        .lines()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 2, "target and its daemon");
    for pid in pids {
        assert!(!alive(pid), "pid {pid} outlived the trial");
    }
}

#[test]
fn an_unknown_bin_is_a_located_spec_error() {
    let dir = scratch("unknown-bin");
    let s = spec(
        &dir,
        "nobin",
        r#"
        [target]
        command = ["{bin:no-such-binary}", "--port", "{port}"]
        [[request]]
        name = "r"
        path = "/"
        [scenario.s]
        load = { model = "closed", users = 1 }
        duration = "1s"
    "#,
    );
    let report = run(&dir, &s, "s");
    let err = report.outcome.as_ref().expect_err("must not start");
    assert!(err.contains("nobin.toml:3:21"), "{err}");
    assert!(err.contains("cannot build `{bin:no-such-binary}`"), "{err}");
    assert!(
        err.contains("no bin target named `no-such-binary`"),
        "{err}"
    );
}

fn pids_in(file: &std::path::Path) -> Vec<i32> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(|p| p.parse().unwrap())
        .collect()
}

/// A zombie (exited, waiting to be reaped) does not count as running.
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(") ")
            .is_some_and(|(_, r)| !r.starts_with('Z'))
    })
}

#[test]
fn a_daemon_that_escaped_the_process_group_is_stopped_with_its_target() {
    let dir = scratch("daemonised");
    let pids = dir.join("pids");
    // The started process stays; its daemon (setsid + second fork) serves the port.
    let s = spec(
        &dir,
        "daemonised",
        &target_spec(
            &format!(r#""--daemonize", "--pid-file", "{}""#, pids.display()),
            "",
            SHORT,
        ),
    );
    let report = run(&dir, &s, "s");
    let m = measured(&report);
    assert_eq!(
        m.verdict.status(),
        Status::Pass,
        "the daemon served the load"
    );
    let pids = pids_in(&pids);
    assert_eq!(pids.len(), 2, "the target and its daemon: {pids:?}");
    for pid in pids {
        assert!(!running(pid), "pid {pid} outlived the trial");
    }
}

#[test]
fn a_target_that_daemonises_and_exits_fails_and_its_daemon_is_stopped() {
    let dir = scratch("daemon-exits");
    let pids = dir.join("pids");
    let s = spec(
        &dir,
        "gone",
        &target_spec(
            &format!(
                r#""--daemonize", "--exit-after-daemonize", "--pid-file", "{}""#,
                pids.display()
            ),
            "",
            SHORT,
        ),
    );
    let report = run(&dir, &s, "s");
    let err = report.outcome.as_ref().expect_err("must not measure");
    assert!(
        err.contains("target exited before it was ready (exit status: 0; it left ")
            && err.contains("running (did it daemonise?)"),
        "{err}"
    );
    assert!(err.contains("run the service in the foreground"), "{err}");
    let pids = pids_in(&pids);
    assert_eq!(pids.len(), 2, "the target and its daemon: {pids:?}");
    for pid in pids {
        assert!(!running(pid), "pid {pid} outlived the trial");
    }
}

#[test]
fn a_missing_program_or_working_directory_is_a_located_error() {
    let dir = scratch("missing-program");
    let with = |command: &str, cwd: &str| {
        format!(
            "[target]\ncommand = [{command}]\n{cwd}\n[[request]]\nname = \"r\"\npath = \"/\"\n[scenario.s]\nload = {{ model = \"closed\", users = 1 }}\nduration = \"1s\"\n"
        )
    };
    let s = spec(
        &dir,
        "noprog",
        &with(r#""no-such-program-perfspec", "--port", "{port}""#, ""),
    );
    let err = run(&dir, &s, "s").outcome.expect_err("must not start");
    assert!(err.contains("noprog.toml:2:12"), "{err}");
    assert!(
        err.contains("cannot start `no-such-program-perfspec`: no such program on PATH"),
        "{err}"
    );
    let s = spec(&dir, "relprog", &with(r#""./bin/server""#, ""));
    let err = run(&dir, &s, "s").outcome.expect_err("must not start");
    assert!(err.contains("relprog.toml:2:12"), "{err}");
    assert!(err.contains("`./bin/server`: no such file"), "{err}");
    let s = spec(
        &dir,
        "nocwd",
        &with(r#""sleep", "30""#, r#"cwd = "no/such/folder""#),
    );
    let err = run(&dir, &s, "s").outcome.expect_err("must not start");
    assert!(err.contains("nocwd.toml:3:7"), "{err}");
    assert!(
        err.contains("the working directory") && err.contains("no/such/folder does not exist"),
        "{err}"
    );
    assert!(!err.contains("sleep"), "the program is not blamed: {err}");
}
