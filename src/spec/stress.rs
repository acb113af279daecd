//! Stress and recovery settings of a scenario: the phases its stages name, where assertions
//! may refer to them (`p95 in steady < 300ms`), `recovery = { … }` and `abort-on = [ … ]`.

use std::ops::Range;
use std::time::Duration;

use super::cx::{Cx, R, check_name, closest};
use super::raw::{RawRecovery, RawScenario, S};
use super::{Load, Phase};
use crate::assertion::{Assertion, Metric};
use crate::units::{fmt_duration, number_and_unit};

/// How recovery is measured: `recovery = { after = "stress", reference = "steady" }`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveryRule {
    /// The phase whose end is the drop in load.
    pub after: String,
    /// A phase whose p95 and error rate are the reference.
    pub reference: Option<String>,
    /// How far above the reference phase's p95 still counts as recovered (a share).
    pub tolerance: f64,
    /// A p95 limit (µs) instead of (or tighter than) the reference's.
    pub p95: Option<f64>,
    /// An error-rate limit (a fraction) instead of the reference's.
    pub error_rate: Option<f64>,
    /// Seconds in each window whose p95 and error rate are judged.
    pub window: u64,
    /// Consecutive windows (one a second) that must be within the limits.
    pub hold: u64,
}

/// The phases of the stages of `load`, from the start of the run; `total` is warm-up plus
/// duration (the phase of the last stage lasts until then).
pub(super) fn phases(cx: &Cx, raw: &RawScenario, load: &Load, total: Duration) -> R<Vec<Phase>> {
    let Some(list) = &raw.load.get_ref().stages else {
        return Ok(Vec::new());
    };
    let mut phases: Vec<Phase> = Vec::new();
    let mut open = false;
    let mut t = Duration::ZERO;
    for (stage, raw_stage) in load.stages().iter().zip(list.get_ref()) {
        let end = t + stage.length();
        match &raw_stage.get_ref().phase {
            None => open = false,
            Some(name) => {
                check_name(cx, name, "phase")?;
                let n = name.get_ref();
                match phases.last_mut() {
                    Some(last) if open && last.name == *n => last.end = end,
                    _ => {
                        if phases.iter().any(|p| p.name == *n) {
                            return Err(cx.err(name.span(), format!("phase `{n}` is used again after another stage"), Some(
                                "a phase is one stretch of time: give the stages of one phase one after the other, or name them differently".into(),
                            )));
                        }
                        phases.push(Phase {
                            name: n.clone(),
                            start: t,
                            end,
                        });
                        open = true;
                    }
                }
            }
        }
        t = end;
    }
    if open && let Some(last) = phases.last_mut() {
        last.end = last.end.max(total);
    }
    Ok(phases)
}

/// What the scenario says that its assertions are checked against.
pub(super) struct Facts<'a> {
    pub phases: &'a [Phase],
    pub warmup: Duration,
    pub capacity: bool,
    pub recovery: bool,
    pub closed: bool,
    pub component: bool,
    pub sut_known: bool,
}

/// Checks what an assertion says about phases, capacity, recovery and the target against the
/// scenario: `span` is the assertion's string in the spec.
pub(super) fn check_assertion(cx: &Cx, span: Range<usize>, a: &Assertion, ctx: &Facts) -> R<()> {
    if let (Some(name), Some(range)) = (&a.phase, a.phase_range()) {
        let at = cx.inner_span(span.clone(), &a.text, range);
        let phase = find_phase(cx, at, name, ctx.phases, ctx.warmup)?;
        if let Some(w) = a.window {
            let measured = phase.end - phase.start.max(ctx.warmup);
            if w > measured {
                return Err(cx.err(span, format!("the window ({}) is longer than the measured part of phase `{name}` ({})", fmt_duration(w), fmt_duration(measured)), Some("no complete window would be measured: shorten the window or lengthen the phase".into())));
            }
        }
    }
    match a.metric {
        Metric::Capacity | Metric::CapacityUsers if !ctx.capacity => Err(cx.err(span, format!("`{}` is the result of a capacity search, and this scenario has none", a.metric.name()), Some(
            "add capacity = { from = \"50/s\", to = \"2000/s\" } (open model; users in the closed model) to the scenario".into(),
        ))),
        Metric::CapacityUsers if !ctx.closed => Err(cx.err(span, "`capacity-users` is the number of users of a closed-model search", Some(
            "in the open model the search raises the rate: assert on `capacity` (a rate), e.g. \"capacity > 200/s\"".into(),
        ))),
        Metric::RecoveryTime if !ctx.recovery => Err(cx.err(span, "`recovery-time` needs to know what the service recovers from", Some(
            "add recovery = { after = \"stress\", reference = \"steady\" } (phases named by the stages) to the scenario".into(),
        ))),
        Metric::SutAlive if ctx.component => Err(cx.err(span, "`sut.alive` watches the target's process, and a component runs inside the test", Some(
            "remove it: a component that panics fails its requests (errors of kind `component`)".into(),
        ))),
        Metric::SutAlive if !ctx.sut_known => Err(cx.err(span, "`sut.alive` needs the target's process, and this `url` target does not say which it is", Some(
            "add `process-name = \"my-service\"`, `pid-file = \"…\"` or `pid = …` to [target]".into(),
        ))),
        _ => Ok(()),
    }
}

/// The phase called `name`, measured at least in part; `at` is where the name is written.
fn find_phase<'a>(
    cx: &Cx,
    at: Range<usize>,
    name: &str,
    phases: &'a [Phase],
    warmup: Duration,
) -> R<&'a Phase> {
    let Some(phase) = phases.iter().find(|p| p.name == name) else {
        let help = if phases.is_empty() {
            "phases are named by the stages of the load: stages = [{ ramp = \"10s\", to = 50, phase = \"ramp\" }, { hold = \"1m\", phase = \"steady\" }]".to_string()
        } else {
            let names: Vec<&str> = phases.iter().map(|p| p.name.as_str()).collect();
            let hint = closest(name, names.iter().copied())
                .map_or(String::new(), |c| format!("did you mean `{c}`? "));
            format!("{hint}phases of this scenario: {}", names.join(", "))
        };
        return Err(cx.err(at, format!("unknown phase `{name}`"), Some(help)));
    };
    if phase.end <= warmup {
        return Err(cx.err(
            at,
            format!(
                "phase `{name}` ends within the warm-up ({} of {}): nothing in it is measured",
                fmt_duration(phase.end),
                fmt_duration(warmup)
            ),
            Some("shorten the warm-up or lengthen the stages before the phase".into()),
        ));
    }
    Ok(phase)
}

/// `recovery = { after, reference, tolerance, p95, error-rate, window, hold }`.
pub(super) fn recovery(
    cx: &Cx,
    raw: &S<RawRecovery>,
    phases: &[Phase],
    warmup: Duration,
    total: Duration,
) -> R<RecoveryRule> {
    let r = raw.get_ref();
    let after = find_phase(cx, r.after.span(), r.after.get_ref(), phases, warmup)?;
    let seconds = |v: &Option<S<String>>, key: &str, default: u64| -> R<u64> {
        let Some(v) = v else { return Ok(default) };
        let d = cx.positive(v, key)?;
        if d.subsec_nanos() != 0 {
            return Err(cx.err(
                v.span(),
                format!("`{key}` is a whole number of seconds"),
                Some("recovery is judged on the per-second timeline: \"1s\", \"3s\", …".into()),
            ));
        }
        Ok(d.as_secs())
    };
    let window = seconds(&r.window, "window", 1)?;
    let hold = seconds(&r.hold, "hold", 3)?;
    if after.end >= total {
        return Err(cx.err(
            r.after.span(),
            format!(
                "phase `{}` lasts until the end of the run: the load never drops, so nothing recovers",
                after.name
            ),
            Some("add a stage after it, e.g. { ramp = \"2s\", to = 10, phase = \"recovery\" }, and give it time to recover".into()),
        ));
    }
    let left = total - after.end;
    if left < Duration::from_secs(window + hold) {
        return Err(cx.err(raw.span(), format!("{} after phase `{}` is too short to see a recovery: it takes {} (window) plus {} (hold) at least", fmt_duration(left), after.name, fmt_duration(Duration::from_secs(window)), fmt_duration(Duration::from_secs(hold))), Some(
            "lengthen the stages after the phase, or shorten `window` or `hold`".into(),
        )));
    }
    let reference = match &r.reference {
        None => None,
        Some(v) => {
            let p = find_phase(cx, v.span(), v.get_ref(), phases, warmup)?;
            if p.name == after.name {
                return Err(cx.err(v.span(), "the reference is the phase recovered from", Some(
                    "the reference is how the service behaves before the stress, e.g. reference = \"steady\"".into(),
                )));
            }
            Some(p.name.clone())
        }
    };
    let tolerance = match &r.tolerance {
        Some(v) if reference.is_none() => {
            return Err(cx.err(
                v.span(),
                "`tolerance` applies to the reference phase's p95",
                Some("add reference = \"PHASE\", or remove `tolerance`".into()),
            ));
        }
        Some(v) => share(cx, v, "tolerance", 0.0..=10.0)?,
        None => 0.5,
    };
    let p95 = match &r.p95 {
        Some(v) => Some(cx.positive(v, "p95")?.as_secs_f64() * 1e6),
        None => None,
    };
    let error_rate = match &r.error_rate {
        Some(v) => Some(share(cx, v, "error-rate", 0.0..=1.0)?),
        None => None,
    };
    if reference.is_none() && p95.is_none() && error_rate.is_none() {
        return Err(cx.err(raw.span(), "`recovery` needs a reference to recover to", Some(
            "give a phase (reference = \"steady\") or limits (p95 = \"300ms\", error-rate = \"1%\")".into(),
        )));
    }
    Ok(RecoveryRule {
        after: after.name.clone(),
        reference,
        tolerance,
        p95,
        error_rate,
        window,
        hold,
    })
}

/// A share written as a percentage within `range` (as a fraction).
pub(super) fn share(
    cx: &Cx,
    v: &S<String>,
    key: &str,
    range: std::ops::RangeInclusive<f64>,
) -> R<f64> {
    match number_and_unit(v.get_ref()) {
        Some((n, "%")) if range.contains(&(n / 100.0)) => Ok(n / 100.0),
        _ => Err(cx.err(
            v.span(),
            format!(
                "`{key}` must be a percentage from {}% to {}%, such as \"5%\"",
                range.start() * 100.0,
                range.end() * 100.0
            ),
            None,
        )),
    }
}

/// `abort-on = ["error-rate over 5s > 20%"]`: conditions that end the run early when they
/// hold in a window.
pub(super) fn abort_on(
    cx: &Cx,
    raw: &S<Vec<S<String>>>,
    requests: &[&str],
    ctx: &Facts,
    duration: Duration,
) -> R<Vec<Assertion>> {
    let mut out: Vec<Assertion> = Vec::new();
    for v in raw.get_ref() {
        let text = v.get_ref();
        let a = Assertion::parse(text, requests)
            .map_err(|e| cx.err(cx.inner_span(v.span(), text, e.range), e.message, e.help))?;
        let Some(w) = a.window else {
            return Err(cx.err(v.span(), format!("abort condition {text:?} has no window"), Some(
                "abort conditions are checked on the latest window as the run goes: write one, e.g. \"error-rate over 5s > 20%\"".into(),
            )));
        };
        if w > duration {
            return Err(cx.err(
                v.span(),
                format!(
                    "the window ({}) is longer than the measured duration ({})",
                    fmt_duration(w),
                    fmt_duration(duration)
                ),
                Some("the condition could never be checked: shorten the window".into()),
            ));
        }
        check_assertion(cx, v.span(), &a, ctx)?;
        if out.iter().any(|b| b.text.trim() == text.trim()) {
            return Err(cx.err(
                v.span(),
                format!("duplicate abort condition {text:?}"),
                Some("remove one of them".into()),
            ));
        }
        out.push(a);
    }
    Ok(out)
}
