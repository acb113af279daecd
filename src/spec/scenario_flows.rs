//! A scenario's `flows = [...]`: which flows it runs, checked against its load model, its
//! target, its `in turn N` checks and its flow metrics.

use super::cx::{Cx, R, closest};
use super::flow::{Flow, request_vars};
use super::raw::{RawScenario, RawSpec, S};
use super::{Request, Scenario};

/// A scenario's `flows = [...]`: their indices, checked against the load model and the target.
pub(super) fn scenario_flows(
    cx: &Cx,
    raw: &RawSpec,
    flows: &[Flow],
    requests: &[Request],
    scenarios: &mut [Scenario],
    component: bool,
) -> R<()> {
    for (scenario, (key, s)) in scenarios.iter_mut().zip(&raw.scenario) {
        let Some(names) = &s.get_ref().flows else {
            check_flow_metrics(cx, s, scenario, &[])?;
            super::chat::check_turns(cx, s, scenario, &[], requests)?;
            // The request mix: no request of it may need a flow variable.
            if let Some(r) = requests.iter().find(|r| !request_vars(r).is_empty()) {
                return Err(cx.err(
                    key.span(),
                    format!("scenario `{}` sends the request mix, but request `{}` uses `{{{{user.…}}}}` variables that only a flow sets", key.get_ref(), r.name),
                    Some("run flows instead: flows = [\"NAME\"] naming [[flow]] tables".into()),
                ));
            }
            continue;
        };
        if names.get_ref().is_empty() {
            return Err(cx.err(
                names.span(),
                "`flows` is empty",
                Some(
                    "name at least one [[flow]], or remove `flows` to send the request mix".into(),
                ),
            ));
        }
        if component {
            return Err(cx.err(
                names.span(),
                "flows apply to HTTP targets, not components",
                Some("a component request is its input; remove `flows`".into()),
            ));
        }
        for n in names.get_ref() {
            let Some(i) = flows.iter().position(|f| f.name == *n.get_ref()) else {
                let all: Vec<&str> = flows.iter().map(|f| f.name.as_str()).collect();
                let hint = closest(n.get_ref(), all.iter().copied())
                    .map_or(String::new(), |c| format!("did you mean `{c}`? "));
                return Err(cx.err(
                    n.span(),
                    format!("unknown flow `{}`", n.get_ref()),
                    Some(if all.is_empty() {
                        "this spec has no [[flow]]; add one, e.g. [[flow]] name = \"crud\" steps = [{ request = \"create\" }]".into()
                    } else {
                        format!("{hint}flows: {}", all.join(", "))
                    }),
                ));
            };
            if scenario.flows.contains(&i) {
                return Err(cx.err(
                    n.span(),
                    format!("flow `{}` is listed twice", n.get_ref()),
                    Some("weights between flows are set with `weight` in [[flow]]".into()),
                ));
            }
            scenario.flows.push(i);
        }
        let used: Vec<&Flow> = scenario.flows.iter().map(|&i| &flows[i]).collect();
        let names: Vec<&str> = used.iter().map(|f| f.name.as_str()).collect();
        check_flow_metrics(cx, s, scenario, &names)?;
        super::chat::check_turns(cx, s, scenario, &used, requests)?;
    }
    Ok(())
}

/// Checks the scenario's flow metrics (`flow.crud.duration.p95`) against the flows it runs:
/// a scenario without flows, or a flow it does not run, is an error. (`abort-on` needs a
/// window, which flow metrics do not have.)
fn check_flow_metrics(cx: &Cx, raw: &S<RawScenario>, scenario: &Scenario, flows: &[&str]) -> R<()> {
    use crate::assertion::Metric;
    let span = |text: &str| super::raw::metric_span(raw, text);
    let metrics = scenario
        .assertions
        .iter()
        .map(|a| (a.text.as_str(), &a.metric))
        .chain(
            scenario
                .regression
                .metrics
                .iter()
                .map(|g| (g.text.as_str(), &g.metric)),
        );
    for (text, metric) in metrics {
        let Metric::Flow(f) = metric else { continue };
        if flows.is_empty() {
            return Err(cx.err(
                span(text),
                format!(
                    "`{}` reads flow iterations, and this scenario sends the request mix",
                    f.name()
                ),
                Some("run flows (flows = [\"NAME\"]), or check requests (p95, error-rate)".into()),
            ));
        }
        if let Some(name) = &f.flow
            && !flows.contains(&name.as_str())
        {
            let hint = closest(name, flows.iter().copied())
                .map_or(String::new(), |c| format!("did you mean `{c}`? "));
            return Err(cx.err(
                span(text),
                format!(
                    "`{}` names flow `{name}`, which this scenario does not run",
                    f.name()
                ),
                Some(format!("{hint}its flows: {}", flows.join(", "))),
            ));
        }
    }
    Ok(())
}
