//! The verdict and its doubts, from hand-made checks and measurements.

use super::*;
use crate::assertion::Assertion;
use crate::gate::Decision;

fn check(text: &str, outcome: Outcome) -> Check {
    Check {
        assertion: Assertion::parse(text, &[]).unwrap(),
        observed: Some(1.0),
        samples: 1000,
        outcome,
        note: None,
    }
}

fn doubt(masks_failures: bool) -> Doubt {
    Doubt {
        reason: "why".into(),
        masks_failures,
    }
}

#[test]
fn statuses_combine_in_order() {
    let pass = || check("p50 < 1s", Outcome::Pass);
    let fail = || check("p50 < 1ms", Outcome::Fail);
    let thin = || check("p99 < 1s", Outcome::Inconclusive("few".into()));
    let status =
        |checks, problems: Vec<String>, doubts| Verdict::new(checks, problems, doubts).status();
    assert_eq!(status(vec![pass()], vec![], vec![]), Status::Pass);
    assert_eq!(
        status(vec![pass(), thin()], vec![], vec![]),
        Status::Inconclusive
    );
    assert_eq!(
        status(vec![fail(), thin()], vec![], vec![]),
        Status::Fail,
        "a real failure beats an undecided check"
    );
    assert_eq!(
        status(vec![fail()], vec![], vec![doubt(false)]),
        Status::Fail,
        "drops hide slow requests: failures stand"
    );
    assert_eq!(
        status(vec![pass()], vec![], vec![doubt(false)]),
        Status::Inconclusive,
        "…but a pass cannot be trusted"
    );
    assert_eq!(
        status(vec![fail()], vec![], vec![doubt(true)]),
        Status::Inconclusive,
        "a saturated generator may cause its own failures"
    );
    assert_eq!(
        status(vec![pass()], vec!["crashed".into()], vec![doubt(true)]),
        Status::Fail,
        "problems fail whatever else"
    );
}

fn gate(decision: Decision, problems: Vec<String>) -> GateOutcome {
    use crate::gate::{Change, Comparison, Source};
    GateOutcome::Compared {
        source: Source::Ab {
            base: "main".into(),
            control: false,
        },
        latency: None,
        binding: true,
        changes: vec![Change {
            metric: "p95".into(),
            unit: crate::assertion::Unit::Micros,
            compared: Some(Comparison {
                base: 100.0,
                head: 120.0,
                change: 0.2,
                interval: (0.15, 0.25),
                decision,
                worse: 0.2,
                runs: (3, 3),
                paired: true,
                needed: None,
            }),
            note: None,
        }],
        problems,
    }
}

#[test]
fn the_gate_decides_inside_the_verdict() {
    let pass = || check("p50 < 1s", Outcome::Pass);
    let build = |g| Verdict::build(vec![pass()], vec![], vec![], Some(g));
    assert_eq!(
        build(gate(Decision::Regressed, vec![])).status(),
        Status::Fail
    );
    assert_eq!(build(gate(Decision::Pass, vec![])).status(), Status::Pass);
    let undecided = build(gate(Decision::Inconclusive, vec![]));
    assert_eq!(
        undecided.status(),
        Status::Inconclusive,
        "undecided is shown"
    );
    let text = "[target]\nurl = \"http://127.0.0.1:1\"\n[[request]]\nname = \"r\"\npath = \"/\"\n[scenario.s]\nload = { model = \"closed\", users = 1 }\nduration = \"1s\"\n";
    let spec = crate::spec::Spec::parse(text, std::path::Path::new("x.toml"), &Default::default())
        .unwrap();
    let mut scenario = spec.scenarios[0].clone();
    assert!(
        undecided.passes(&scenario),
        "regression.inconclusive = \"pass\" by default"
    );
    scenario.regression.inconclusive = Inconclusive::Fail;
    assert!(!undecided.passes(&scenario));
}

/// A confirmation run or an A/B round that could not measure is a problem of the gate: the
/// trial fails whatever the metrics said, and rebuilding keeps it failed.
#[test]
fn a_round_that_cannot_measure_fails_the_trial_by_construction() {
    let pass = || check("p50 < 1s", Outcome::Pass);
    for decision in [Decision::Pass, Decision::Regressed, Decision::Inconclusive] {
        let g = gate(
            decision,
            vec!["A/B round 2: the base run could not measure: target not ready".into()],
        );
        let v = Verdict::new(vec![pass()], vec![], vec![]).with_gate(g.clone());
        assert_eq!(v.status(), Status::Fail, "{decision:?}");
        assert_eq!(v.problems().len(), 1);
        let v = v.with_problem("result not written".into());
        assert_eq!((v.status(), v.problems().len()), (Status::Fail, 2));
        // Replacing the gate's outcome does not keep the old gate's problems.
        let v = v.with_gate(gate(Decision::Pass, vec![]));
        assert_eq!(v.problems(), ["result not written".to_string()]);
    }
}

#[test]
fn max_lateness_follows_the_tightest_latency_limit() {
    let scenario = |asserts: &[&str]| {
        let text = format!(
            "[target]\nurl = \"http://127.0.0.1:1\"\n[[request]]\nname = \"r\"\npath = \"/\"\n[scenario.s]\nload = {{ model = \"open\", rate = \"10/s\" }}\nduration = \"1s\"\nassert = {asserts:?}\n"
        );
        crate::spec::Spec::parse(&text, std::path::Path::new("x.toml"), &Default::default())
            .unwrap()
            .scenarios
            .remove(0)
    };
    assert_eq!(
        max_lateness(&scenario(&["p99 < 300ms", "p50 < 50ms", "error-rate < 1%"])),
        Duration::from_millis(5)
    );
    assert_eq!(
        max_lateness(&scenario(&["p99 < 2ms"])),
        Duration::from_millis(1),
        "at least 1 ms"
    );
    assert_eq!(
        max_lateness(&scenario(&["throughput > 5/s"])),
        Duration::from_millis(10)
    );
}
