//! The Grafana dashboards in `dashboards/`: every panel's PromQL parses, and every metric it
//! names is exported: by the live endpoint of a real run (`perfspec.json`) or by the result
//! push (`perfspec-trends.json`).

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::prom::get;
use common::{measured, scratch, spec};
use promql_parser::parser::{Expr, parse};
use promql_parser::util::{ExprVisitor, walk_expr};

struct Names(BTreeSet<String>);

impl ExprVisitor for Names {
    type Error = String;
    fn pre_visit(&mut self, e: &Expr) -> Result<bool, String> {
        let vs = match e {
            Expr::VectorSelector(vs) => Some(vs),
            Expr::MatrixSelector(ms) => Some(&ms.vs),
            _ => None,
        };
        if let Some(vs) = vs {
            let name = vs.name.clone().or_else(|| {
                vs.matchers
                    .matchers
                    .iter()
                    .find(|m| m.name == "__name__")
                    .map(|m| m.value.clone())
            });
            self.0
                .insert(name.ok_or("a selector without a metric name")?);
        }
        Ok(true)
    }
}

/// The metric names every panel query of `file` uses; panics on a query that does not parse.
fn dashboard_metrics(file: &str) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("dashboards")
        .join(file);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut names = Names(BTreeSet::new());
    let mut queries = 0;
    let mut panels: Vec<&serde_json::Value> = json["panels"].as_array().unwrap().iter().collect();
    while let Some(p) = panels.pop() {
        panels.extend(p["panels"].as_array().into_iter().flatten());
        for t in p["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"].as_str().expect("every target has a PromQL expr");
            // Grafana's macros are not PromQL: give them a value it would.
            let promql = expr
                .replace("$__rate_interval", "1m")
                .replace("$__interval", "1m");
            let ast = parse(&promql)
                .unwrap_or_else(|e| panic!("{file}: panel {:?}: {expr}: {e}", p["title"]));
            walk_expr(&mut names, &ast).unwrap();
            queries += 1;
        }
    }
    // Template variables read label values of metrics too.
    for v in json["templating"]["list"].as_array().unwrap() {
        if let Some(q) = v["query"]["query"].as_str()
            && let Some(inner) = q.strip_prefix("label_values(")
        {
            let selector = &inner[..inner.rfind(',').unwrap()];
            walk_expr(&mut names, &parse(selector).unwrap()).unwrap();
        }
    }
    assert!(queries >= 5, "{file} has {queries} queries");
    names.0
}

#[test]
fn the_live_dashboard_uses_only_metrics_a_real_run_exports() {
    let used = dashboard_metrics("perfspec.json");
    let dir = scratch("dashboard");
    let s = spec(
        &dir,
        "dash",
        "[target]\ncommand = [\"{bin:perfspec-demo}\", \"--port\", \"{port}\", \"--threads\", \"1\", \"--corpus\", \"1000\"]\n\
         ready = \"/health\"\n[[request]]\nname = \"health\"\npath = \"/health\"\n\
         [[request]]\nname = \"missing\"\npath = \"/nope\"\n\
         [scenario.s]\nload = { model = \"open\", rate = \"50/s\", max-users = 4 }\nwarmup = \"500ms\"\nduration = \"2s\"\n",
    );
    let harness = perfspec::Harness::new().out_dir(dir.join("out")).live("1");
    let addr = harness.live_address().unwrap().unwrap();
    measured(&harness.run_scenario(&s, "s").unwrap());
    let (status, text) = get(addr, "/metrics").expect("the live endpoint answers");
    assert_eq!(status, 200);
    let exported: BTreeSet<String> = perfspec::scrape::parse(&text)
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
        .samples
        .into_iter()
        .map(|s| s.name)
        .collect();
    let missing: Vec<&String> = used.iter().filter(|n| !exported.contains(*n)).collect();
    assert!(
        missing.is_empty(),
        "the dashboard uses {missing:?}, which a run does not export:\n{text}"
    );
    // And the list the live endpoint documents is what it serves.
    for name in perfspec::export::EXPORTED {
        assert!(
            exported.contains(*name),
            "{name} is documented but not exported"
        );
    }
}

#[test]
fn the_trends_dashboard_uses_only_pushed_metrics() {
    for name in dashboard_metrics("perfspec-trends.json") {
        assert!(
            perfspec::export::push::SERIES.contains(&name.as_str()),
            "{name} is not pushed"
        );
    }
}
