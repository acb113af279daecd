use std::time::Duration;

use super::*;
use crate::assertion::{Matcher, Stat};
use crate::resources::{Point, SamplingCost};
use crate::scrape::Attempt;

fn series(name: &str, labels: &[(&str, &str)], points: &[(f64, f64)]) -> MetricSeries {
    MetricSeries {
        name: name.into(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        points: points.iter().map(|&(t, v)| Point { t, v }).collect(),
    }
}

/// Reads at -0.5, 0.5, 1.5, 2.5 and 3.5 s (after the 3 s window), all successful.
fn scraped(series: Vec<MetricSeries>) -> Scraped {
    let mut types = BTreeMap::new();
    types.insert("hits".to_string(), Kind::Counter);
    types.insert("lookups".to_string(), Kind::Counter);
    types.insert("pool_in_use".to_string(), Kind::Gauge);
    Scraped {
        path: "/metrics".into(),
        window: Duration::from_secs(3),
        series,
        types,
        scrapes: [-0.5, 0.5, 1.5, 2.5, 3.5]
            .iter()
            .map(|&t| Attempt { t, error: None })
            .collect(),
        skipped: 0,
        cost: SamplingCost::default(),
    }
}

fn one(name: &str, figure: Figure) -> ScrapedMetric {
    ScrapedMetric::One(MetricRef {
        name: name.into(),
        matchers: vec![],
        figure,
    })
}

fn value(r: Reading) -> f64 {
    match r {
        Reading::Value { value, .. } => value,
        other => panic!("{other:?}"),
    }
}

#[test]
fn counters_count_from_the_last_read_before_the_window_to_the_last_in_it() {
    let s = scraped(vec![series(
        "hits_total",
        &[],
        &[
            (-0.5, 100.0),
            (0.5, 130.0),
            (1.5, 160.0),
            (2.5, 200.0),
            (3.5, 900.0),
        ],
    )]);
    assert_eq!(value(s.observe(&one("hits_total", Figure::Delta))), 100.0);
    assert_eq!(
        value(s.observe(&one("hits_total", Figure::Rate))),
        100.0 / 3.0
    );
}

#[test]
fn a_restart_counts_from_zero() {
    let s = scraped(vec![series(
        "hits_total",
        &[],
        &[(-0.5, 100.0), (0.5, 150.0), (1.5, 20.0), (2.5, 50.0)],
    )]);
    let r = s.observe(&one("hits_total", Figure::Delta));
    let Reading::Value { value, note, .. } = r else {
        panic!("{r:?}")
    };
    assert_eq!(value, 50.0 + 20.0 + 30.0);
    assert!(note.unwrap().contains("1 restart"));
}

#[test]
fn a_series_born_in_the_window_counts_from_zero() {
    let s = scraped(vec![series("hits_total", &[], &[(1.5, 7.0), (2.5, 9.0)])]);
    assert_eq!(value(s.observe(&one("hits_total", Figure::Delta))), 9.0);
}

#[test]
fn gauges_give_statistics_of_the_sums_in_the_window() {
    let s = scraped(vec![
        series(
            "pool_in_use",
            &[("pool", "a")],
            &[(-0.5, 50.0), (0.5, 1.0), (1.5, 3.0), (2.5, 2.0)],
        ),
        series(
            "pool_in_use",
            &[("pool", "b")],
            &[(0.5, 1.0), (1.5, 1.0), (2.5, 1.0)],
        ),
    ]);
    assert_eq!(
        value(s.observe(&one("pool_in_use", Figure::Stat(Stat::Max)))),
        4.0
    );
    assert_eq!(value(s.observe(&one("pool_in_use", Figure::Last))), 3.0);
    let only_b = ScrapedMetric::One(MetricRef {
        name: "pool_in_use".into(),
        matchers: vec![Matcher {
            label: "pool".into(),
            value: "b".into(),
            negate: false,
        }],
        figure: Figure::Stat(Stat::Mean),
    });
    assert_eq!(value(s.observe(&only_b)), 1.0);
}

#[test]
fn ratios_divide_and_a_zero_denominator_is_undecided() {
    let s = scraped(vec![
        series("hits_total", &[], &[(-0.5, 0.0), (2.5, 80.0)]),
        series("lookups_total", &[], &[(-0.5, 0.0), (2.5, 100.0)]),
        series("idle_total", &[], &[(-0.5, 5.0), (2.5, 5.0)]),
    ]);
    let refs = |a: &str, b: &str| {
        let ScrapedMetric::One(x) = one(a, Figure::Delta) else {
            unreachable!()
        };
        let ScrapedMetric::One(y) = one(b, Figure::Delta) else {
            unreachable!()
        };
        ScrapedMetric::Ratio(x, y)
    };
    assert_eq!(value(s.observe(&refs("hits_total", "lookups_total"))), 0.8);
    let Reading::Undecided(why) = s.observe(&refs("hits_total", "idle_total")) else {
        panic!()
    };
    assert!(
        why.contains("denominator") && why.contains("idle_total"),
        "{why}"
    );
}

#[test]
fn unknown_metrics_and_labels_name_what_exists() {
    let s = scraped(vec![
        series("hits_total", &[("route", "/search")], &[(0.5, 1.0)]),
        series("latency_seconds_bucket", &[("le", "0.1")], &[(0.5, 1.0)]),
    ]);
    let Reading::Missing(why) = s.observe(&one("hit_total", Figure::Delta)) else {
        panic!()
    };
    assert!(
        why.contains("did you mean `hits_total`?") && why.contains("latency_seconds_bucket"),
        "{why}"
    );
    let Reading::Missing(why) = s.observe(&one("latency_seconds", Figure::Delta)) else {
        panic!()
    };
    assert!(why.contains("latency_seconds_bucket"), "{why}");
    let labelled = |label: &str, v: &str| {
        ScrapedMetric::One(MetricRef {
            name: "hits_total".into(),
            matchers: vec![Matcher {
                label: label.into(),
                value: v.into(),
                negate: false,
            }],
            figure: Figure::Delta,
        })
    };
    let Reading::Missing(why) = s.observe(&labelled("rout", "/search")) else {
        panic!()
    };
    assert!(
        why.contains("no label `rout`") && why.contains("route"),
        "{why}"
    );
    let Reading::Missing(why) = s.observe(&labelled("route", "/serch")) else {
        panic!()
    };
    assert!(why.contains("route takes /search"), "{why}");
}

#[test]
fn a_gauge_has_no_delta() {
    let s = scraped(vec![series("pool_in_use", &[], &[(0.5, 1.0)])]);
    let Reading::Missing(why) = s.observe(&one("pool_in_use", Figure::Delta)) else {
        panic!()
    };
    assert!(why.contains("is a gauge"), "{why}");
}

#[test]
fn an_endpoint_that_never_answered_is_undecided_with_its_error() {
    let mut s = scraped(vec![]);
    for a in &mut s.scrapes {
        a.error = Some("GET http://127.0.0.1:1/metrics: connection refused".into());
    }
    let Reading::Undecided(why) = s.observe(&one("hits_total", Figure::Delta)) else {
        panic!()
    };
    assert!(
        why.contains("could not be read") && why.contains("connection refused"),
        "{why}"
    );
}
