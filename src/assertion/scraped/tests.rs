use super::*;

fn ok(text: &str) -> ScrapedMetric {
    parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"))
}

#[test]
fn figures_selectors_and_ratios() {
    let ScrapedMetric::One(r) = ok("metric.db_pool_in_use.max") else {
        panic!()
    };
    assert_eq!(
        (r.name.as_str(), r.figure),
        ("db_pool_in_use", Figure::Stat(Stat::Max))
    );
    let m = ok("metric.http_requests_total{route=\"/search\", code!=\"5\\\"xx\"}.rate");
    let ScrapedMetric::One(r) = &m else { panic!() };
    assert_eq!(r.matchers.len(), 2);
    assert_eq!(r.matchers[1].value, "5\"xx");
    assert!(r.matchers[1].negate);
    assert_eq!(m.unit(), Unit::PerSecond);
    assert_eq!(parse(&m.name()).unwrap(), m, "names round-trip");
    let ratio = ok("metric.cache_hits_total.delta / metric.cache_lookups_total{a=\"x/y\"}.delta");
    assert!(
        matches!(&ratio, ScrapedMetric::Ratio(a, b) if a.name == "cache_hits_total" && b.matchers[0].value == "x/y")
    );
    assert_eq!(ratio.unit(), Unit::Fraction);
    assert_eq!(ok("metric.lat:p99.p99").percentile(), Some(99.0));
    assert_eq!(ok("metric.x{}.last").refs()[0].figure, Figure::Last);
}

#[test]
fn mistakes_are_located_and_explained() {
    let cases = [
        ("metric.", "no metric name"),
        ("metric.cache_hits_total", "needs a figure"),
        ("metric.cache_hits_total.dleta", "did you mean `delta`?"),
        ("metric.x{route=\"/a\".delta", "expected `,` or `}`"),
        ("metric.x{route=/a}.delta", "double quotes"),
        ("metric.x{route=~\"a.*\"}.delta", "not supported"),
        ("metric.x{route=\"a}.delta", "no closing quote"),
        ("metric.a.delta / p95", "both sides"),
        ("metric.x.delta extra", "unexpected"),
    ];
    for (text, expected) in cases {
        let (range, message, help) = parse(text).unwrap_err();
        assert!(
            message.contains(expected) || help.contains(expected),
            "{text}: {message} / {help}"
        );
        assert!(
            range.start < range.end && range.end <= text.len() + 1,
            "{text}: {range:?}"
        );
    }
}

#[test]
fn matchers_treat_a_missing_label_as_empty() {
    let m = Matcher {
        label: "route".into(),
        value: String::new(),
        negate: false,
    };
    assert!(m.matches(&[]));
    assert!(!m.matches(&[("route".into(), "/a".into())]));
}
