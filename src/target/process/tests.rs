use super::*;

fn running(pid: i32) -> bool {
    // A zombie (exited, not yet reaped by whoever inherited it) does not run.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(") ")
            .is_some_and(|(_, r)| !r.starts_with('Z'))
    })
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("perfspec-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn spawn_sh(dir: &Path, script: &str, stop: Duration) -> Process {
    let log = dir.join("target.log");
    let argv = ["sh", "-c", script].map(String::from);
    Process::spawn(&argv, &[], dir, create_log(&log).unwrap(), &log, stop).unwrap()
}

/// Waits (bounded) until `path` holds `n` pids, and returns them.
fn pids(path: &Path, n: usize) -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found: Vec<i32> = std::fs::read_to_string(path)
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        if found.len() >= n {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "{} never held {n} pids",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_panic_while_the_target_runs_still_tears_its_tree_down() {
    let dir = scratch("panic");
    let file = dir.join("pids");
    let script = format!(
        "sleep 300 & echo $! >> {0}; echo $$ >> {0}; wait",
        file.display()
    );
    let outcome = std::thread::spawn({
        let dir = dir.clone();
        move || {
            let _p = spawn_sh(&dir, &script, Duration::from_millis(200));
            pids(&dir.join("pids"), 2);
            panic!("the trial panics while its target runs");
        }
    })
    .join();
    assert!(outcome.is_err(), "the thread panicked");
    for pid in pids(&file, 2) {
        assert!(!running(pid), "pid {pid} outlived the panic");
    }
}

#[test]
fn a_daemon_in_a_session_of_its_own_is_stopped_too() {
    let dir = scratch("daemon");
    let file = dir.join("pids");
    // setsid -f: a new session (and process group), forked away from the shell.
    let script = format!(
        "setsid -f sh -c 'echo $$ >> {0}; exec sleep 300'; echo $$ >> {0}; exec sleep 300",
        file.display()
    );
    let mut p = spawn_sh(&dir, &script, Duration::from_millis(500));
    let all = pids(&file, 2);
    assert!(all.iter().all(|&pid| running(pid)));
    assert!(p.exited().is_none());
    let t = Instant::now();
    assert!(!p.teardown(), "sleep stops on SIGTERM: no SIGKILL needed");
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "took {:?}",
        t.elapsed()
    );
    for pid in all {
        assert!(!running(pid), "pid {pid} outlived the teardown");
    }
    assert_eq!(
        p.exited().and_then(|e| e.status).and_then(|s| s.signal()),
        Some(libc::SIGTERM)
    );
}

#[test]
fn a_target_that_daemonises_and_exits_reports_what_it_left() {
    let dir = scratch("left");
    let file = dir.join("pids");
    let script = format!(
        "setsid -f sh -c 'echo $$ >> {0}; trap \"\" TERM; while :; do sleep 1; done'; exit 0",
        file.display()
    );
    let mut p = spawn_sh(&dir, &script, Duration::from_millis(300));
    let daemon = pids(&file, 1)[0];
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(e) = p.exited() {
            break e;
        }
        assert!(Instant::now() < deadline, "the shell never exited");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(exit.status.and_then(|s| s.code()), Some(0));
    assert_eq!(exit.left, 1, "the daemon was left running");
    assert!(exit.left_note().contains("left 1 process running"));
    assert!(running(daemon));
    assert!(
        p.teardown(),
        "the daemon ignores SIGTERM: SIGKILL was needed"
    );
    assert!(!running(daemon), "the daemon outlived the teardown");
}

#[test]
fn a_program_that_cannot_be_executed_is_an_error_and_leaves_no_keeper() {
    let dir = scratch("noexec");
    let log = dir.join("t.log");
    let argv = ["/nonexistent/program".to_string()];
    let e = Process::spawn(
        &argv,
        &[],
        &dir,
        create_log(&log).unwrap(),
        &log,
        Duration::ZERO,
    )
    .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{e}");
}
