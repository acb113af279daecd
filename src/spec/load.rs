//! `load = { model = … }`: the closed and open models.

use std::time::Duration;

use super::cx::{Cx, R, closest};
use super::raw::{RawLoad, RawStage, S};
use super::{Arrivals, Closed, Load, Open, Stage, Think};
use crate::units::{RATE_HELP, parse_duration, parse_rate};

const MODELS: &[&str] = &["closed", "open"];

pub(super) fn convert_load(cx: &Cx, raw: &S<RawLoad>) -> R<Load> {
    let l = raw.get_ref();
    let only = |present: Option<std::ops::Range<usize>>, key: &str, model: &str| {
        match present {
        Some(span) => Err(cx.err(span, format!("`{key}` applies to the {model} model"), Some(match model {
            "closed" => "the open model sends requests at `rate`; the closed model has `users` that wait for responses".to_string(),
            _ => "the closed model has `users`; the open model sends requests at `rate` (see the README)".to_string(),
        }))),
        None => Ok(()),
    }
    };
    match l.model.get_ref().as_str() {
        "closed" => {
            only(l.rate.as_ref().map(S::span), "rate", "open")?;
            only(l.max_users.as_ref().map(S::span), "max-users", "open")?;
            only(l.arrivals.as_ref().map(S::span), "arrivals", "open")?;
            only(l.seed.as_ref().map(S::span), "seed", "open")?;
            let users = match &l.users {
                None if l.stages.is_some() => 0,
                None => {
                    return Err(cx.err(
                        raw.span(),
                        "the closed model needs `users`",
                        Some("e.g. load = { model = \"closed\", users = 10 }".into()),
                    ));
                }
                Some(u)
                    if !(0..=MAX_USERS).contains(u.get_ref())
                        || (*u.get_ref() == 0 && l.stages.is_none()) =>
                {
                    return Err(cx.err(
                        u.span(),
                        format!(
                            "`users` must be between 1 and {MAX_USERS}, not {}",
                            u.get_ref()
                        ),
                        None,
                    ));
                }
                Some(u) => *u.get_ref() as u32,
            };
            let ramp_up = match &l.ramp_up {
                Some(v) if l.stages.is_some() => {
                    return Err(cx.err(
                        v.span(),
                        "`ramp-up` and `stages` both say how users start",
                        Some("with stages, ramp with a stage: stages = [{ ramp = \"10s\", to = 50 }, { hold = \"1m\" }]".into()),
                    ));
                }
                Some(v) => cx.duration(v, "ramp-up")?,
                None => Duration::ZERO,
            };
            let think = match &l.think_time {
                None => Think::Fixed(Duration::ZERO),
                Some(v) => parse_think(v.get_ref()).map_err(|e| {
                    cx.err(
                        v.span(),
                        format!("`think-time`: {e}"),
                        Some("a duration (\"200ms\") or a range (\"100ms..500ms\")".into()),
                    )
                })?,
            };
            let stages = stages(cx, l, Model::Closed)?;
            if users == 0
                && stages
                    .iter()
                    .all(|s| matches!(s, Stage::Hold(_) | Stage::Ramp { to: 0.0, .. }))
            {
                return Err(cx.err(
                    raw.span(),
                    "this load never sends a request: no user ever starts",
                    Some("give `users` or ramp to a number of users above zero".into()),
                ));
            }
            Ok(Load::Closed(Closed {
                users,
                ramp_up,
                think,
                stages,
            }))
        }
        "open" => {
            only(l.users.as_ref().map(S::span), "users", "closed")?;
            only(l.ramp_up.as_ref().map(S::span), "ramp-up", "closed")?;
            only(l.think_time.as_ref().map(S::span), "think-time", "closed")?;
            let rate =
                match &l.rate {
                    Some(r) => rate(cx, r, "rate")?,
                    None if l.stages.is_some() => 0.0,
                    None => return Err(cx.err(
                        raw.span(),
                        "the open model needs `rate` (or `stages`)",
                        Some(
                            "e.g. load = { model = \"open\", rate = \"200/s\", max-users = 256 }"
                                .into(),
                        ),
                    )),
                };
            let stages = stages(cx, l, Model::Open)?;
            if rate == 0.0
                && stages
                    .iter()
                    .all(|s| matches!(s, Stage::Hold(_) | Stage::Ramp { to: 0.0, .. }))
            {
                return Err(cx.err(
                    raw.span(),
                    "this load never sends a request: the rate stays at zero",
                    Some("give `rate` or ramp to a rate above zero".into()),
                ));
            }
            let max_users = match &l.max_users {
                Some(u) if !(1..=100_000).contains(u.get_ref()) => {
                    return Err(cx.err(
                        u.span(),
                        format!(
                            "`max-users` must be between 1 and 100000, not {}",
                            u.get_ref()
                        ),
                        None,
                    ));
                }
                Some(u) => *u.get_ref() as u32,
                None => 1000,
            };
            let seed = match &l.seed {
                Some(s) if *s.get_ref() < 0 => {
                    return Err(cx.err(s.span(), "`seed` must not be negative", None));
                }
                Some(s) => Some(*s.get_ref() as u64),
                None => None,
            };
            let arrivals = match l.arrivals.as_ref().map(|a| (a.get_ref().as_str(), a.span())) {
                None | Some(("uniform", _)) => {
                    if let Some(s) = &l.seed {
                        return Err(cx.err(s.span(), "`seed` applies to arrivals = \"poisson\"", Some("uniform arrivals are evenly spaced; remove `seed` or add arrivals = \"poisson\"".into())));
                    }
                    Arrivals::Uniform
                }
                Some(("poisson", _)) => Arrivals::Poisson { seed: seed.unwrap_or(1) },
                Some((other, span)) => return Err(cx.err(span, format!("unknown arrivals {other:?}"), Some("arrivals = \"uniform\" (evenly spaced, default) or \"poisson\" (random gaps, seeded by `seed`)".into()))),
            };
            Ok(Load::Open(Open {
                rate,
                stages,
                max_users,
                arrivals,
            }))
        }
        other => {
            let hint = closest(other, MODELS.iter().copied())
                .map_or(String::new(), |c| format!("did you mean `{c}`? "));
            Err(cx.err(l.model.span(), format!("unknown load model {other:?}"), Some(format!("{hint}models: \"closed\" (users that wait for each response) and \"open\" (requests at a rate)"))))
        }
    }
}

fn rate(cx: &Cx, v: &S<String>, key: &str) -> R<f64> {
    rate_at(cx, v.get_ref(), v.span(), key)
}

fn rate_at(cx: &Cx, text: &str, span: std::ops::Range<usize>, key: &str) -> R<f64> {
    let r = parse_rate(text).map_err(|e| {
        cx.err(
            span.clone(),
            format!("`{key}`: {e}"),
            Some(format!("{RATE_HELP}, e.g. {key} = \"200/s\"")),
        )
    })?;
    if !(0.0..=10_000_000.0).contains(&r) {
        return Err(cx.err(
            span,
            format!("`{key}` must be between 0/s and 10000000/s"),
            None,
        ));
    }
    Ok(r)
}

/// Which model a stage's `to` belongs to: a rate, or a number of users.
#[derive(Clone, Copy, PartialEq)]
enum Model {
    Closed,
    Open,
}

const MAX_USERS: i64 = 100_000;

fn stages(cx: &Cx, l: &RawLoad, model: Model) -> R<Vec<Stage>> {
    let example = match model {
        Model::Open => "e.g. stages = [{ ramp = \"10s\", to = \"200/s\" }, { hold = \"30s\" }]",
        Model::Closed => "e.g. stages = [{ ramp = \"10s\", to = 50 }, { hold = \"30s\" }]",
    };
    match &l.stages {
        Some(list) if list.get_ref().is_empty() => {
            Err(cx.err(list.span(), "`stages` is empty", Some(example.into())))
        }
        Some(list) => list
            .get_ref()
            .iter()
            .map(|s| stage(cx, s, model, example))
            .collect(),
        None => Ok(Vec::new()),
    }
}

fn stage(cx: &Cx, s: &S<RawStage>, model: Model, example: &str) -> R<Stage> {
    let st = s.get_ref();
    match (&st.ramp, &st.to, &st.hold) {
        (Some(over), Some(to), None) => Ok(Stage::Ramp {
            over: cx.positive(over, "ramp")?,
            to: level(cx, to, model)?,
        }),
        (None, None, Some(hold)) => Ok(Stage::Hold(cx.positive(hold, "hold")?)),
        _ => Err(cx.err(
            s.span(),
            "a stage is either { ramp = DURATION, to = LEVEL } or { hold = DURATION }, each with an optional `phase`",
            Some(example.into()),
        )),
    }
}

/// A stage's `to`: a rate in the open model, a whole number of users in the closed one.
fn level(cx: &Cx, to: &S<toml::Value>, model: Model) -> R<f64> {
    match (model, to.get_ref()) {
        (Model::Open, toml::Value::String(text)) => rate_at(cx, text, to.span(), "to"),
        (Model::Open, other) => Err(cx.err(
            to.span(),
            format!("`to` is a rate in the open model, not {}", a_kind(other)),
            Some(format!("{RATE_HELP}, e.g. to = \"200/s\"")),
        )),
        (Model::Closed, toml::Value::Integer(n)) if (0..=MAX_USERS).contains(n) => Ok(*n as f64),
        (Model::Closed, toml::Value::Integer(n)) => Err(cx.err(
            to.span(),
            format!("`to` must be between 0 and {MAX_USERS} users, not {n}"),
            None,
        )),
        (Model::Closed, other) => Err(cx.err(
            to.span(),
            format!(
                "`to` is a number of users in the closed model, not {}",
                a_kind(other)
            ),
            Some(
                "e.g. { ramp = \"10s\", to = 50 }; rates (\"200/s\") belong to the open model"
                    .into(),
            ),
        )),
    }
}

/// `a string`, `an integer`, … for messages about a value of the wrong kind.
pub(super) fn a_kind(v: &toml::Value) -> String {
    let kind = v.type_str();
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {kind}")
}

fn parse_think(text: &str) -> Result<Think, String> {
    match text.split_once("..") {
        None => Ok(Think::Fixed(parse_duration(text)?)),
        Some((a, b)) => {
            let (a, b) = (parse_duration(a.trim())?, parse_duration(b.trim())?);
            if a > b {
                return Err(format!("range {text:?} runs backwards"));
            }
            Ok(Think::Uniform(a, b))
        }
    }
}
