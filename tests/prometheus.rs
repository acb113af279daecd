//! perfspec against a real Prometheus (Debian's `prometheus` 2.42): Prometheus scrapes the
//! live endpoint while a run drives the demo service, and receives each scenario's final
//! figures through remote write. Skipped without the binary, except under `CI`.

mod common;

use std::time::Duration;

use common::prom::{Prometheus, binary, value};
use common::{measured, scratch, spec};
use perfspec::Harness;

/// The demo service, with a short load on `/search` and `/health`.
fn demo_spec(dir: &std::path::Path, name: &str) -> perfspec::spec::Spec {
    spec(
        dir,
        name,
        "[target]\ncommand = [\"{bin:perfspec-demo}\", \"--port\", \"{port}\", \"--threads\", \"1\", \"--corpus\", \"2000\"]\n\
         ready = \"/health\"\nmetrics = \"/metrics\"\n\
         [[request]]\nname = \"search\"\nmethod = \"POST\"\npath = \"/search\"\njson = { query = \"fast vector search\" }\nweight = 3\n\
         [[request]]\nname = \"health\"\npath = \"/health\"\n\
         [scenario.live]\nload = { model = \"open\", rate = \"40/s\", max-users = 8 }\nwarmup = \"1s\"\nduration = \"4s\"\n\
         assert = [\"metric.cache_hits_total.delta / metric.cache_lookups_total.delta > 50%\"]\n",
    )
}

#[test]
fn prometheus_scrapes_the_live_endpoint_during_a_run() {
    let Some(bin) = binary("prometheus_scrapes_the_live_endpoint_during_a_run") else {
        return;
    };
    let dir = scratch("prometheus-live");
    let harness = Harness::new().out_dir(dir.join("out")).live("1");
    let addr = harness.live_address().expect("asked for").expect("serves");
    let prom = Prometheus::start(&bin, &dir, Some(addr));
    let s = demo_spec(&dir, "live");
    let report = harness.run_scenario(&s, "live").unwrap();
    let m = &measured(&report).measurement;
    // Every request the run completed, warm-up included, reaches Prometheus.
    let sent: u64 = m
        .timeline
        .iter()
        .map(|s| s.total().ok + s.total().errors)
        .sum();
    assert!(sent > 100, "{sent}");
    let total = prom.wait_for(
        "sum(perfspec_requests_total{spec=\"live\",scenario=\"live\"})",
        Duration::from_secs(20),
        |r| r.first().is_some_and(|s| value(s) == sent as f64),
    );
    assert_eq!(value(&total[0]), sent as f64);
    let per_request = prom.query("perfspec_response_time_seconds_count{spec=\"live\"}");
    let names: Vec<&str> = per_request
        .iter()
        .filter_map(|s| s["metric"]["request"].as_str())
        .collect();
    assert!(
        names.contains(&"search") && names.contains(&"health"),
        "{per_request:?}"
    );
    assert!(
        per_request[0]["metric"]["run_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    let memory = prom.query("perfspec_target_memory_bytes{spec=\"live\"}");
    assert!(memory.first().is_some_and(|s| value(s) > 1e6), "{memory:?}");
    let p95 = prom.query(
        "histogram_quantile(0.95, sum by (le) (perfspec_response_time_seconds_bucket{spec=\"live\",request=\"search\"}))",
    );
    let p95 = value(&p95[0]);
    assert!(p95 > 0.0 && p95 < 1.0, "{p95}");
    assert_eq!(
        prom.query("up{job=\"perfspec\"} == 1").len(),
        1,
        "scrapes succeed"
    );
}

#[test]
fn results_pushed_with_remote_write_land_in_prometheus() {
    let Some(bin) = binary("results_pushed_with_remote_write_land_in_prometheus") else {
        return;
    };
    let dir = scratch("prometheus-push");
    let prom = Prometheus::start(&bin, &dir, None);
    let url = format!("http://{}/api/v1/write", prom.addr);
    let s = demo_spec(&dir, "pushed");
    let report = Harness::new()
        .out_dir(dir.join("out"))
        .push(&url)
        .run_scenario(&s, "live")
        .unwrap();
    let m = measured(&report);
    assert!(
        m.verdict.problems().is_empty(),
        "{:?}",
        m.verdict.problems()
    );
    let total = m.measurement.total();
    let p95 = prom.wait_for(
        "perfspec_result_latency_seconds{spec=\"pushed\",scenario=\"live\",request=\"all\",stat=\"p95\"}",
        Duration::from_secs(10),
        |r| !r.is_empty(),
    );
    let expected = total
        .stat(perfspec::assertion::Stat::Percentile(95.0))
        .unwrap()
        / 1e6;
    assert!(
        (value(&p95[0]) - expected).abs() < 1e-9,
        "{p95:?} vs {expected}"
    );
    assert!(
        p95[0]["metric"]["commit"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
    );
    let requests = prom.query("perfspec_result_requests{spec=\"pushed\",request=\"search\"}");
    assert_eq!(
        value(&requests[0]),
        m.measurement.request("search").unwrap().requests() as f64
    );
    for name in perfspec::export::push::SERIES {
        assert!(
            !prom.query(&format!("{name}{{spec=\"pushed\"}}")).is_empty(),
            "{name} was pushed"
        );
    }
}

#[test]
fn a_push_that_fails_fails_the_trial() {
    let dir = scratch("push-refused");
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = testkit::Server::http(1, |_| async { testkit::text(200, "ok") });
    let s = spec(
        &dir,
        "refused",
        &format!(
            "[target]\nurl = \"{}\"\n[[request]]\nname = \"r\"\npath = \"/\"\n[scenario.s]\nload = {{ model = \"closed\", users = 1 }}\nduration = \"500ms\"\n",
            server.url()
        ),
    );
    let report = Harness::new()
        .out_dir(dir.join("out"))
        .push(&format!("http://127.0.0.1:{port}/api/v1/write"))
        .run_scenario(&s, "s")
        .unwrap();
    let problems = measured(&report).verdict.problems();
    assert!(
        problems.iter().any(|p| p.contains("pushing results")),
        "{problems:?}"
    );
    assert!(!report.passes());
    let remote = Harness::new()
        .out_dir(dir.join("out"))
        .push("http://192.0.2.1:9090/api/v1/write")
        .run_scenario(&s, "s")
        .unwrap();
    assert!(
        measured(&remote)
            .verdict
            .problems()
            .iter()
            .any(|p| p.contains("not on loopback")),
        "a remote push is refused before anything is sent"
    );
}
