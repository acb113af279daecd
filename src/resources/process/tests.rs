use super::*;

#[test]
fn follows_descendants_as_they_come_and_go() {
    // A shell that starts a child after a moment: the tree grows, then shrinks.
    use std::os::unix::process::CommandExt;
    let mut child = std::process::Command::new("sh")
        .args(["-c", "sleep 0.3; sleep 30 & wait"])
        .process_group(0)
        .spawn()
        .unwrap();
    let mut tree = ProcessTree::target(&[child.id()]).unwrap();
    let mut out = Readings::default();
    tree.sample(&mut out);
    let rss = out.values().find(|v| v.1 == Quantity::Rss).map(|v| v.2);
    assert!(rss.is_some_and(|r| r > 0.0), "{rss:?}");
    assert!(
        out.values().all(|v| v.1 != Quantity::Cpu),
        "no CPU reading without a previous one"
    );
    std::thread::sleep(Duration::from_millis(600));
    tree.last_scan = None; // force the scan a 2 s schedule would do later
    out.clear();
    tree.sample(&mut out);
    let processes = out
        .values()
        .find(|v| v.1 == Quantity::Processes)
        .map(|v| v.2);
    assert!(
        processes >= Some(2.0),
        "the sleep child was found: {processes:?}"
    );
    assert!(out.values().any(|v| v.1 == Quantity::Cpu));
    assert!(out.sut_pids().len() >= 2);
    // SAFETY: kill(2) on the group this test created.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
    let _ = child.wait();
}

#[test]
fn finds_url_targets_by_pid_and_pid_file() {
    let me = std::process::id();
    let url = |how| {
        Target::Url(crate::spec::UrlTarget {
            host: "127.0.0.1".into(),
            port: 1,
            base_path: String::new(),
            allow_remote: false,
            ready: crate::spec::Readiness {
                path: None,
                timeout: Duration::from_secs(1),
            },
            process: how,
            protocol: Default::default(),
            metrics: None,
        })
    };
    assert_eq!(
        find_target(&url(Some(ProcessRef::Pid(me))), None),
        Ok(Some(vec![me]))
    );
    assert_eq!(find_target(&url(None), None), Ok(None));
    let file = std::env::temp_dir().join(format!("perfspec-pidfile-{me}"));
    std::fs::write(&file, format!("{me}\n")).unwrap();
    assert_eq!(
        find_target(&url(Some(ProcessRef::PidFile(file.clone()))), None),
        Ok(Some(vec![me]))
    );
    std::fs::write(&file, "not a pid\n").unwrap();
    let e = find_target(&url(Some(ProcessRef::PidFile(file.clone()))), None).unwrap_err();
    assert!(e.contains("does not start with a process id"), "{e}");
    let _ = std::fs::remove_file(file);
    let e = find_target(
        &url(Some(ProcessRef::Name("no-such-process-x".into()))),
        None,
    )
    .unwrap_err();
    assert!(e.contains("no running process"), "{e}");
}

#[test]
fn reads_another_process_cpu_clock_in_nanoseconds() {
    let mut child = std::process::Command::new("sh")
        .args([
            "-c",
            "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 30",
        ])
        .spawn()
        .unwrap();
    let pid = child.id();
    let start = std::time::Instant::now();
    let mut last = 0;
    while start.elapsed() < Duration::from_secs(20) {
        last = process_cpu_ns(pid).expect("a child's CPU clock is readable");
        if last > 1_000_000 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(last > 1_000_000, "the shell's loop used CPU: {last} ns");
    assert_eq!(process_cpu_ns(u32::MAX), None);
}

#[test]
fn counts_threads() {
    assert!(thread_count(std::process::id()).is_some_and(|n| n >= 1));
}
