//! `regression = { threshold, warn, metrics, confirm, noise-floor, host-mismatch, inconclusive }`.

use super::cx::{Cx, R};
use super::raw::{RawRegression, S};
use super::{GateMetric, HostMismatch, Inconclusive, Regression};
use crate::assertion::Metric;
use crate::units::number_and_unit;

/// The metrics compared when a spec names none.
const DEFAULT_METRICS: &[&str] = &["p95", "p99", "throughput"];

pub(super) fn convert_regression(
    cx: &Cx,
    raw: Option<&S<RawRegression>>,
    requests: &[&str],
) -> R<Regression> {
    let parse = |text: &str| crate::assertion::parse_gate_metric(text, requests);
    let mut r = Regression {
        threshold: 0.10,
        warn: 0.05,
        metrics: DEFAULT_METRICS
            .iter()
            .filter_map(|m| {
                let (scope, metric, turn) = parse(m).ok()?;
                Some(GateMetric {
                    text: (*m).to_string(),
                    scope,
                    metric,
                    turn,
                })
            })
            .collect(),
        confirm: 1,
        noise_floor: 0.01,
        host_mismatch: HostMismatch::Warn,
        inconclusive: Inconclusive::Pass,
        explicit: raw.is_some(),
    };
    let Some(raw) = raw else { return Ok(r) };
    let g = raw.get_ref();
    if let Some(t) = &g.threshold {
        r.threshold = share(cx, t, "threshold")?;
    }
    if let Some(w) = &g.warn {
        r.warn = share(cx, w, "warn")?;
        if r.warn > r.threshold {
            return Err(cx.err(w.span(), "`warn` is above `threshold`", Some("warn at a smaller change than the one that fails, e.g. warn = \"5%\" with threshold = \"10%\"".into())));
        }
    }
    if let Some(n) = &g.noise_floor {
        r.noise_floor = share(cx, n, "noise-floor")?;
    }
    if let Some(c) = &g.confirm {
        if !(0..=10).contains(c.get_ref()) {
            return Err(cx.err(
                c.span(),
                format!("`confirm` must be between 0 and 10, not {}", c.get_ref()),
                Some("the number of extra runs before a regression fails the test".into()),
            ));
        }
        r.confirm = *c.get_ref() as u32;
    }
    if let Some(list) = &g.metrics {
        if list.get_ref().is_empty() {
            return Err(cx.err(
                list.span(),
                "`metrics` is empty",
                Some("e.g. metrics = [\"p95\", \"p99\", \"throughput\"]".into()),
            ));
        }
        r.metrics = Vec::new();
        for m in list.get_ref() {
            let text = m.get_ref();
            let (scope, metric, turn) =
                parse(text).map_err(|e| cx.err(m.span(), e.message, e.help))?;
            if !comparable(&metric) {
                return Err(cx.err(m.span(), format!("`{text}` cannot be compared as a ratio"), Some(
                    "regressions are relative changes of positive figures: latency, service, token (ttft, itl, tpot) and stage statistics, throughput, output-tokens-per-second, capacity, capacity-users, flow durations (flow.NAME.duration.p95), sut.cpu-per-request and sut.instructions-per-request; check errors with assertions (error-rate < 1%)".into(),
                )));
            }
            if r.metrics.iter().any(|g| g.text == *text) {
                return Err(cx.err(m.span(), format!("`{text}` is listed twice"), None));
            }
            r.metrics.push(GateMetric {
                text: text.clone(),
                scope,
                metric,
                turn,
            });
        }
    }
    if let Some(h) = &g.host_mismatch {
        r.host_mismatch = match h.get_ref().as_str() {
            "warn" => HostMismatch::Warn,
            "fail" => HostMismatch::Fail,
            "compare" => HostMismatch::Compare,
            other => return Err(cx.err(h.span(), format!("unknown `host-mismatch` value {other:?}"), Some("\"warn\" (compare, but regressions only warn; default), \"fail\" (the mismatch fails the test) or \"compare\" (compare as if the machines were the same)".into()))),
        };
    }
    if let Some(i) = &g.inconclusive {
        r.inconclusive = match i.get_ref().as_str() {
            "pass" => Inconclusive::Pass,
            "fail" => Inconclusive::Fail,
            other => return Err(cx.err(i.span(), format!("unknown `inconclusive` value {other:?}"), Some("\"pass\" (an undecided comparison is reported and passes, default) or \"fail\"".into()))),
        };
    }
    Ok(r)
}

/// Whether a metric is a positive figure whose ratio means something.
fn comparable(m: &Metric) -> bool {
    matches!(
        m,
        Metric::Latency(_)
            | Metric::Service(_)
            | Metric::Stream(..)
            | Metric::Stage(..)
            | Metric::Throughput
            | Metric::OutputTokensPerSecond
            | Metric::Capacity
            | Metric::CapacityUsers
            | Metric::Flow(crate::assertion::FlowMetric {
                figure: crate::assertion::FlowFigure::Duration(_),
                ..
            })
    ) || matches!(m, Metric::Resource(r) if r.reduce == crate::assertion::Reduce::PerRequest)
}

/// A share written as a percentage: `"10%"`.
fn share(cx: &Cx, v: &S<String>, key: &str) -> R<f64> {
    match number_and_unit(v.get_ref()) {
        Some((n, "%")) if n > 0.0 && n < 1000.0 => Ok(n / 100.0),
        _ => Err(cx.err(
            v.span(),
            format!("`{key}` must be a percentage above 0%, such as \"10%\""),
            None,
        )),
    }
}
