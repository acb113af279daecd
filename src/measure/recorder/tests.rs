use super::*;
use crate::client::Detail;
use crate::measure::Generator;

fn rec(at: Instant, ms: u64, result: Result<u64, ErrorKind>) -> Record {
    Record {
        request: 0,
        turn: None,
        intended: at,
        scheduled: true,
        sent: at,
        done: at + Duration::from_millis(ms),
        result,
        detail: Detail::default(),
    }
}

#[test]
fn warmup_requests_go_to_the_timeline_only() {
    let t0 = Instant::now();
    let measure_from = t0 + Duration::from_millis(1500);
    let r = Recorder::new(vec!["a".into(), "b".into()], measure_from, 4, false);
    r.record(0, rec(t0, 5, Ok(10)));
    r.record(1, rec(measure_from, 7, Ok(10)));
    r.record(
        2,
        rec(
            measure_from + Duration::from_millis(1200),
            9,
            Err(ErrorKind::Timeout),
        ),
    );
    r.interrupted(3);
    let m = r.finish(
        Duration::from_millis(1500),
        Duration::from_secs(2),
        Generator::default(),
    );
    let a = &m.requests[0];
    assert_eq!((a.ok, a.error_count(), a.bytes), (1, 1, 10));
    assert_eq!(a.latency.max() / 1000, 7);
    assert!(a.service.is_none());
    assert_eq!((m.interrupted, m.generator.sent), (1, 2));
    let secs: Vec<i64> = m.timeline.iter().map(|s| s.t).collect();
    assert_eq!(secs, vec![-2, 0, 1]);
    assert_eq!(m.timeline[2].requests[0].errors, 1);
}

#[test]
fn open_load_keeps_response_service_and_lateness_apart() {
    let t0 = Instant::now();
    let r = Recorder::new(vec!["a".into()], t0, 1, true);
    let ms = Duration::from_millis;
    r.record(
        0,
        Record {
            request: 0,
            turn: None,
            intended: t0,
            scheduled: true,
            sent: t0 + ms(30),
            done: t0 + ms(50),
            result: Ok(1),
            detail: Detail::default(),
        },
    );
    r.dropped(0, t0 + ms(10));
    let m = r.finish(Duration::ZERO, Duration::from_secs(1), Generator::default());
    let a = &m.requests[0];
    assert_eq!(
        a.latency.max() / 1000,
        50,
        "response time from the intended start"
    );
    assert_eq!(
        a.service.as_ref().unwrap().max() / 1000,
        20,
        "service time from the send"
    );
    assert_eq!(m.generator.lateness.as_ref().unwrap().max() / 1000, 30);
    assert_eq!(
        (m.generator.sent, m.generator.dropped, m.timeline[0].dropped),
        (1, 1, 1)
    );
}

#[test]
fn the_latest_seconds_can_be_read_while_recording() {
    let t0 = Instant::now();
    let r = Recorder::new(vec!["a".into()], t0 + Duration::from_secs(1), 2, false);
    let at = |ms| t0 + Duration::from_millis(ms);
    r.record(0, rec(at(100), 5, Ok(1)));
    r.record(1, rec(at(1_100), 7, Ok(1)));
    r.record(0, rec(at(2_100), 9, Err(ErrorKind::Timeout)));
    r.record(1, rec(at(2_200), 11, Ok(1)));
    r.dropped(0, at(2_300));
    assert_eq!(r.counts(), (0, 0, 0), "nothing collected yet");
    r.collect();
    let last = r.seconds(1..2);
    assert_eq!(
        (last.t, last.requests[0].ok, last.requests[0].errors),
        (1, 1, 1)
    );
    assert_eq!(last.total().latency.max() / 1000, 11);
    assert_eq!(r.seconds(-1..2).total().ok, 3);
    assert_eq!(r.counts(), (2, 1, 1), "measured seconds only");
}

#[test]
fn seconds_before_measurement_are_negative() {
    let t0 = Instant::now();
    let r = Recorder::new(vec!["a".into()], t0 + Duration::from_secs(2), 1, false);
    assert_eq!(r.second_of(t0 + Duration::from_secs(2)), 0);
    assert_eq!(r.second_of(t0 + Duration::from_millis(2999)), 0);
    assert_eq!(r.second_of(t0 + Duration::from_millis(1999)), -1);
    assert_eq!(r.second_of(t0 + Duration::from_millis(1000)), -1);
    assert_eq!(r.second_of(t0 + Duration::from_millis(999)), -2);
}
