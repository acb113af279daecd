//! `[scenario.NAME]`: load model, timing and assertions.

use std::time::Duration;

use super::cx::{Cx, R, check_name, closest};
use super::raw::{RawLoad, RawScenario, S};
use super::{Closed, Load, Scenario, Think};
use crate::assertion::Assertion;
use crate::units::{fmt_duration, parse_duration};

pub(super) fn convert_scenario(
    cx: &Cx,
    key: &S<String>,
    raw: &S<RawScenario>,
    requests: &[&str],
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
    let duration = match (&s.duration, iterations) {
        (Some(v), _) => cx.positive(v, "duration")?,
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
    let Load::Closed(closed) = &load;
    if let Some(ramp) = &s.load.get_ref().ramp_up
        && closed.ramp_up > warmup + duration
    {
        return Err(cx.err(ramp.span(), format!("`ramp-up` ({}) is longer than warm-up plus duration ({}): some users would never start", fmt_duration(closed.ramp_up), fmt_duration(warmup + duration)), Some("shorten the ramp-up or lengthen the scenario".into())));
    }
    let graceful_stop = match &s.graceful_stop {
        Some(v) => cx.duration(v, "graceful-stop")?,
        None => Duration::from_secs(5),
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
        if let Some(w) = parsed.window
            && w > duration
        {
            return Err(cx.err(a.span(), format!("the window ({}) is longer than the measured duration ({})", fmt_duration(w), fmt_duration(duration)), Some("no complete window would be measured: shorten the window or lengthen `duration`".into())));
        }
        assertions.push(parsed);
    }
    Ok(Scenario {
        name: key.get_ref().clone(),
        load,
        warmup,
        duration,
        iterations,
        graceful_stop,
        ignore: s.ignore,
        assertions,
    })
}

const MODELS: &[&str] = &["closed"];

fn convert_load(cx: &Cx, raw: &S<RawLoad>) -> R<Load> {
    let l = raw.get_ref();
    match l.model.get_ref().as_str() {
        "closed" => {
            let users = match &l.users {
                None => {
                    return Err(cx.err(
                        raw.span(),
                        "the closed model needs `users`",
                        Some("e.g. load = { model = \"closed\", users = 10 }".into()),
                    ));
                }
                Some(u) if !(1..=100_000).contains(u.get_ref()) => {
                    return Err(cx.err(
                        u.span(),
                        format!("`users` must be between 1 and 100000, not {}", u.get_ref()),
                        None,
                    ));
                }
                Some(u) => *u.get_ref() as u32,
            };
            let ramp_up = match &l.ramp_up {
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
            Ok(Load::Closed(Closed {
                users,
                ramp_up,
                think,
            }))
        }
        other => {
            let hint = closest(other, MODELS.iter().copied())
                .map_or(String::new(), |c| format!("did you mean `{c}`? "));
            Err(cx.err(
                l.model.span(),
                format!("unknown load model {other:?}"),
                Some(format!(
                    "{hint}models: \"closed\" (users that wait for each response)"
                )),
            ))
        }
    }
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
