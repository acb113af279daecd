use std::time::Duration;

use super::*;
use crate::measure::{RequestStats, Second};

fn scenario(load: &str, asserts: &[&str]) -> Scenario {
    let text = format!(
        "[target]\nurl = \"http://127.0.0.1:1\"\n[[request]]\nname = \"r\"\npath = \"/\"\n[scenario.s]\nload = {load}\nduration = \"10s\"\nassert = {asserts:?}\n"
    );
    crate::spec::Spec::parse(&text, std::path::Path::new("x.toml"), &Default::default())
        .unwrap()
        .scenarios
        .remove(0)
}

fn closed(asserts: &[&str]) -> Scenario {
    scenario(r#"{ model = "closed", users = 4 }"#, asserts)
}

/// A run of `window` seconds: second `t` has `n` requests of 2 ms and the slow ones given.
fn run(window: f64, seconds: &[(u64, &[u64])]) -> Measurement {
    let mut total = RequestStats::new("r", false);
    let mut timeline = Vec::new();
    for (t, (n, slow)) in seconds.iter().enumerate() {
        let mut sec = Second::empty(t as i64, 1);
        let s = &mut sec.requests[0];
        for us in std::iter::repeat_n(2_000, *n as usize).chain(slow.iter().copied()) {
            total.latency.record(us).unwrap();
            total.ok += 1;
            s.latency.record(us).unwrap();
            s.ok += 1;
        }
        timeline.push(sec);
    }
    Measurement {
        window: Duration::from_secs_f64(window),
        requests: vec![total],
        timeline,
        ..Measurement::empty()
    }
}

/// Ten seconds of 1,000 requests, with `stall` at second 5.
fn ten(stall: (u64, &[u64])) -> Measurement {
    let mut secs: Vec<(u64, &[u64])> = vec![(1000, &[]); 10];
    secs[5] = stall;
    run(10.0, &secs)
}

const FROZEN: &[u64] = &[510_000, 505_000, 500_000, 498_000];

#[test]
fn a_freeze_in_a_closed_run_is_a_doubt_pointing_to_the_open_model() {
    let d = closed_stall(
        &closed(&["p95 < 100ms", "p99 < 100ms"]),
        &ten((500, FROZEN)),
    )
    .expect("a stall");
    assert!(!d.masks_failures, "failed checks stand");
    for part in [
        "the closed model may hide a stall",
        "the slowest request took 510.2 ms (255x p99 of 2.0 ms",
        "above the limit of 100.0 ms",
        "fell to 50.4% of its median second in 1 of 10 seconds",
        "open model",
    ] {
        assert!(d.reason.contains(part), "{part}: {}", d.reason);
    }
}

#[test]
fn a_dip_without_slow_requests_is_no_stall() {
    // The service was not slow; fewer requests arrived (think time, the machine).
    assert_eq!(
        closed_stall(&closed(&["p99 < 100ms"]), &ten((500, &[]))),
        None
    );
}

#[test]
fn a_slow_outlier_without_a_dip_is_no_stall() {
    assert_eq!(
        closed_stall(&closed(&["p99 < 100ms"]), &ten((1000, FROZEN))),
        None
    );
}

#[test]
fn a_tail_within_the_limits_is_no_stall() {
    assert_eq!(
        closed_stall(&closed(&["p99 < 1s"]), &ten((500, FROZEN))),
        None
    );
    // Without a latency limit the tail must reach 50 ms and 5x p99.
    assert!(closed_stall(&closed(&[]), &ten((500, FROZEN))).is_some());
    assert_eq!(closed_stall(&closed(&[]), &ten((500, &[30_000; 4]))), None);
}

#[test]
fn the_open_model_measures_stalls_itself() {
    let open = scenario(r#"{ model = "open", rate = "100/s" }"#, &["p99 < 100ms"]);
    assert_eq!(closed_stall(&open, &ten((500, FROZEN))), None);
}

#[test]
fn ramp_up_and_a_partial_last_second_are_not_dips() {
    let ramping = scenario(
        r#"{ model = "closed", users = 4, ramp-up = "3s" }"#,
        &["p99 < 100ms"],
    );
    let mut secs: Vec<(u64, &[u64])> = vec![(1000, &[]); 10];
    secs[1] = (500, FROZEN);
    assert_eq!(
        closed_stall(&ramping, &run(10.0, &secs)),
        None,
        "second 1 is ramp-up"
    );
    assert!(closed_stall(&closed(&["p99 < 100ms"]), &run(10.0, &secs)).is_some());
    let mut secs: Vec<(u64, &[u64])> = vec![(1000, &[]); 10];
    secs[9] = (500, FROZEN);
    assert_eq!(
        closed_stall(&closed(&["p99 < 100ms"]), &run(9.5, &secs)),
        None,
        "second 9 is cut short by the end of the run"
    );
}

#[test]
fn too_short_a_run_says_nothing() {
    let secs: Vec<(u64, &[u64])> = vec![(1000, &[]), (500, FROZEN)];
    assert_eq!(
        closed_stall(&closed(&["p99 < 100ms"]), &run(2.0, &secs)),
        None
    );
}

#[test]
fn a_machine_busy_to_the_last_core_is_named_as_a_possible_cause() {
    use crate::resources::{Entity, GpuStatus, Point, Quantity, Resources, SamplingCost};
    let scenario = closed(&["p99 < 100ms"]);
    let with_cpu = |percent: f64| {
        let mut m = ten((500, FROZEN));
        let points = (0..=10)
            .map(|t| Point {
                t: f64::from(t),
                v: percent,
            })
            .collect();
        m.resources = Some(Resources {
            interval: Duration::from_secs(1),
            window: m.window,
            entities: vec![Entity {
                name: "system".into(),
                series: [(Quantity::Cpu, points)].into(),
            }],
            cost: SamplingCost {
                samples: 11,
                cpu: Duration::ZERO,
                wall: Duration::from_secs(10),
            },
            gpu: GpuStatus::Devices(0),
            cpus: 2,
            sut: None,
            counters: None,
        });
        closed_stall(&scenario, &m).expect("a stall").reason
    };
    assert!(
        with_cpu(100.0).contains("the machine's CPU reached 100.0% during the run"),
        "{}",
        with_cpu(100.0)
    );
    assert!(!with_cpu(40.0).contains("the machine's CPU"));
}
