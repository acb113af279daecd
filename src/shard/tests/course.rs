//! Flows and chat turns through the shard file and the merge.

use super::{file, part};
use crate::measure::{Capacity, FlowMeasurement, Liveness, Measurement, Recovery, TurnMeasurement};
use crate::shard::merge::add_up;
use crate::shard::{MeasurementFile, combine};

/// Flow `name`: `ok` succeeded iterations of `ms` (plus `i` µs) each, `failed` failed.
fn flow(name: &str, ok: u64, failed: u64, ms: u64) -> FlowMeasurement {
    let mut f = FlowMeasurement::empty(name);
    for i in 0..ok {
        f.duration.record(ms * 1000 + i).unwrap();
    }
    (f.succeeded, f.failed) = (ok, failed);
    f
}

/// `part` with flow `crud` and chat turns 1 to `turns`, turn k of `n / (k + 1)` requests.
fn with_course(start: u64, n: u64, turns: u32) -> Measurement {
    let mut m = part(start, n, 5, 1);
    m.course.flows = vec![flow("crud", n / 10, 1, 40)];
    m.course.turns = (1..=turns)
        .map(|turn| TurnMeasurement {
            turn,
            measurement: part(start, n / u64::from(turn + 1), 3 * u64::from(turn), 0),
        })
        .collect();
    m
}

fn round_trip(m: &Measurement) -> Measurement {
    let text = serde_json::to_string(&MeasurementFile::of(m)).unwrap();
    let back: MeasurementFile = serde_json::from_str(&text).unwrap();
    back.measurement().unwrap()
}

#[test]
fn flows_and_turns_survive_the_file_form_exactly() {
    let m = with_course(1_800_000_000, 500, 2);
    let back = round_trip(&m);
    let (a, b) = (&m.course.flows[0], &back.course.flows[0]);
    assert_eq!((&b.name, b.succeeded, b.failed), (&a.name, 50, 1));
    assert_eq!(b.duration, a.duration, "the whole histogram");
    let p95 = |f: &FlowMeasurement| f.duration.value_at_quantile(0.95);
    assert_eq!(p95(b), p95(a));
    let turns: Vec<(u32, u64)> = back
        .course
        .turns
        .iter()
        .map(|t| (t.turn, t.measurement.requests[0].ok))
        .collect();
    assert_eq!(turns, [(1, 250), (2, 166)]);
    assert_eq!(
        back.turn(2).unwrap().measurement.requests[0].latency,
        m.turn(2).unwrap().measurement.requests[0].latency
    );
    // A measurement without them writes neither field: the file an older perfspec wrote,
    // which it can still read, and which reads back as no flows and no turns.
    let plain = serde_json::to_value(MeasurementFile::of(&part(1_800_000_000, 5, 5, 0))).unwrap();
    assert!(plain.get("flows").is_none() && plain.get("turns").is_none());
    let old: MeasurementFile = serde_json::from_value(plain).unwrap();
    let old = old.measurement().unwrap();
    assert!(old.course.flows.is_empty() && old.course.turns.is_empty());
}

#[test]
fn a_malformed_flow_or_turn_histogram_is_an_error_naming_the_file() {
    let (path, mut f) = file(1, 1);
    f.measurement = MeasurementFile::of(&with_course(1_800_000_000, 100, 2));
    f.measurement.flows[0].duration = "not a histogram".into();
    let e = combine(vec![(path.clone(), f)]).unwrap_err().to_string();
    assert!(
        e.starts_with("out/1-of-1.shard.json: flow `crud`, duration: not base64"),
        "{e}"
    );
    let (_, mut f) = file(1, 1);
    f.measurement = MeasurementFile::of(&with_course(1_800_000_000, 100, 2));
    f.measurement.turns[1].measurement.requests[0].latency = "AAAA".into();
    let e = combine(vec![(path, f)]).unwrap_err().to_string();
    assert!(
        e.starts_with("out/1-of-1.shard.json: turn 2: request `r`, latency: "),
        "{e}"
    );
}

#[test]
fn flows_add_up_by_name_and_turns_turn_by_turn() {
    let mut a = with_course(1_800_000_000, 300, 2);
    let mut b = with_course(1_800_000_001, 200, 1);
    b.course.flows.push(flow("browse", 7, 0, 9));
    let mut both = a.course.flows[0].duration.clone();
    both.add(&b.course.flows[0].duration).unwrap();
    let turn1 = a.turn(1).unwrap().measurement.requests[0].ok
        + b.turn(1).unwrap().measurement.requests[0].ok;
    // Through the file form, as `combine` reads shards.
    let (a_file, b_file) = (round_trip(&a), round_trip(&b));
    let m = add_up(vec![a_file, b_file], None);
    let flows: Vec<(&str, u64, u64)> = m
        .course
        .flows
        .iter()
        .map(|f| (f.name.as_str(), f.succeeded, f.failed))
        .collect();
    assert_eq!(flows, [("crud", 50, 2), ("browse", 7, 0)]);
    assert_eq!(m.course.flows[0].duration, both, "HDR addition is exact");
    assert_eq!(
        m.flow(None).unwrap().iterations(),
        59,
        "every flow together"
    );
    let turns: Vec<(u32, u64)> = m
        .course
        .turns
        .iter()
        .map(|t| (t.turn, t.measurement.requests[0].ok))
        .collect();
    assert_eq!(
        turns,
        [(1, turn1), (2, 100)],
        "turn 2 from the part that reached it"
    );
    // The first part's recovery and capacity search are not the total's; the target is
    // alive when the part that watched it (not the first) saw it alive.
    a.course.recovery = Some(Recovery {
        after: "stress".into(),
        after_end_s: 1.0,
        p95_limit_us: None,
        error_rate_limit: None,
        recovered_at_s: Some(2.0),
        windows: 1,
        thin: 0,
        undecided: None,
    });
    a.course.capacity = Some(Capacity {
        users: true,
        held: Some(4.0),
        value: None,
        failed: None,
        lower_bound: None,
        steps: vec![],
    });
    b.course.alive = Some(Liveness::Alive);
    let m = add_up(vec![a.clone(), b.clone()], None);
    assert!(m.course.recovery.is_none() && m.course.capacity.is_none());
    assert_eq!(m.course.alive, Some(Liveness::Alive));
    a.course.alive = Some(Liveness::Exited("gone".into()));
    let m = add_up(vec![a, b], None);
    assert_eq!(m.course.alive, Some(Liveness::Exited("gone".into())));
}
