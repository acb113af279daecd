use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::file::{MeasurementFile, SCHEMA, ShardFile, VERSION};
use super::merge::add_up;
use super::*;
use crate::measure::{ErrorKind, Generator, Measurement, RequestStats, Second, SecondStats};

// Flows and chat turns in the shard file and the merge.
mod course;

#[test]
fn shards_parse_and_say_what_is_valid() {
    assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 2, count: 4 }));
    assert_eq!(Shard::parse(" 1 / 1 "), Ok(Shard { index: 1, count: 1 }));
    for bad in ["0/4", "5/4", "2", "a/b", "2/0", "-1/3", ""] {
        let e = Shard::parse(bad).unwrap_err();
        assert!(e.contains("K/N") && e.contains(bad), "{bad}: {e}");
    }
    assert!(Shard::parse("1/20000").unwrap_err().contains("at most"));
}

#[test]
fn shares_partition_the_users_and_differ_by_at_most_one() {
    for n in 1..=7u32 {
        for total in 0..60u64 {
            let shards: Vec<Shard> = (1..=n).map(|k| Shard { index: k, count: n }).collect();
            let shares: Vec<u64> = shards.iter().map(|s| s.share(total)).collect();
            assert_eq!(shares.iter().sum::<u64>(), total, "{n} shards of {total}");
            let (lo, hi) = (shares.iter().min().unwrap(), shares.iter().max().unwrap());
            assert!(hi - lo <= 1, "{shares:?}");
            for i in 0..total {
                let owners = shards.iter().filter(|s| s.takes(i)).count();
                assert_eq!(owners, 1, "item {i} of {n} shards");
            }
            for s in &shards {
                assert_eq!(
                    (0..total).filter(|&i| s.takes(i)).count() as u64,
                    s.share(total)
                );
            }
        }
    }
}

#[test]
fn settings_errors_name_the_variable() {
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let run =
        |s: Option<&str>, t: Option<&str>, r: Option<&str>| ShardRun::from_values(s, t, r, now);
    assert_eq!(run(None, None, None), None);
    let ok = run(Some("3/4"), Some("1800000030"), Some("2"))
        .unwrap()
        .unwrap();
    assert_eq!(ok.shard, Shard { index: 3, count: 4 });
    assert_eq!(ok.start_at, Some(now + Duration::from_secs(30)));
    assert!(!ok.samples_target());
    assert!(
        run(Some("1/4"), None, None)
            .unwrap()
            .unwrap()
            .samples_target()
    );
    let err = |s, t, r| run(s, t, r).unwrap().unwrap_err();
    assert!(err(Some("4"), None, None).starts_with("PERFSPEC_SHARD: "));
    assert!(err(Some("1/2"), Some("soon"), None).starts_with("PERFSPEC_START_AT: "));
    assert!(err(Some("1/2"), None, Some("3")).contains("from 1 to 2"));
    assert!(err(None, Some("1800000030"), None).contains("need a shard"));
}

#[test]
fn start_times_are_rfc3339_or_unix_seconds_and_bounded() {
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let at = |s| parse_start(s, now);
    let in_a_minute = now + Duration::from_secs(60);
    assert_eq!(at("1800000060"), Ok(in_a_minute));
    assert_eq!(at("2027-01-15T08:01:00Z"), Ok(in_a_minute));
    assert_eq!(at("2027-01-15T09:01:00+01:00"), Ok(in_a_minute));
    assert_eq!(
        at("2027-01-15T08:01:00.5Z"),
        Ok(in_a_minute + Duration::from_millis(500))
    );
    assert_eq!(
        at("1799999998"),
        Ok(now - Duration::from_secs(2)),
        "a little late is fine"
    );
    assert!(
        at("1800000700")
            .unwrap_err()
            .contains("more than the 600 s")
    );
    assert!(at("1799999000").unwrap_err().contains("ago"));
    assert!(at("next tuesday").unwrap_err().contains("RFC 3339"));
    assert!(at("-5").unwrap_err().contains("positive"));
    assert_eq!(
        start_text(in_a_minute + Duration::from_millis(500)),
        "2027-01-15T08:01:00.500Z"
    );
}

/// A measurement of `n` requests of `ms` each, started at `start` s after the epoch.
fn part(start: u64, n: u64, ms: u64, errors: u64) -> Measurement {
    let mut r = RequestStats::new("r", true);
    let mut second = SecondStats::new();
    for i in 0..n {
        r.latency.record(ms * 1000 + i).unwrap();
        r.service.as_mut().unwrap().record(ms * 900).unwrap();
        second.latency.record(ms * 1000).unwrap();
    }
    r.ok = n;
    second.ok = n;
    second.errors = errors;
    r.errors = BTreeMap::from([(ErrorKind::Http5xx, errors)]);
    r.refusals.statuses = BTreeMap::from([(503, errors)]);
    r.stages
        .insert("db".into(), crate::measure::new_histogram());
    Measurement {
        started_at: UNIX_EPOCH + Duration::from_secs(start),
        warmup: Duration::from_secs(1),
        window: Duration::from_secs(2),
        requests: vec![r],
        timeline: vec![
            Second {
                t: 0,
                requests: vec![second.clone()],
                dropped: 1,
            },
            Second {
                t: 1,
                requests: vec![second],
                dropped: 0,
            },
        ],
        interrupted: 1,
        generator: Generator {
            requested: Some(n + 1),
            sent: n,
            dropped: 1,
            threads: 2,
            cpu: Some(0.5),
            ..Generator::default()
        },
        resources: None,
        course: Default::default(),
        metrics: None,
    }
}

#[test]
fn a_measurement_survives_its_file_form_exactly() {
    let m = part(1_800_000_000, 500, 7, 3);
    let text = serde_json::to_string(&MeasurementFile::of(&m)).unwrap();
    let back: MeasurementFile = serde_json::from_str(&text).unwrap();
    let back = back.measurement().unwrap();
    assert_eq!(back.started_at, m.started_at);
    assert_eq!((back.warmup, back.window), (m.warmup, m.window));
    let (a, b) = (&m.requests[0], &back.requests[0]);
    assert_eq!(a.latency, b.latency);
    assert_eq!(a.service, b.service);
    assert_eq!(
        (a.ok, &a.errors, &a.refusals.statuses),
        (b.ok, &b.errors, &b.refusals.statuses)
    );
    assert_eq!(b.stages.keys().collect::<Vec<_>>(), ["db"]);
    assert_eq!(back.timeline.len(), 2);
    assert_eq!(
        back.timeline[0].requests[0].latency,
        m.timeline[0].requests[0].latency
    );
    assert_eq!(back.timeline[0].dropped, 1);
    assert_eq!(back.generator.requested, Some(501));
}

#[test]
fn parts_add_up_exactly_and_timelines_align_by_wall_clock() {
    // The second part started one second later: its second 0 is the merged second 1.
    let (a, b) = (
        part(1_800_000_000, 300, 5, 2),
        part(1_800_000_001, 200, 9, 1),
    );
    let mut both = a.requests[0].latency.clone();
    both.add(&b.requests[0].latency).unwrap();
    let m = add_up(vec![a, b], None);
    assert_eq!(m.requests[0].latency, both, "HDR addition is exact");
    assert_eq!(m.requests[0].ok, 500);
    assert_eq!(m.requests[0].errors[&ErrorKind::Http5xx], 3);
    assert_eq!(m.requests[0].refusals.statuses[&503], 3);
    assert_eq!(m.generator.requested, Some(502));
    assert_eq!((m.generator.sent, m.generator.dropped), (500, 2));
    assert_eq!((m.interrupted, m.generator.threads), (2, 4));
    let seconds: Vec<(i64, u64)> = m.timeline.iter().map(|s| (s.t, s.total().ok)).collect();
    assert_eq!(seconds, [(0, 300), (1, 500), (2, 200)]);
    assert_eq!(
        m.window,
        Duration::from_secs(3),
        "from the first start to the last end"
    );
}

fn file(shard: u32, shards: u32) -> (PathBuf, ShardFile) {
    let m = part(1_800_000_000, 10 * u64::from(shard), 5, 0);
    (
        PathBuf::from(format!("out/{shard}-of-{shards}.shard.json")),
        ShardFile {
            schema: SCHEMA.into(),
            schema_version: VERSION,
            perfspec_version: "0".into(),
            spec: "s".into(),
            scenario: "x".into(),
            spec_file: "perf-specs/s.toml".into(),
            spec_hash: "abc".into(),
            shard,
            shards,
            start_at: Some("2027-01-15T08:01:00Z".into()),
            sampled_target: shard == 1,
            problems: vec![],
            measurement: MeasurementFile::of(&m),
        },
    )
}

#[test]
fn missing_duplicate_and_mismatched_shards_are_errors_naming_files() {
    let ok = combine(vec![file(2, 3), file(1, 3), file(3, 3)]).unwrap();
    assert_eq!((ok.count, ok.measurement.requests[0].ok), (3, 60));
    let e = combine(vec![file(1, 3), file(3, 3)])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("shard 2 of 3 missing") && e.contains("out/3-of-3.shard.json"),
        "{e}"
    );
    let e = combine(vec![file(1, 2), file(2, 2), file(2, 2)])
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "s::x: shard 2 twice: out/2-of-2.shard.json and out/2-of-2.shard.json"
    );
    let e = combine(vec![file(1, 2), file(2, 3)])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("shard count") && e.contains("out/2-of-3.shard.json"),
        "{e}"
    );
    let mut other = file(2, 2);
    other.1.spec_hash = "def".into();
    let e = combine(vec![file(1, 2), other]).unwrap_err().to_string();
    assert!(
        e.contains("differ in the spec") && e.contains("spec hash def"),
        "{e}"
    );
    let mut late = file(2, 2);
    late.1.start_at = Some("2027-01-15T08:02:00Z".into());
    let e = combine(vec![file(1, 2), late]).unwrap_err().to_string();
    assert!(
        e.contains("differ in the start") && e.contains("PERFSPEC_START_AT"),
        "{e}"
    );
    // One build carried flows (version 2), the other did not: the flows would add up from
    // some shards only.
    let mut older = file(2, 2);
    older.1.schema_version = super::VERSION_WITHOUT_FLOWS;
    let e = combine(vec![file(1, 2), older]).unwrap_err().to_string();
    assert!(
        e.contains("differ in the shard file version") && e.contains("one build"),
        "{e}"
    );
}

#[tokio::test]
async fn start_slots_follow_each_other_and_a_late_shard_fails() {
    let soon = SystemTime::now() + Duration::from_millis(50);
    let slots = StartSlots::new(Some(soon));
    let first = slots.wait(Duration::from_secs(1), || None).await.unwrap();
    assert_eq!(first, Some(soon));
    // The next slot is a second plus the margin later; waiting for it is refused once
    // the process is interrupted.
    let e = slots
        .wait(Duration::from_secs(1), || Some("interrupted".into()))
        .await
        .unwrap_err();
    assert!(e.contains("interrupted"), "{e}");
    let past = StartSlots::new(Some(SystemTime::now() - Duration::from_secs(60)));
    let e = past.wait(Duration::ZERO, || None).await.unwrap_err();
    assert!(e.contains("late"), "{e}");
    assert_eq!(
        StartSlots::new(None).wait(Duration::ZERO, || None).await,
        Ok(None)
    );
}
