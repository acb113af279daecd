//! Files the tool writes are whole or absent: two runs at once into the same folder never
//! leave a half-written or interleaved file, nor temporaries.

mod common;

use common::{scratch, spec};
use perfspec::Harness;
use testkit::{Server, text};

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
