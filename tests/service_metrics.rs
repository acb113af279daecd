//! The service's own metrics in the verdict, against real servers on loopback: a `/metrics`
//! that counts the requests it serves, one that answers HTML, one that never answers.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::{measured, run, scratch, spec};
use perfspec::assertion::Outcome;
use perfspec::report::TrialReport;

/// A service whose `/metrics` counts the requests to `/`.
fn service() -> testkit::Server {
    let hits = Arc::new(AtomicU64::new(0));
    testkit::Server::http(1, move |req| {
        let hits = hits.clone();
        async move {
            match req.uri().path() {
                "/metrics" => testkit::text(
                    200,
                    format!(
                        "# HELP hits Requests to /.\n# TYPE hits counter\nhits_total{{route=\"/\"}} {}\n\
                         # TYPE lookups counter\nlookups_total 0\n# TYPE pool gauge\npool{{name=\"main\"}} 3\n",
                        hits.load(Ordering::Relaxed)
                    ),
                ),
                "/metrics-html" => {
                    testkit::text(200, "<html><body>metrics live elsewhere</body></html>\n")
                }
                "/metrics-stuck" => {
                    tokio::time::sleep(Duration::from_secs(8)).await;
                    testkit::text(200, "late 1\n")
                }
                _ => {
                    hits.fetch_add(1, Ordering::Relaxed);
                    testkit::text(200, "ok")
                }
            }
        }
    })
}

fn trial(name: &str, path: &str, asserts: &[&str]) -> TrialReport {
    let server = service();
    let dir = scratch(name);
    let list: Vec<String> = asserts.iter().map(|a| format!("{a:?}")).collect();
    let s = spec(
        &dir,
        name,
        &format!(
            "[target]\nurl = \"{}\"\nmetrics = \"{path}\"\n[[request]]\nname = \"root\"\npath = \"/\"\n\
             [scenario.s]\nload = {{ model = \"closed\", users = 2, think-time = \"5ms\" }}\nwarmup = \"500ms\"\nduration = \"2s\"\n\
             assert = [{}]\n",
            server.url(),
            list.join(", ")
        ),
    );
    run(&dir, &s, "s")
}

fn check<'a>(r: &'a TrialReport, text: &str) -> &'a perfspec::assertion::Check {
    measured(r)
        .verdict
        .checks()
        .iter()
        .find(|c| c.assertion.text == text)
        .unwrap_or_else(|| panic!("no check {text}"))
}

#[test]
fn counters_gauges_and_mistakes_against_a_real_metrics_endpoint() {
    let asserts = [
        "metric.hits_total.delta > 10",
        "metric.hits_total{route=\"/\"}.rate > 5/s",
        "metric.pool.max == 3",
        "metric.hits_total.delta / metric.lookups_total.delta > 50%",
        "metric.hit_total.delta > 1",
        "metric.hits_total{rout=\"/\"}.delta > 1",
        "metric.pool.delta > 1",
    ];
    let r = trial("service-metrics", "/metrics", &asserts);
    let m = measured(&r);
    let delta = check(&r, asserts[0]);
    assert_eq!(delta.outcome, Outcome::Pass, "{delta:?}");
    // The service counted the requests perfspec sent: the increase over the window lies
    // between what was measured in the window and everything sent.
    let measured_requests = m.measurement.total().requests() as f64;
    let sent: u64 = m
        .measurement
        .timeline
        .iter()
        .map(|s| s.total().ok + s.total().errors)
        .sum();
    let observed = delta.observed.unwrap();
    assert!(
        observed >= measured_requests * 0.6 && observed <= sent as f64,
        "delta {observed} vs {measured_requests} measured, {sent} sent"
    );
    assert_eq!(check(&r, asserts[1]).outcome, Outcome::Pass);
    assert_eq!(check(&r, asserts[2]).observed, Some(3.0));
    match &check(&r, asserts[3]).outcome {
        Outcome::Inconclusive(why) => assert!(why.contains("denominator"), "{why}"),
        other => panic!("a zero denominator must be inconclusive, got {other:?}"),
    }
    for (text, says) in [
        (asserts[4], "did you mean `hits_total`?"),
        (asserts[5], "no label `rout`; its labels: route"),
        (asserts[6], "is a gauge"),
    ] {
        let c = check(&r, text);
        assert_eq!(c.outcome, Outcome::Fail, "{text}");
        assert!(
            c.note.as_deref().unwrap_or("").contains(says),
            "{text}: {:?}",
            c.note
        );
    }
    let scraped = m.measurement.metrics.as_ref().expect("scraped");
    assert!(
        scraped.scrapes.len() >= 4,
        "read before, during and after: {:?}",
        scraped.scrapes.len()
    );
    assert!(
        scraped.scrapes.first().unwrap().t < 0.0,
        "the first read is before the load"
    );
    // The result file carries the series, in the shape its schema says.
    let text = perfspec::report::json::render(&r);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let validator = testkit::schema_validator(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/result.schema.json"),
    );
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let series = json["metrics"]["series"].as_array().unwrap();
    let hits = series.iter().find(|s| s["name"] == "hits_total").unwrap();
    assert_eq!(hits["kind"], "counter");
    assert_eq!(hits["asserted"], true);
    assert!(hits["points"].as_array().unwrap().len() >= 4);
    assert!(
        r.series.iter().any(|s| s.name == "metric.hits_total /s"),
        "charted"
    );
}

#[test]
fn a_metrics_endpoint_that_is_not_the_text_format_is_inconclusive_and_says_why() {
    let r = trial(
        "service-metrics-html",
        "/metrics-html",
        &["metric.hits_total.delta > 1"],
    );
    match &measured(&r).verdict.checks()[0].outcome {
        Outcome::Inconclusive(why) => assert!(
            why.contains("line 1 is not in the Prometheus text format") && why.contains("<html>"),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(!r.passes());
}

#[test]
fn a_metrics_endpoint_that_never_answers_is_inconclusive_and_says_why() {
    let r = trial(
        "service-metrics-stuck",
        "/metrics-stuck",
        &["metric.hits_total.delta > 1"],
    );
    match &measured(&r).verdict.checks()[0].outcome {
        Outcome::Inconclusive(why) => assert!(why.contains("no complete answer"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_metrics_of_an_https_target_are_read_over_tls_in_http1_beside_http2_load() {
    let cert = testkit::TestCert::localhost();
    // Counts the load's requests, and which HTTP versions asked for what.
    let (hits, h2_load, h1_metrics) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let counters = (hits.clone(), h2_load.clone(), h1_metrics.clone());
    let server = testkit::Server::https(1, &cert, move |req| {
        let (hits, h2_load, h1_metrics) = counters.clone();
        async move {
            let h2 = req.version() == hyper::Version::HTTP_2;
            if req.uri().path() == "/metrics" {
                if !h2 {
                    h1_metrics.fetch_add(1, Ordering::Relaxed);
                }
                return testkit::text(
                    200,
                    format!(
                        "# TYPE hits counter\nhits_total {}\n",
                        hits.load(Ordering::Relaxed)
                    ),
                );
            }
            hits.fetch_add(1, Ordering::Relaxed);
            if h2 {
                h2_load.fetch_add(1, Ordering::Relaxed);
            }
            testkit::text(200, "ok")
        }
    });
    let dir = scratch("service-metrics-https");
    std::fs::write(dir.join("ca.pem"), &cert.cert_pem).unwrap();
    let s = spec(
        &dir,
        "service-metrics-https",
        &format!(
            "[target]\nurl = \"{}\"\nhttp = \"2\"\ntls = {{ ca = \"ca.pem\" }}\nmetrics = \"/metrics\"\n\
             [[request]]\nname = \"root\"\npath = \"/\"\n\
             [scenario.s]\nload = {{ model = \"closed\", users = 2, think-time = \"5ms\" }}\nwarmup = \"500ms\"\nduration = \"2s\"\n\
             assert = [\"metric.hits_total.delta > 10\"]\n",
            server.url()
        ),
    );
    let r = run(&dir, &s, "s");
    let c = check(&r, "metric.hits_total.delta > 10");
    assert_eq!(c.outcome, Outcome::Pass, "{c:?}");
    assert!(
        h1_metrics.load(Ordering::Relaxed) >= 2,
        "/metrics read over HTTP/1.1 before and after the load"
    );
    assert_eq!(
        h2_load.load(Ordering::Relaxed),
        hits.load(Ordering::Relaxed),
        "the load spoke HTTP/2"
    );
}
