//! The closed model end to end against in-process servers on 127.0.0.1:0.

mod common;

use std::time::{Duration, Instant};

use common::{measured, run, scratch, spec};
use perfspec::assertion::{Outcome, Stat};
use perfspec::compare::Status;
use perfspec::measure::ErrorKind;
use testkit::{Server, text};

fn sleepy_server(ms: u64) -> Server {
    Server::http(1, move |_req| async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        text(200, "ok")
    })
}

#[test]
fn measures_latency_of_a_fixed_delay_server() {
    let server = sleepy_server(20);
    let dir = scratch("fixed-delay");
    let s = spec(
        &dir,
        "fixed",
        &format!(
            r#"
        [target]
        url = "{}"
        [[request]]
        name = "slow"
        path = "/"
        [scenario.steady]
        load = {{ model = "closed", users = 4 }}
        warmup = "300ms"
        duration = "2s"
        assert = ["p50 < 40ms", "p50 > 19ms", "error-rate < 1%", "throughput > 50/s", "requests >= 100"]
    "#,
            server.url()
        ),
    );
    let report = run(&dir, &s, "steady");
    let m = measured(&report);
    let stats = &m.measurement.requests[0];
    let p50 = stats.stat(Stat::Percentile(50.0)).unwrap();
    // 20 ms of sleep, rounded up to the timer's 1 ms tick, plus loopback: well under 30 ms
    // even on a loaded machine.
    assert!((20_000.0..30_000.0).contains(&p50), "p50 {p50} µs");
    assert_eq!(stats.error_count(), 0);
    assert_eq!(
        m.verdict.status(),
        Status::Pass,
        "{}",
        perfspec::report::console::trial_table(&report)
    );
    assert!(
        (m.measurement.window.as_secs_f64() - 2.0).abs() < 0.05,
        "window {:?}",
        m.measurement.window
    );
    // The result file exists and is versioned JSON.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("out/results/fixed/steady.json")).unwrap())
            .unwrap();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["status"], "pass");
    assert_eq!(json["requests"][0]["name"], "slow");
}

#[test]
fn load_stops_at_the_end_of_the_duration() {
    let server = sleepy_server(5);
    let dir = scratch("stops");
    let s = spec(
        &dir,
        "stops",
        &format!(
            r#"
        [target]
        url = "{}"
        [[request]]
        name = "r"
        path = "/"
        [scenario.short]
        load = {{ model = "closed", users = 8 }}
        duration = "1s"
    "#,
            server.url()
        ),
    );
    let t = Instant::now();
    let report = run(&dir, &s, "short");
    let took = t.elapsed();
    let m = measured(&report);
    assert!(took < Duration::from_millis(1600), "took {took:?}");
    // Every second of the timeline lies inside the run.
    assert!(
        m.measurement
            .timeline
            .iter()
            .all(|s| (0..=1).contains(&s.t)),
        "{:?}",
        m.measurement
            .timeline
            .iter()
            .map(|s| s.t)
            .collect::<Vec<_>>()
    );
}

#[test]
fn weighted_mix_and_iterations_are_exact() {
    let server = Server::http(1, |_req| async { text(200, "ok") });
    let dir = scratch("mix");
    let s = spec(
        &dir,
        "mix",
        &format!(
            r#"
        [target]
        url = "{}"
        [[request]]
        name = "heavy"
        path = "/a"
        weight = 3
        [[request]]
        name = "light"
        path = "/b"
        [scenario.counted]
        load = {{ model = "closed", users = 4 }}
        iterations = 4000
    "#,
            server.url()
        ),
    );
    let report = run(&dir, &s, "counted");
    let m = &measured(&report).measurement;
    let (heavy, light) = (m.requests[0].requests(), m.requests[1].requests());
    assert_eq!(heavy + light, 4000);
    let share = heavy as f64 / 4000.0;
    assert!((share - 0.75).abs() < 0.03, "share {share}");
}

#[test]
fn errors_are_classified_by_kind() {
    let server = Server::http(1, |req| async move {
        match req.uri().path() {
            "/500" => text(500, "boom"),
            "/404" => text(404, "nope"),
            "/slow" => {
                tokio::time::sleep(Duration::from_secs(3)).await;
                text(200, "late")
            }
            _ => text(200, "hello world"),
        }
    });
    let dir = scratch("errors");
    let s = spec(
        &dir,
        "errors",
        &format!(
            r#"
        [target]
        url = "{url}"
        [[request]]
        name = "server-error"
        path = "/500"
        [[request]]
        name = "not-found"
        path = "/404"
        [[request]]
        name = "wrong-body"
        path = "/"
        expect = {{ body-contains = "goodbye" }}
        [[request]]
        name = "right-body"
        path = "/"
        expect = {{ status = 200, body-contains = "world" }}
        [[request]]
        name = "timeout"
        path = "/slow"
        timeout = "100ms"
        [scenario.mixed]
        load = {{ model = "closed", users = 5 }}
        duration = "1s"
        assert = ["error-rate < 1%", "right-body.errors == 0"]
    "#,
            url = server.url()
        ),
    );
    let report = run(&dir, &s, "mixed");
    let m = measured(&report);
    let kinds = |name: &str| {
        m.measurement
            .request(name)
            .unwrap()
            .errors
            .keys()
            .copied()
            .collect::<Vec<_>>()
    };
    assert_eq!(kinds("server-error"), vec![ErrorKind::Http5xx]);
    assert_eq!(kinds("not-found"), vec![ErrorKind::Http4xx]);
    assert_eq!(kinds("wrong-body"), vec![ErrorKind::Expectation]);
    assert_eq!(kinds("right-body"), Vec::<ErrorKind>::new());
    assert_eq!(kinds("timeout"), vec![ErrorKind::Timeout]);
    assert_eq!(m.verdict.status(), Status::Fail);
    assert_eq!(m.verdict.checks()[0].outcome, Outcome::Fail);
    assert_eq!(m.verdict.checks()[1].outcome, Outcome::Pass);
    let table = perfspec::report::console::trial_table(&report);
    assert!(
        table.contains("FAIL  <--") && table.contains("timeout"),
        "{table}"
    );
}

#[test]
fn connection_refused_is_a_connect_error() {
    // A port that was free a moment ago and has nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = scratch("refused");
    let s = spec(
        &dir,
        "refused",
        &format!(
            r#"
        [target]
        url = "http://127.0.0.1:{port}"
        ready-timeout = "200ms"
        [[request]]
        name = "r"
        path = "/"
        [scenario.s]
        load = {{ model = "closed", users = 1 }}
        duration = "1s"
    "#
        ),
    );
    let report = run(&dir, &s, "s");
    let err = report.outcome.as_ref().expect_err("target never ready");
    assert!(
        err.contains("not ready after") && err.contains(&port.to_string()),
        "{err}"
    );
}
