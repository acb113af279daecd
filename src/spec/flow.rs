//! `[[flow]]`: ordered steps of one user (a login `setup` once, then `steps` per iteration,
//! then its `teardown`, which runs even when a step failed), whose captures fill
//! `{{user.NAME}}` in later requests.

use std::time::Duration;

use super::Request;
use super::capture::{CaptureFrom, convert_capture};
use super::chat::{CONVERSATION, Chat, chat_step};
use super::cx::{Cx, R, check_name, closest};
use super::raw::{RawSpec, RawStep, S};
use super::request::convert_weight;

/// A flow: what one user does, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    /// Name (`crud`).
    pub name: String,
    /// Relative weight among the scenario's flows (≥ 1).
    pub weight: u32,
    /// Steps run once per user before its first iteration of this flow (a login); run again
    /// at the next iteration while they have not all succeeded.
    pub setup: Vec<FlowStep>,
    /// Steps of one iteration, each sent when the previous one completed (plus its think).
    pub steps: Vec<FlowStep>,
    /// Steps that end every iteration, also one whose steps failed (clean-up: delete what
    /// was created); a teardown step whose variables this iteration did not capture is
    /// skipped.
    pub teardown: Vec<FlowStep>,
}

/// One step: a request, the pause before it, and what it captures.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowStep {
    /// Index of the request in the spec.
    pub request: usize,
    /// Pause between the previous step's completion and this step's start.
    pub think: Duration,
    /// Values taken from the response.
    pub captures: Vec<Capture>,
    /// When set, the step is a multi-turn conversation rather than one request.
    pub chat: Option<Chat>,
    /// The user variables (slots) its request's templates read.
    pub needs: Vec<usize>,
}

/// A value taken from a response into a user variable.
#[derive(Debug, Clone, PartialEq)]
pub struct Capture {
    /// The variable's name (`{{user.NAME}}`).
    pub name: String,
    /// Its index in the rows templates render from (after the data sources).
    pub slot: usize,
    /// Where it is taken from.
    pub from: CaptureFrom,
    /// Whether its values are credentials, redacted from every report and the target's log:
    /// `secret = true`, a credential header read (`set-cookie`), or a variable sent in a
    /// credential header (`authorization = "Bearer {{user.token}}"`).
    pub secret: bool,
}

/// Every variable any flow step captures, in file order: the names `{{user.NAME}}` may use.
pub(super) fn user_vars(raw: &RawSpec) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for f in &raw.flow {
        let f = f.get_ref();
        for step in f.setup.iter().chain(f.steps.get_ref()).chain(&f.teardown) {
            if step.get_ref().turns.is_some() && !names.iter().any(|n| n == CONVERSATION) {
                names.push(CONVERSATION.to_string());
            }
            for name in step.get_ref().capture.keys() {
                if !names.contains(name.get_ref()) {
                    names.push(name.get_ref().clone());
                }
            }
        }
    }
    names
}

/// The user variables a request's templates read (their slots).
pub(super) fn request_vars(r: &Request) -> Vec<usize> {
    let body = match &r.body {
        super::Body::Empty => None,
        super::Body::Json(t) | super::Body::Raw(t) => Some(t),
    };
    let mut vars: Vec<usize> = r
        .path
        .user_vars()
        .chain(r.query.iter().flat_map(|(_, t)| t.user_vars()))
        .chain(r.headers.iter().flat_map(|(_, t)| t.user_vars()))
        .chain(body.into_iter().flat_map(|t| t.user_vars()))
        .collect();
    vars.sort_unstable();
    vars.dedup();
    vars
}

pub(super) fn convert_flows(cx: &Cx, raw: &RawSpec, requests: &[Request]) -> R<Vec<Flow>> {
    super::chat::check_conversation_name(cx, raw)?;
    let credentials = credential_vars(requests);
    let mut flows: Vec<Flow> = Vec::new();
    for f in &raw.flow {
        let f = f.get_ref();
        check_name(cx, &f.name, "flow")?;
        if flows.iter().any(|g| g.name == *f.name.get_ref()) {
            return Err(cx.err(
                f.name.span(),
                format!("duplicate flow name `{}`", f.name.get_ref()),
                Some("each flow needs its own name".into()),
            ));
        }
        let weight = convert_weight(cx, &f.weight, "flow")?;
        if f.steps.get_ref().is_empty() {
            return Err(cx.err(
                f.steps.span(),
                format!("flow `{}` has no steps", f.name.get_ref()),
                Some("e.g. steps = [{ request = \"create\" }, { request = \"get\" }]".into()),
            ));
        }
        // Variables set so far: a step may only use what an earlier step captured.
        let mut known: Vec<usize> = Vec::new();
        let mut convert = |steps: &[S<RawStep>]| -> R<Vec<FlowStep>> {
            steps
                .iter()
                .map(|s| {
                    convert_step(
                        cx,
                        f.name.get_ref(),
                        s.get_ref(),
                        requests,
                        &mut known,
                        &credentials,
                    )
                })
                .collect()
        };
        let setup = convert(&f.setup)?;
        let steps = convert(f.steps.get_ref())?;
        // A teardown step may use what any step captured: it is skipped, at run time, in an
        // iteration that did not capture it.
        for s in &f.teardown {
            teardown_step(cx, f.name.get_ref(), s)?;
        }
        let teardown = convert(&f.teardown)?;
        flows.push(Flow {
            name: f.name.get_ref().clone(),
            weight,
            setup,
            steps,
            teardown,
        });
    }
    Ok(flows)
}

/// The user variables sent in a credential header of some request (`authorization = "Bearer
/// {{user.token}}"`): their captured values are secrets.
fn credential_vars(requests: &[Request]) -> Vec<usize> {
    requests
        .iter()
        .flat_map(|r| &r.headers)
        .filter(|(name, _)| super::expect::sensitive(name))
        .flat_map(|(_, t)| t.user_vars())
        .collect()
}

/// A teardown step sends a request and captures nothing: no step follows it that could use a
/// value, and a conversation is not clean-up.
fn teardown_step(cx: &Cx, flow: &str, s: &S<RawStep>) -> R<()> {
    let raw = s.get_ref();
    if let Some((var, _)) = raw.capture.first() {
        return Err(cx.err(
            var.span(),
            format!("a teardown step of flow `{flow}` captures `{}`: nothing after it could use it", var.get_ref()),
            Some("capture in `setup` or `steps`; teardown steps only send (e.g. { request = \"delete\" })".into()),
        ));
    }
    if let Some(t) = &raw.turns {
        return Err(cx.err(
            t.span(),
            format!("a teardown step of flow `{flow}` holds a conversation"),
            Some("chat steps belong in `steps`; teardown steps clean up (e.g. { request = \"delete\" })".into()),
        ));
    }
    Ok(())
}

fn convert_step(
    cx: &Cx,
    flow: &str,
    s: &RawStep,
    requests: &[Request],
    known: &mut Vec<usize>,
    credentials: &[usize],
) -> R<FlowStep> {
    let name = s.request.get_ref();
    let Some(request) = requests.iter().position(|r| r.name == *name) else {
        let names: Vec<&str> = requests.iter().map(|r| r.name.as_str()).collect();
        let hint = closest(name, names.iter().copied())
            .map_or(String::new(), |c| format!("did you mean `{c}`? "));
        return Err(cx.err(
            s.request.span(),
            format!("flow `{flow}` names unknown request `{name}`"),
            Some(format!("{hint}requests: {}", names.join(", "))),
        ));
    };
    let chat = chat_step(cx, flow, s, &requests[request])?;
    if let Some(c) = &chat
        && !known.contains(&c.slot)
    {
        // The conversation is the step's own: known from its first turn on.
        known.push(c.slot);
    }
    let needs = request_vars(&requests[request]);
    for &slot in &needs {
        if !known.contains(&slot) {
            let var = &cx.user_vars[slot - cx.data.len()];
            return Err(cx.err(
                s.request.span(),
                format!("request `{name}` uses `{{{{user.{var}}}}}`, but no earlier step of flow `{flow}` captures `{var}`"),
                Some(format!("capture it in a step before this one (or in `setup`), e.g. capture = {{ {var} = {{ json = \"/{var}\" }} }}")),
            ));
        }
    }
    let think = match &s.think {
        Some(t) => cx.duration(t, "think")?,
        None => Duration::ZERO,
    };
    let mut captures = Vec::new();
    for (var, c) in &s.capture {
        let slot = cx.data.len()
            + cx.user_vars
                .iter()
                .position(|v| v == var.get_ref())
                .expect("user_vars lists every capture");
        let from = convert_capture(cx, var, c, &requests[request])?;
        let secret = c.get_ref().secret.as_ref().map(|s| *s.get_ref()) != Some(false)
            && (c.get_ref().secret.is_some()
                || credentials.contains(&slot)
                || matches!(&from, CaptureFrom::Header(h) if super::expect::sensitive(h)));
        captures.push(Capture {
            name: var.get_ref().clone(),
            slot,
            from,
            secret,
        });
    }
    // Known after the step: its own captures serve the steps that follow.
    known.extend(captures.iter().map(|c| c.slot));
    Ok(FlowStep {
        request,
        think,
        captures,
        chat,
        needs,
    })
}

/// A JSON pointer (RFC 6901): empty (the whole body) or `/`-separated tokens, `~` only as
/// `~0` or `~1`.
pub(super) fn json_pointer(cx: &Cx, p: &S<String>) -> R<()> {
    let text = p.get_ref();
    let bad_tilde = text
        .split('~')
        .skip(1)
        .any(|rest| !rest.starts_with('0') && !rest.starts_with('1'));
    if (!text.is_empty() && !text.starts_with('/')) || bad_tilde {
        let hint = if bad_tilde {
            "`~` is written `~0` and `/` inside a key `~1`".to_string()
        } else {
            format!(
                "did you mean \"/{}\"?",
                text.trim_start_matches(['$', '.']).replace('.', "/")
            )
        };
        return Err(cx.err(
            p.span(),
            format!("{text:?} is not a JSON pointer"),
            Some(format!(
                "{hint} A JSON pointer starts with `/` and names keys and indices: \"/items/0/id\""
            )),
        ));
    }
    Ok(())
}
