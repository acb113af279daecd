//! No process outlives a run, however it ends: the real perf harness is interrupted (SIGINT,
//! SIGTERM), killed (SIGKILL, mid-run and while the target is getting ready), or loses its
//! parent (SIGTERM to `cargo test` alone), while its target, a child of the target in its
//! process group and a daemon that left it (setsid and a second fork) run. Afterwards none of
//! them is left, the harness and its keeper process included: the test counts them.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::{perf_binary, scratch};

fn cargo() -> Command {
    let mut c = perfspec::cargo::command();
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
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

/// One run of the harness with a target that forks a child and a daemon.
struct Run {
    dir: PathBuf,
    pids: PathBuf,
    /// Appears in the command line of the harness, its keeper and the target.
    marker: String,
    child: Child,
}

impl Run {
    /// Starts the harness on spec `hyg`, through cargo when `via_cargo`. `target` adds
    /// arguments of testkit-target, `ready_timeout` bounds its readiness.
    fn start(name: &str, target: &str, ready_timeout: &str, via_cargo: bool) -> Run {
        let dir = scratch(name);
        let pids = dir.join("pids");
        let marker = dir.display().to_string();
        let specs = dir.join("specs");
        std::fs::create_dir_all(&specs).unwrap();
        std::fs::write(
            specs.join("hyg.toml"),
            format!(
                "[target]\ncommand = [\"{{bin:testkit-target}}\", \"--port\", \"{{port}}\", \"--fork-daemon\", \"--daemonize\", \"--log-requests\", {target} \"--pid-file\", \"{}\"]\nready = \"/health\"\nready-timeout = \"{ready_timeout}\"\nstop-timeout = \"1s\"\n[[request]]\nname = \"r\"\npath = \"/\"\n[scenario.long]\nload = {{ model = \"closed\", users = 1, think-time = \"50ms\" }}\nduration = \"60s\"\nassert = [\"errors == 0\"]\n",
                pids.display()
            ),
        )
        .unwrap();
        // `--skip MARKER` skips nothing; it puts the marker in the harness's command line.
        let args = ["--exact", "hyg::long", "--skip", &marker];
        let mut command = if via_cargo {
            let mut c = cargo();
            c.args(["test", "--workspace", "--quiet", "--test", "perf", "--"])
                .args(args);
            c
        } else {
            let mut c = Command::new(perf_binary());
            c.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
            c
        };
        let child = command
            .env("PERFSPEC_SPECS", &specs)
            .env("PERFSPEC_OUT", dir.join("out"))
            .stdout(std::fs::File::create(dir.join("stdout")).unwrap())
            .stderr(std::fs::File::create(dir.join("stderr")).unwrap())
            .stdin(Stdio::null())
            .spawn()
            .expect("start the perf harness");
        Run {
            dir,
            pids,
            marker,
            child,
        }
    }

    /// The pids the target wrote: itself, its child, its daemon.
    fn pids(&self) -> Vec<i32> {
        std::fs::read_to_string(&self.pids)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.parse().ok())
            .collect()
    }

    /// Running processes of this run: those whose command line holds the marker (the
    /// harness, its keeper, cargo, the target and its daemon) and the pids written.
    fn count(&self) -> usize {
        let mut found: Vec<i32> = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&self.marker))
            })
            .filter(|&pid| running(pid))
            .collect();
        found.extend(self.pids().into_iter().filter(|&p| running(p)));
        found.sort_unstable();
        found.dedup();
        found.len()
    }

    /// Waits until the target, its child and its daemon run, and (with `served`) load
    /// reached the daemon. Building testkit-target may take a while.
    fn wait_until_running(&mut self, served: bool) {
        let deadline = Instant::now() + Duration::from_secs(180);
        let log = self.dir.join("out/logs/hyg/long.log");
        loop {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            if self.pids().len() == 3 && (!served || log.contains("testkit-target: served /")) {
                return;
            }
            assert!(Instant::now() < deadline, "the target never started");
            assert!(
                self.child.try_wait().unwrap().is_none(),
                "the harness ended early: {}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, signal: i32) {
        // SAFETY: signalling the process this test started.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    fn wait(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "it did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (bounded) for every process of the run to be gone; returns how many are left.
    fn survivors(&self, within: Duration) -> usize {
        let deadline = Instant::now() + within;
        while self.count() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.count()
    }

    fn output(&self) -> String {
        let read = |f| std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
        format!("{}{}", read("stdout"), read("stderr"))
    }
}

/// The harness, its keeper, the target, the target's child and its daemon.
const PROCESSES: usize = 5;

fn interrupted_run_leaves_nothing(signal: i32, name: &str, said: &str) {
    let mut run = Run::start(name, "", "30s", false);
    run.wait_until_running(true);
    assert_eq!(run.count(), PROCESSES, "what runs before");
    run.signal(signal);
    let status = run.wait(Duration::from_secs(20));
    assert_eq!(
        status.code(),
        Some(128 + signal),
        "exit status after signal {signal}"
    );
    assert_eq!(
        run.survivors(Duration::from_secs(5)),
        0,
        "processes left after signal {signal}"
    );
    // The trial says it was interrupted, not that its target died.
    let out = run.output();
    assert!(
        out.contains(&format!("{said}: perfspec stopped the load and the target")),
        "{out}"
    );
    assert!(!out.contains("target exited during the run"), "{out}");
    let result = std::fs::read_to_string(run.dir.join("out/results/hyg/long.json")).unwrap();
    assert!(result.contains(said), "{result}");
    assert!(
        run.dir.join("out/junit.xml").is_file(),
        "the reports were written"
    );
}

#[test]
fn ctrl_c_tears_every_target_down() {
    interrupted_run_leaves_nothing(
        libc::SIGINT,
        "hygiene-int",
        "interrupted by Ctrl-C (SIGINT)",
    );
}

#[test]
fn sigterm_tears_every_target_down() {
    interrupted_run_leaves_nothing(libc::SIGTERM, "hygiene-term", "interrupted by SIGTERM");
}

fn killed_harness_leaves_nothing(name: &str, ready_timeout: &str, target: &str) {
    let mut run = Run::start(name, target, ready_timeout, false);
    run.wait_until_running(target.is_empty());
    assert_eq!(run.count(), PROCESSES, "what runs before");
    run.signal(libc::SIGKILL);
    let status = run.wait(Duration::from_secs(5));
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    // The keeper notices, and stops everything with the target's stop-timeout (1 s).
    assert_eq!(
        run.survivors(Duration::from_secs(10)),
        0,
        "processes left after SIGKILL to the harness"
    );
}

#[test]
fn sigkill_to_the_harness_mid_run_leaves_nothing() {
    killed_harness_leaves_nothing("hygiene-kill", "30s", "");
}

#[test]
fn sigkill_to_the_harness_during_readiness_leaves_nothing() {
    // /health answers 503: the harness is still waiting for readiness when it is killed.
    killed_harness_leaves_nothing("hygiene-kill-ready", "120s", r#""--health", "503","#);
}

#[test]
fn sigterm_to_cargo_alone_leaves_nothing() {
    let mut run = Run::start("hygiene-cargo", "", "30s", true);
    run.wait_until_running(true);
    // cargo, the harness, its keeper, the target, its child and its daemon.
    assert_eq!(run.count(), PROCESSES + 1, "what runs before");
    run.signal(libc::SIGTERM);
    run.wait(Duration::from_secs(10));
    assert_eq!(
        run.survivors(Duration::from_secs(20)),
        0,
        "processes left after SIGTERM to cargo: {}",
        run.output()
    );
    let out = run.output();
    assert!(
        out.contains("the process that started the tests (pid"),
        "the harness said why it stopped: {out}"
    );
}
