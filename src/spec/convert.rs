//! Raw TOML structs to validated types, top to bottom. The first problem found is reported
//! with its location and what would be valid.

use std::cell::RefCell;
use std::path::Path;
use std::sync::Arc;

use super::cx::{Cx, R};
use super::raw::RawSpec;
use super::request::convert_requests;
use super::scenario::convert_scenario;
use super::sources::convert_data;
use super::target::convert_target;
use super::{Context, Spec, toml_error};

/// `metric.*` assertions read the service's `/metrics`: `[target]` must name it.
fn needs_metrics_endpoint(
    cx: &Cx,
    raw: &RawSpec,
    target: &super::Target,
    scenarios: &[super::Scenario],
) -> R<()> {
    if target.metrics_path().is_some() {
        return Ok(());
    }
    for (scenario, (_, raw_scenario)) in scenarios.iter().zip(&raw.scenario) {
        let asserts = &raw_scenario.get_ref().assert;
        for (a, text) in scenario.assertions.iter().zip(asserts) {
            if let crate::assertion::Metric::Scraped(_) = a.metric {
                let help = match target {
                    super::Target::Component(_) => "a component runs in process and has no /metrics: check what it returns, or start it as a service with `command`".to_string(),
                    _ => "add `metrics = \"/metrics\"` (the path of the service's Prometheus endpoint) to [target]".to_string(),
                };
                return Err(cx.err(
                    text.span(),
                    format!("`{}` reads the service's own metrics, but [target] has no `metrics` endpoint", a.metric.name()),
                    Some(help),
                ));
            }
        }
    }
    Ok(())
}

pub(super) fn convert(text: &str, real_path: &Path, env: &Context) -> R<Spec> {
    let path = env.display_path.as_deref().unwrap_or(real_path);
    let raw: RawSpec = toml::from_str(text).map_err(|e| toml_error::diagnostic(path, text, &e))?;
    let mut cx = Cx {
        path,
        text,
        env,
        data: Vec::new(),
        secrets: RefCell::new(Vec::new()),
        user_vars: super::flow::user_vars(&raw),
    };
    let name = real_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = real_path.parent().unwrap_or(Path::new("."));
    for (key, value) in &raw.data {
        let source = convert_data(&cx, key, value, dir)?;
        cx.data.push(source);
    }
    let target = convert_target(&cx, &raw.target, dir)?;
    let component = matches!(target, super::Target::Component(_));
    let (defaults, requests) = convert_requests(&cx, &raw, component)?;
    if raw.scenario.is_empty() {
        return Err(cx.err(0..0, "the spec has no scenarios", Some(
            "add one, e.g. [scenario.steady] with load = { model = \"closed\", users = 5 } and duration = \"20s\"".into(),
        )));
    }
    let names: Vec<&str> = requests.iter().map(|r| r.name.as_str()).collect();
    let streaming: Vec<&str> = requests
        .iter()
        .filter(|r| r.stream.is_some())
        .map(|r| r.name.as_str())
        .collect();
    // Resource metrics of the target need its process: known for a started command, named
    // by `pid`, `pid-file` or `process-name` for a `url`; a component runs inside perfspec.
    let sut_known = match &target {
        super::Target::Command(_) => true,
        super::Target::Url(u) => u.process.is_some(),
        super::Target::Component(_) => false,
    };
    let mut scenarios = Vec::new();
    for (key, value) in &raw.scenario {
        let component = matches!(target, super::Target::Component(_));
        scenarios.push(convert_scenario(
            &cx, key, value, &names, &streaming, sut_known, component,
        )?);
    }
    needs_metrics_endpoint(&cx, &raw, &target, &scenarios)?;
    let flows = super::flow::convert_flows(&cx, &raw, &requests)?;
    super::scenario_flows::scenario_flows(&cx, &raw, &flows, &requests, &mut scenarios, component)?;
    let secrets = cx.secrets.into_inner();
    Ok(Spec {
        name,
        path: path.to_path_buf(),
        source: Arc::from(text),
        target,
        defaults,
        requests,
        data: cx.data,
        scenarios,
        flows,
        secrets,
    })
}
