//! `[scenario.NAME]`: load model, timing, assertions and what makes a run trustworthy.

use std::time::Duration;

use super::cx::{Cx, R, check_name};
use super::load::convert_load;
use super::raw::{RawScenario, S};
use super::regression::convert_regression;
use super::{Goodput, Inconclusive, Load, Scenario};
use super::{capacity, stress};
use crate::assertion::Assertion;
use crate::units::fmt_duration;

/// What a scenario without `assert` checks.
pub const IMPLIED_CHECK: &str = "errors == 0";
/// How reports mark that check.
pub const IMPLIED_NOTE: &str = "(default: no assertions in the spec)";

pub(super) fn convert_scenario(
    cx: &Cx,
    key: &S<String>,
    raw: &S<RawScenario>,
    requests: &[&str],
    streaming: &[&str],
    sut_known: bool,
    component: bool,
) -> R<Scenario> {
    check_name(cx, key, "scenario")?;
    let s = raw.get_ref();
    let load = convert_load(cx, &s.load)?;
    let warmup = match &s.warmup {
        Some(v) => cx.duration(v, "warmup")?,
        None => Duration::ZERO,
    };
    let iterations = match &s.iterations {
        Some(v) if *v.get_ref() < 1 => {
            return Err(cx.err(v.span(), "`iterations` must be at least 1", None));
        }
        Some(v) => Some(*v.get_ref() as u64),
        None => None,
    };
    let staged: Duration = load.stages().iter().map(|s| s.length()).sum();
    let duration = match (&s.duration, iterations) {
        (Some(v), _) => {
            let d = cx.positive(v, "duration")?;
            if staged > warmup + d {
                let holds = match load {
                    Load::Open(_) => "the last rate holds",
                    Load::Closed(_) => "the last number of users holds",
                };
                return Err(cx.err(v.span(), format!("the stages last {} but warm-up plus duration is {}", fmt_duration(staged), fmt_duration(warmup + d)), Some(format!(
                    "remove `duration` to run exactly as long as the stages, or lengthen it ({holds})",
                ))));
            }
            d
        }
        (None, _) if !staged.is_zero() => {
            if staged <= warmup {
                return Err(cx.err(
                    s.load.span(),
                    format!(
                        "the stages ({}) end within the warm-up ({})",
                        fmt_duration(staged),
                        fmt_duration(warmup)
                    ),
                    Some("lengthen the stages or shorten the warm-up".into()),
                ));
            }
            staged - warmup
        }
        // Iterations alone still get a time bound: every load loop stops by itself.
        (None, Some(_)) => Duration::from_secs(600),
        (None, None) => {
            return Err(cx.err(
                key.span(),
                format!(
                    "scenario `{}` needs `duration` or `iterations`",
                    key.get_ref()
                ),
                Some("e.g. duration = \"20s\" (measured time after the warm-up)".into()),
            ));
        }
    };
    if let (Load::Closed(closed), Some(ramp)) = (&load, &s.load.get_ref().ramp_up)
        && closed.ramp_up > warmup + duration
    {
        return Err(cx.err(ramp.span(), format!("`ramp-up` ({}) is longer than warm-up plus duration ({}): some users would never start", fmt_duration(closed.ramp_up), fmt_duration(warmup + duration)), Some("shorten the ramp-up or lengthen the scenario".into())));
    }
    let graceful_stop = match &s.graceful_stop {
        Some(v) => cx.duration(v, "graceful-stop")?,
        None => Duration::from_secs(5),
    };
    let phases = stress::phases(cx, s, &load, warmup + duration)?;
    let ctx = stress::Facts {
        phases: &phases,
        warmup,
        capacity: s.capacity.is_some(),
        recovery: s.recovery.is_some(),
        closed: matches!(load, Load::Closed(_)),
        component,
        sut_known,
    };
    let mut assertions: Vec<Assertion> = Vec::new();
    for a in &s.assert {
        let text = a.get_ref();
        let parsed = Assertion::parse(text, requests)
            .map_err(|e| cx.err(cx.inner_span(a.span(), text, e.range), e.message, e.help))?;
        if assertions.iter().any(|b| b.text.trim() == text.trim()) {
            return Err(cx.err(
                a.span(),
                format!("duplicate assertion {text:?}"),
                Some("remove one of them".into()),
            ));
        }
        if let crate::assertion::Metric::Resource(r) = parsed.metric
            && r.source == crate::assertion::Source::Sut
            && !sut_known
        {
            return Err(cx.err(a.span(), format!("`{}` needs the target's process, and this `url` target does not say which it is", r.name()), Some(
                "add `process-name = \"my-service\"`, `pid-file = \"…\"` or `pid = …` to [target]".into(),
            )));
        }
        if let Some(w) = parsed.window
            && w > duration
        {
            return Err(cx.err(a.span(), format!("the window ({}) is longer than the measured duration ({})", fmt_duration(w), fmt_duration(duration)), Some("no complete window would be measured: shorten the window or lengthen `duration`".into())));
        }
        let streams_in_scope = match &parsed.scope {
            Some(name) => streaming.contains(&name.as_str()),
            None => !streaming.is_empty(),
        };
        if parsed.metric.needs_stream() && !streams_in_scope {
            return Err(cx.err(a.span(), format!("`{}` reads streamed responses, but {} streams", parsed.metric.name(), parsed.scope.as_deref().map_or("no request".to_string(), |r| format!("request `{r}` never"))), Some(
                "give the request stream = \"sse\" (server-sent events, e.g. an LLM chat completion with \"stream\": true)".into(),
            )));
        }
        if matches!(
            parsed.metric,
            crate::assertion::Metric::Goodput | crate::assertion::Metric::GoodputRate
        ) && s.goodput.is_none()
        {
            return Err(cx.err(a.span(), "`goodput` needs per-request budgets", Some("add goodput = { ttft = \"300ms\", tpot = \"40ms\" } (and/or e2e) to the scenario".into())));
        }
        stress::check_assertion(cx, a.span(), &parsed, &ctx)?;
        assertions.push(parsed);
    }
    let recovery = match &s.recovery {
        Some(r) => Some(stress::recovery(cx, r, &phases, warmup, warmup + duration)?),
        None => None,
    };
    let capacity = match &s.capacity {
        Some(c) => Some(capacity::capacity(cx, c, s, &load, &assertions)?),
        None => None,
    };
    capacity::check_regression(cx, s.regression.as_ref(), capacity.is_some(), ctx.closed)?;
    let abort_on = match &s.abort_on {
        Some(list) => stress::abort_on(cx, list, requests, &ctx, duration)?,
        None => Vec::new(),
    };
    if s.assert.is_empty() {
        // A scenario that checks nothing must not pass against a service that only fails.
        let mut implied =
            Assertion::parse(IMPLIED_CHECK, requests).expect("the implied assertion is valid");
        implied.text = format!("{IMPLIED_CHECK} {IMPLIED_NOTE}");
        assertions.push(implied);
    }
    let max_lateness = match &s.max_lateness {
        Some(v) => Some(cx.positive(v, "max-lateness")?),
        None => None,
    };
    let inconclusive = match s.inconclusive.as_ref().map(|v| (v.get_ref().as_str(), v.span())) {
        None | Some(("fail", _)) => Inconclusive::Fail,
        Some(("pass", _)) => Inconclusive::Pass,
        Some((other, span)) => return Err(cx.err(span, format!("unknown `inconclusive` value {other:?}"), Some("\"fail\" (default: an untrustworthy run fails the test) or \"pass\" (report it, pass the test)".into()))),
    };
    let sample_interval = match &s.sample_interval {
        Some(v) => {
            let d = cx.duration(v, "sample-interval")?;
            if d < crate::resources::MIN_INTERVAL {
                return Err(cx.err(v.span(), format!("`sample-interval` must be at least {}", fmt_duration(crate::resources::MIN_INTERVAL)), Some(
                    "CPU usage is the difference of two readings at least 200ms apart; the default is \"250ms\"".into(),
                )));
            }
            if d > duration {
                return Err(cx.err(v.span(), format!("`sample-interval` ({}) is longer than the measured duration ({})", fmt_duration(d), fmt_duration(duration)), Some(
                    "no sample would fall in the measured time: shorten the interval or lengthen `duration`".into(),
                )));
            }
            d
        }
        None => crate::resources::DEFAULT_INTERVAL,
    };
    Ok(Scenario {
        name: key.get_ref().clone(),
        load,
        warmup,
        duration,
        iterations,
        graceful_stop,
        ignore: s.ignore,
        assertions,
        max_lateness,
        inconclusive,
        regression: convert_regression(cx, s.regression.as_ref(), requests)?,
        goodput: match &s.goodput {
            None => None,
            Some(g) => {
                let budget = |v: &Option<S<String>>, key| {
                    v.as_ref().map(|v| cx.positive(v, key)).transpose()
                };
                let raw = g.get_ref();
                let goodput = Goodput {
                    ttft: budget(&raw.ttft, "ttft")?,
                    tpot: budget(&raw.tpot, "tpot")?,
                    e2e: budget(&raw.e2e, "e2e")?,
                };
                if goodput == Goodput::default() {
                    return Err(cx.err(g.span(), "`goodput` sets no budget", Some("e.g. goodput = { ttft = \"300ms\", tpot = \"40ms\" } (also e2e for the whole response)".into())));
                }
                Some(goodput)
            }
        },
        sample_interval,
        require_gpu: s.require_gpu.as_ref().is_some_and(|v| *v.get_ref()),
        phases,
        recovery,
        capacity,
        abort_on,
        flows: Vec::new(),
    })
}
