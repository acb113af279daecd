//! No process outlives a run: the real perf harness is interrupted (SIGINT, SIGTERM) while a
//! target and the daemon it forked are running, and afterwards none of them is left.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::scratch;

/// The perf test binary, built (or found up to date) by cargo.
fn perf_binary() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "test",
            "--quiet",
            "--test",
            "perf",
            "--no-run",
            "--message-format=json",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|m| m["target"]["name"] == "perf" && m["executable"].is_string())
        .map(|m| PathBuf::from(m["executable"].as_str().unwrap()))
        .expect("cargo reports the perf binary")
}

/// Whether a process runs (a zombie waiting to be reaped does not).
fn running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

/// Processes of this test: those whose command line names `marker`, and the pids in `pids`.
fn count(marker: &str, pids: &Path) -> usize {
    let listed: Vec<i32> = std::fs::read_to_string(pids)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect();
    let mut found: Vec<i32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(marker))
        })
        .filter(|&pid| running(pid))
        .collect();
    found.extend(listed.into_iter().filter(|&p| running(p)));
    found.sort_unstable();
    found.dedup();
    found.len()
}

fn start(dir: &Path, pids: &Path) -> Child {
    let specs = dir.join("specs");
    std::fs::create_dir_all(&specs).unwrap();
    std::fs::write(
        specs.join("hyg.toml"),
        format!(
            "[target]\ncommand = [\"{{bin:testkit-target}}\", \"--port\", \"{{port}}\", \"--fork-daemon\", \"--pid-file\", \"{}\"]\nready = \"/health\"\nstop-timeout = \"1s\"\n[[request]]\nname = \"r\"\npath = \"/\"\n[scenario.long]\nload = {{ model = \"closed\", users = 1, think-time = \"50ms\" }}\nduration = \"60s\"\n",
            pids.display()
        ),
    )
    .unwrap();
    Command::new(perf_binary())
        .args(["--exact", "hyg::long"])
        .env("PERFSPEC_SPECS", &specs)
        .env("PERFSPEC_OUT", dir.join("out"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .spawn()
        .expect("start the perf harness")
}

fn interrupted_run_leaves_nothing(signal: i32, name: &str) {
    let dir = scratch(name);
    let pids = dir.join("pids");
    let marker = dir.display().to_string();
    assert_eq!(count(&marker, &pids), 0, "nothing runs before");
    let mut harness = start(&dir, &pids);
    // Wait for the target and its daemon (building testkit-target may take a while).
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::fs::read_to_string(&pids).map_or(0, |p| p.lines().count()) < 2 {
        assert!(Instant::now() < deadline, "the target never started");
        assert!(
            harness.try_wait().unwrap().is_none(),
            "the harness ended early"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(count(&marker, &pids), 2, "the target and its daemon run");
    // SAFETY: signalling the harness this test started.
    unsafe { libc::kill(harness.id() as i32, signal) };
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = harness.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the harness did not stop after signal {signal}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        status.code(),
        Some(128 + signal),
        "exit status after signal {signal}"
    );
    // Orphans may take a moment to be reaped by init; they must not be running.
    let deadline = Instant::now() + Duration::from_secs(5);
    while count(&marker, &pids) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        count(&marker, &pids),
        0,
        "processes left after signal {signal}"
    );
}

#[test]
fn ctrl_c_tears_every_target_down() {
    interrupted_run_leaves_nothing(libc::SIGINT, "hygiene-int");
}

#[test]
fn sigterm_tears_every_target_down() {
    interrupted_run_leaves_nothing(libc::SIGTERM, "hygiene-term");
}
