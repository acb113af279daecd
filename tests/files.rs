//! Files the tool writes are whole or absent: two runs at once into the same folder never
//! leave a half-written or interleaved file, nor temporaries. A file that cannot be written
//! (a full disk, a read-only folder, a path under a regular file) fails the run and is named.

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};

use common::{perf_binary, scratch, spec};
use perfspec::Harness;
use testkit::{Server, text};

/// Runs the perf harness as its own process on spec `SPEC.toml` (in `dir/specs`), writing to
/// `out`; `setup` adjusts the command (limits, user).
fn harness(
    dir: &Path,
    spec: &str,
    text: &str,
    out: &Path,
    setup: impl FnOnce(&mut Command),
) -> Output {
    let specs = dir.join("specs");
    std::fs::create_dir_all(&specs).unwrap();
    std::fs::write(specs.join(format!("{spec}.toml")), text).unwrap();
    let mut command = Command::new(perf_binary());
    command
        .env("PERFSPEC_SPECS", &specs)
        .env("PERFSPEC_OUT", out)
        .env_remove("GITHUB_STEP_SUMMARY")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    setup(&mut command);
    command.output().expect("the harness runs")
}

fn all_output(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn url_spec(url: &str) -> String {
    format!(
        "[target]\nurl = \"{url}\"\n[[request]]\nname = \"r\"\npath = \"/\"\n[scenario.s]\nload = {{ model = \"closed\", users = 1 }}\nduration = \"300ms\"\nassert = [\"errors == 0\"]\n"
    )
}

/// A full disk, the honest way without privileges: the harness runs with a file size limit
/// (RLIMIT_FSIZE, SIGXFSZ ignored), so writing past it fails with EFBIG, as a write to a full
/// disk fails with ENOSPC. The limit lets the small result file through and stops the HTML
/// report: the trial passes, the run must not.
#[test]
fn a_report_that_cannot_be_written_fails_the_run_naming_the_file() {
    let server = Server::http(1, |_| async { text(200, "ok") });
    let dir = scratch("full-disk");
    let out = dir.join("out");
    const LIMIT: u64 = 12 * 1024;
    let o = harness(&dir, "full", &url_spec(&server.url()), &out, |c| {
        // SAFETY: setrlimit and signal are async-signal-safe.
        unsafe {
            c.pre_exec(|| {
                let lim = libc::rlimit {
                    rlim_cur: LIMIT,
                    rlim_max: LIMIT,
                };
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    });
    let text = all_output(&o);
    let result = std::fs::read_to_string(out.join("results/full/s.json"))
        .unwrap_or_else(|e| panic!("the result fits under {LIMIT} bytes ({e}):\n{text}"));
    assert!(result.ends_with("}\n"), "the result is whole");
    assert!(
        text.contains("1 passed"),
        "the trial itself passed:\n{text}"
    );
    let html = out.join("report.html");
    assert!(
        text.contains(&format!(
            "error: cannot write {}: File too large",
            html.display()
        )),
        "{text}"
    );
    assert!(!html.exists(), "no half-written report");
    assert!(text.contains("the run fails"), "{text}");
    assert_eq!(o.status.code(), Some(101), "{text}");
}

/// A read-only output folder: the target's log, the result and the reports are each named
/// with the path that could not be written. Root ignores folder permissions, so as root the
/// harness runs as `nobody`.
#[test]
fn a_read_only_output_folder_names_what_could_not_be_written() {
    let dir = scratch("read-only-out");
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::set_permissions(&out, std::os::unix::fs::PermissionsExt::from_mode(0o555)).unwrap();
    let spec = "[target]\ncommand = [\"sleep\", \"30\"]\n[[request]]\nname = \"r\"\npath = \"/\"\n[scenario.s]\nload = { model = \"closed\", users = 1 }\nduration = \"1s\"\n";
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let o = harness(&dir, "ro", spec, &out, |c| {
        if root {
            c.uid(65534).gid(65534);
        }
    });
    let text = all_output(&o);
    let log = out.join("logs/ro/s.log");
    assert!(
        text.contains(&format!(
            "cannot create the target's log {}: Permission denied",
            log.display()
        )),
        "{text}"
    );
    assert!(
        text.contains("make it writable or point PERFSPEC_OUT elsewhere"),
        "{text}"
    );
    assert!(!text.contains("could not start target"), "{text}");
    for file in ["results/ro/s.json", "junit.xml", "report.html"] {
        let path = out.join(file);
        assert!(
            text.contains(&format!(
                "cannot write {}: Permission denied",
                path.display()
            )),
            "{file}: {text}"
        );
    }
    assert_ne!(o.status.code(), Some(0), "{text}");
}

/// An output path under a regular file: nothing can be created there.
#[test]
fn an_output_path_under_a_regular_file_names_the_path() {
    let server = Server::http(1, |_| async { text(200, "ok") });
    let dir = scratch("out-under-file");
    std::fs::write(dir.join("file"), "a regular file").unwrap();
    let out = dir.join("file/out");
    let o = harness(&dir, "f", &url_spec(&server.url()), &out, |_| {});
    let text = all_output(&o);
    for file in [
        "results/f/s.json",
        "index.json",
        "summary.md",
        "junit.xml",
        "report.html",
    ] {
        let path = out.join(file);
        assert!(
            text.contains(&format!("cannot write {}: Not a directory", path.display())),
            "{file}: {text}"
        );
    }
    assert_eq!(o.status.code(), Some(101), "{text}");
}

#[test]
fn two_runs_at_once_do_not_corrupt_each_other() {
    let server = Server::http(1, |_| async { text(200, "ok") });
    let dir = scratch("concurrent-writes");
    let s = spec(
        &dir,
        "both",
        &format!(
            "[target]\nurl = \"{}\"\n[[request]]\nname = \"r\"\npath = \"/\"\n[scenario.s]\nload = {{ model = \"closed\", users = 1 }}\nduration = \"300ms\"\n",
            server.url()
        ),
    );
    let out = dir.join("out");
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..3 {
                    Harness::new().out_dir(&out).run_scenario(&s, "s").unwrap();
                }
            });
        }
    });
    let result = std::fs::read_to_string(out.join("results/both/s.json")).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&result).expect("the result is one whole JSON document");
    assert_eq!(v["schema"], "perfspec-result");
    let leftovers: Vec<_> = std::fs::read_dir(out.join("results/both"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n != "s.json")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn a_result_that_cannot_be_written_fails_its_trial_with_the_path() {
    let server = Server::http(1, |_| async { text(200, "ok") });
    let dir = scratch("unwritable");
    let s = spec(
        &dir,
        "w",
        &format!(
            "[target]\nurl = \"{}\"\n[[request]]\nname = \"r\"\npath = \"/\"\n[scenario.s]\nload = {{ model = \"closed\", users = 1 }}\nduration = \"300ms\"\n",
            server.url()
        ),
    );
    // `results` is a file, so `results/w/s.json` cannot be created (whoever runs the test).
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("results"), "not a folder").unwrap();
    let report = Harness::new().out_dir(&out).run_scenario(&s, "s").unwrap();
    let m = report.outcome.as_ref().expect("measured");
    assert_eq!(m.verdict.status(), perfspec::compare::Status::Fail);
    assert!(
        m.verdict
            .problems()
            .iter()
            .any(|p| p.contains("results/w/s.json")),
        "{:?}",
        m.verdict.problems()
    );
}
