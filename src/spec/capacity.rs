//! `capacity = { from, to, search, step, precision, repeat, max-steps }`: a capacity search
//! instead of one run at one level.

use super::Load;
use super::cx::{Cx, R};
use super::load::a_kind;
use super::raw::{RawCapacity, RawRegression, RawScenario, S};
use super::stress::share;
use crate::assertion::{Assertion, Metric};
use crate::units::{RATE_HELP, parse_rate};

/// A capacity search: `capacity = { from = "50/s", to = "2000/s" }`.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacityRule {
    /// The first level tried: a rate (open model) or users (closed model).
    pub from: f64,
    /// The highest level tried.
    pub to: f64,
    /// How the next level is chosen.
    pub search: Search,
    /// Extra runs of a step that was close to a limit (noisy).
    pub repeat: u32,
    /// The most steps (runs) the search may take.
    pub max_steps: u32,
}

/// How a capacity search picks its levels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Search {
    /// Double from `from` until a level fails, then bisect until the interval between the
    /// highest level held and the lowest that failed is within `precision` (a share).
    Bisect {
        /// Relative width at which the search stops.
        precision: f64,
    },
    /// `from`, `from + step`, … until a level fails.
    Step(f64),
}

/// `capacity = { from, to, search, step, precision, repeat, max-steps }`.
pub(super) fn capacity(
    cx: &Cx,
    raw: &S<RawCapacity>,
    scenario: &RawScenario,
    load: &Load,
    assertions: &[Assertion],
) -> R<CapacityRule> {
    let c = raw.get_ref();
    let closed = matches!(load, Load::Closed(_));
    if let Some(stages) = &scenario.load.get_ref().stages {
        return Err(cx.err(stages.span(), "a capacity search sets the load level of each step itself", Some(
            "remove `stages`: the search raises `rate` (open) or `users` (closed) from `from` to `to`".into(),
        )));
    }
    if let Some(it) = &scenario.iterations {
        return Err(cx.err(
            it.span(),
            "a capacity search runs every step for `duration`",
            Some("remove `iterations`".into()),
        ));
    }
    if !assertions.iter().any(|a| {
        !matches!(
            a.metric,
            Metric::Capacity | Metric::CapacityUsers | Metric::Resource(_)
        )
    }) {
        return Err(cx.err(raw.span(), "a capacity search has no assertion to break", Some(
            "the search raises the load until the scenario's own assertions fail: add some, e.g. assert = [\"p95 < 300ms\", \"error-rate < 1%\"]".into(),
        )));
    }
    let level = |v: &S<toml::Value>, key: &str| -> R<f64> {
        match (closed, v.get_ref()) {
            (false, toml::Value::String(text)) => match parse_rate(text) {
                Ok(r) if r > 0.0 && r <= 10_000_000.0 => Ok(r),
                Ok(_) => Err(cx.err(
                    v.span(),
                    format!("`{key}` must be above 0/s and at most 10000000/s"),
                    None,
                )),
                Err(e) => Err(cx.err(
                    v.span(),
                    format!("`{key}`: {e}"),
                    Some(format!("{RATE_HELP}, e.g. {key} = \"100/s\"")),
                )),
            },
            (false, other) => Err(cx.err(
                v.span(),
                format!("`{key}` is a rate in the open model, not {}", a_kind(other)),
                Some(format!("e.g. {key} = \"100/s\"")),
            )),
            (true, toml::Value::Integer(n)) if (1..=100_000).contains(n) => Ok(*n as f64),
            (true, toml::Value::Integer(n)) => Err(cx.err(
                v.span(),
                format!("`{key}` must be between 1 and 100000 users, not {n}"),
                None,
            )),
            (true, other) => Err(cx.err(
                v.span(),
                format!(
                    "`{key}` is a number of users in the closed model, not {}",
                    a_kind(other)
                ),
                Some(format!("e.g. {key} = 10; rates belong to the open model")),
            )),
        }
    };
    let from = level(&c.from, "from")?;
    let to = level(&c.to, "to")?;
    if from >= to {
        return Err(cx.err(
            c.to.span(),
            "`to` must be above `from`",
            Some("the search goes up from `from` to at most `to`".into()),
        ));
    }
    let search = match c.search.as_ref().map(|v| (v.get_ref().as_str(), v.span())) {
        None | Some(("bisect", _)) => {
            if let Some(step) = &c.step {
                return Err(cx.err(step.span(), "`step` applies to search = \"step\"", Some(
                    "bisection halves the interval itself; remove `step` or add search = \"step\"".into(),
                )));
            }
            let precision = match &c.precision {
                Some(p) => {
                    let v = share(cx, p, "precision", 0.001..=1.0)?;
                    if v == 0.0 {
                        return Err(cx.err(p.span(), "`precision` must be above 0%", None));
                    }
                    v
                }
                None => 0.05,
            };
            Search::Bisect { precision }
        }
        Some(("step", span)) => {
            if let Some(p) = &c.precision {
                return Err(cx.err(
                    p.span(),
                    "`precision` applies to search = \"bisect\"",
                    Some("a stepped search is as precise as its `step`".into()),
                ));
            }
            let Some(step) = &c.step else {
                return Err(cx.err(
                    span,
                    "search = \"step\" needs `step`",
                    Some(
                        if closed {
                            "e.g. step = 10 (users)"
                        } else {
                            "e.g. step = \"50/s\""
                        }
                        .into(),
                    ),
                ));
            };
            Search::Step(level(step, "step")?)
        }
        Some((other, span)) => {
            return Err(cx.err(span, format!("unknown search {other:?}"), Some(
                "\"bisect\" (double, then halve the interval; default) or \"step\" (from, from + step, …)".into(),
            )));
        }
    };
    let repeat = match &c.repeat {
        Some(v) if !(0..=5).contains(v.get_ref()) => {
            return Err(cx.err(
                v.span(),
                format!("`repeat` must be between 0 and 5, not {}", v.get_ref()),
                Some("the extra runs of a step whose checks were close to their limits".into()),
            ));
        }
        Some(v) => *v.get_ref() as u32,
        None => 2,
    };
    let max_steps = match &c.max_steps {
        Some(v) if !(2..=100).contains(v.get_ref()) => {
            return Err(cx.err(
                v.span(),
                format!("`max-steps` must be between 2 and 100, not {}", v.get_ref()),
                None,
            ));
        }
        Some(v) => *v.get_ref() as u32,
        None => 20,
    };
    Ok(CapacityRule {
        from,
        to,
        search,
        repeat,
        max_steps,
    })
}

/// `capacity` in `regression.metrics` needs a capacity search to compare.
pub(super) fn check_regression(
    cx: &Cx,
    raw: Option<&S<RawRegression>>,
    capacity: bool,
    closed: bool,
) -> R<()> {
    let Some(list) = raw.and_then(|r| r.get_ref().metrics.as_ref()) else {
        return Ok(());
    };
    for m in list.get_ref() {
        let name = m.get_ref().trim();
        if (name == "capacity" || name == "capacity-users") && !capacity {
            return Err(cx.err(
                m.span(),
                format!("`{name}` is the result of a capacity search, and this scenario has none"),
                Some(
                    "add capacity = { from = …, to = … } to the scenario, or compare other metrics"
                        .into(),
                ),
            ));
        }
        if name == "capacity-users" && !closed {
            return Err(cx.err(
                m.span(),
                "`capacity-users` is the number of users of a closed-model search",
                Some("compare `capacity` (a rate) in the open model".into()),
            ));
        }
    }
    Ok(())
}
