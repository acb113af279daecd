//! A user's place in its flows: which step comes next, and the variables its captures set.
//! The scheduler asks a session for the next request instead of drawing from the mix.

use std::time::Duration;

use rand::rngs::SmallRng;
use serde_json::Value;
use tokio::time::Instant;

use super::Mix;
use crate::client::{Detail, Prepared};
use crate::secrets::CapturedSecrets;
use crate::spec::{CaptureFrom, Chat, Flow, FlowStep};

/// Makes the flows' requests keep what their captures read: the body for a JSON pointer, the
/// named headers.
pub(super) fn keep_captured(requests: &mut [Prepared], flows: &[Flow]) {
    for step in flows
        .iter()
        .flat_map(|f| f.setup.iter().chain(&f.steps).chain(&f.teardown))
    {
        let req = &mut requests[step.request];
        // A chat turn appends the reply's text to the conversation.
        req.keep_text |= step.chat.is_some();
        for c in &step.captures {
            match &c.from {
                CaptureFrom::Json(_) | CaptureFrom::Regex(_) => req.retain_body = true,
                CaptureFrom::Header(h) if !req.keep_headers.contains(h) => {
                    req.keep_headers.push(h.clone());
                }
                CaptureFrom::Header(_) => {}
                CaptureFrom::StreamText => req.keep_text = true,
            }
        }
    }
}

/// Where a user is in its flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// An iteration begins: a flow is picked.
    Start,
    /// Setup step `i` of the flow.
    Setup(usize),
    /// Step `i` of the flow.
    Step(usize),
    /// Teardown step `i` of the flow.
    Teardown(usize),
}

/// An iteration that just ended, for the flow's own figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Ended {
    /// The flow (index into the scenario's flows).
    pub flow: usize,
    /// The intended start of its first step (its setup's when it never got further).
    pub began: Instant,
    /// Whether every step it sent succeeded.
    pub ok: bool,
}

/// One user's session.
#[derive(Debug)]
pub(super) struct Session {
    flow: usize,
    at: At,
    setup_done: Vec<bool>,
    /// Values of the user variables, by slot less the number of data sources.
    vars: Vec<Option<Value>>,
    /// Slot of the first user variable (the number of data sources).
    first_slot: usize,
    /// The turn of the chat step under way (from 1); 0 outside a conversation.
    turn: u32,
    /// When the iteration under way was intended to start, once a step of it was sent.
    began: Option<Instant>,
    /// Whether every step of the iteration under way succeeded so far.
    ok: bool,
    /// The iteration that ended with the step just taken.
    ended: Option<Ended>,
}

impl Session {
    /// A session over `flows`, with user variables after `first_slot` data sources.
    pub fn new(flows: &[Flow], first_slot: usize) -> Session {
        let slots = flows
            .iter()
            .flat_map(|f| f.setup.iter().chain(&f.steps))
            .flat_map(|s| {
                s.captures
                    .iter()
                    .map(|c| c.slot)
                    .chain(s.chat.as_ref().map(|c| c.slot))
            })
            .map(|slot| slot + 1 - first_slot)
            .max()
            .unwrap_or(0);
        Session {
            flow: 0,
            at: At::Start,
            setup_done: vec![false; flows.len()],
            vars: vec![None; slots],
            first_slot,
            turn: 0,
            began: None,
            ok: true,
            ended: None,
        }
    }

    /// The next user turn of the chat step about to be sent: a new conversation at its first
    /// turn. Returns the turn's index (from 1).
    pub fn say(&mut self, chat: &Chat, text: String) -> u32 {
        let conversation = &mut self.vars[chat.slot - self.first_slot];
        if self.turn == 0 || conversation.is_none() {
            self.turn = 1;
            let system = chat
                .system
                .as_ref()
                .map(|t| serde_json::json!({ "role": "system", "content": t }));
            *conversation = Some(Value::Array(system.into_iter().collect()));
        }
        if let Some(Value::Array(messages)) = conversation {
            messages.push(serde_json::json!({ "role": "user", "content": text }));
        }
        self.turn
    }

    /// The step to take now (a new iteration picks its flow from `mix`), intended to start at
    /// `intended`.
    pub fn next<'f>(
        &mut self,
        flows: &'f [Flow],
        mix: &Mix,
        rng: &mut SmallRng,
        intended: Instant,
    ) -> &'f FlowStep {
        if self.at == At::Start {
            self.flow = mix.pick(rng);
            let f = &flows[self.flow];
            // What the steps capture is this iteration's own: a teardown step never sends
            // the previous iteration's id.
            for c in f.steps.iter().flat_map(|s| &s.captures) {
                self.vars[c.slot - self.first_slot] = None;
            }
            self.ok = true;
            self.ended = None;
            self.at = if self.setup_done[self.flow] || f.setup.is_empty() {
                At::Step(0)
            } else {
                At::Setup(0)
            };
        }
        // The iteration's duration counts from its first step (a setup runs once per user).
        if self.began.is_none() || self.at == At::Step(0) && self.turn == 0 {
            self.began = Some(intended);
        }
        let f = &flows[self.flow];
        match self.at {
            At::Setup(i) => &f.setup[i],
            At::Step(i) => &f.steps[i],
            At::Teardown(i) => &f.teardown[i],
            At::Start => &f.steps[0],
        }
    }

    /// Whether the next step begins an iteration (rather than following a step of it).
    pub fn starts_iteration(&self) -> bool {
        self.at == At::Start
    }

    /// The user variables, to render after the drawn data rows.
    pub fn vars(&self) -> impl Iterator<Item = Option<&Value>> {
        self.vars.iter().map(Option::as_ref)
    }

    /// The iteration that the step just taken ended, once.
    pub fn take_ended(&mut self) -> Option<Ended> {
        self.ended.take()
    }

    /// The step just taken succeeded with `detail`: its captures are kept (credentials also
    /// in `secrets`) and the session moves on. `false` when a capture found nothing: the
    /// iteration's steps end there.
    pub fn succeeded(
        &mut self,
        flows: &[Flow],
        detail: &Detail,
        secrets: &CapturedSecrets,
    ) -> bool {
        let f = &flows[self.flow];
        let step = match self.at {
            At::Setup(i) => &f.setup[i],
            At::Step(i) => &f.steps[i],
            At::Teardown(i) => &f.teardown[i],
            At::Start => return true,
        };
        if let Some(chat) = &step.chat {
            return self.replied(f, chat, detail);
        }
        let body: Option<Value> = step
            .captures
            .iter()
            .any(|c| matches!(c.from, CaptureFrom::Json(_)))
            .then(|| {
                detail
                    .body
                    .as_deref()
                    .and_then(|b| serde_json::from_slice(b).ok())
            })
            .flatten();
        for c in &step.captures {
            let value = match &c.from {
                CaptureFrom::Json(pointer) => body
                    .as_ref()
                    .and_then(|b| b.pointer(pointer))
                    .filter(|v| !v.is_null())
                    .cloned(),
                CaptureFrom::Header(name) => detail
                    .headers
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| Value::String(v.clone())),
                CaptureFrom::Regex(pattern) => detail
                    .body
                    .as_deref()
                    .and_then(|b| std::str::from_utf8(b).ok())
                    .and_then(|text| pattern.find(text))
                    .map(|found| Value::String(found.to_string())),
                CaptureFrom::StreamText => detail
                    .stream
                    .as_ref()
                    .and_then(|t| t.text.clone())
                    .map(Value::String),
            };
            // An empty string is as missing as no value: it is never sent on.
            match value.filter(|v| v.as_str() != Some("")) {
                Some(v) => {
                    if c.secret {
                        match &v {
                            Value::String(t) => secrets.add(t),
                            other => secrets.add(&other.to_string()),
                        }
                    }
                    self.vars[c.slot - self.first_slot] = Some(v);
                }
                None => {
                    self.failed(flows);
                    return false;
                }
            }
        }
        self.advance(f);
        true
    }

    /// A chat turn was answered: the reply joins the conversation, and the next turn (or
    /// step) follows. An empty reply ends the iteration: nothing is sent on without it.
    fn replied(&mut self, f: &Flow, chat: &Chat, detail: &Detail) -> bool {
        let reply = detail
            .stream
            .as_ref()
            .and_then(|t| t.text.as_deref())
            .filter(|t| !t.is_empty());
        let (Some(reply), Some(Value::Array(messages))) =
            (reply, &mut self.vars[chat.slot - self.first_slot])
        else {
            self.fail_in(f);
            return false;
        };
        messages.push(serde_json::json!({ "role": "assistant", "content": reply }));
        if self.turn < chat.turns {
            self.turn += 1;
        } else {
            self.turn = 0;
            self.advance(f);
        }
        true
    }

    /// The step after the one just taken.
    fn advance(&mut self, f: &Flow) {
        self.at = match self.at {
            At::Setup(i) if i + 1 < f.setup.len() => At::Setup(i + 1),
            At::Setup(_) => {
                self.setup_done[self.flow] = true;
                At::Step(0)
            }
            At::Step(i) if i + 1 < f.steps.len() => At::Step(i + 1),
            At::Step(_) => return self.teardown_from(f, 0),
            At::Teardown(i) => return self.teardown_from(f, i + 1),
            At::Start => At::Start,
        };
    }

    /// Goes to the first teardown step from `from` whose variables this iteration has (one
    /// that would send a missing value is skipped), or ends the iteration.
    fn teardown_from(&mut self, f: &Flow, from: usize) {
        let runnable = f.teardown.iter().enumerate().skip(from).find(|(_, s)| {
            s.needs
                .iter()
                .all(|&slot| self.vars[slot - self.first_slot].is_some())
        });
        match runnable {
            Some((i, _)) => self.at = At::Teardown(i),
            None => self.end(),
        }
    }

    /// The iteration is over: its outcome waits for [`Session::take_ended`].
    fn end(&mut self) {
        if let Some(began) = self.began.take() {
            self.ended = Some(Ended {
                flow: self.flow,
                began,
                ok: self.ok,
            });
        }
        self.at = At::Start;
        self.turn = 0;
    }

    /// The step just taken failed: the iteration's steps end there, and its teardown runs (an
    /// unfinished setup ends the iteration at once and runs again at the next one).
    pub fn failed(&mut self, flows: &[Flow]) {
        self.fail_in(&flows[self.flow]);
    }

    fn fail_in(&mut self, f: &Flow) {
        self.ok = false;
        self.turn = 0;
        match self.at {
            At::Step(_) => self.teardown_from(f, 0),
            At::Teardown(i) => self.teardown_from(f, i + 1),
            At::Setup(_) | At::Start => self.end(),
        }
    }

    /// Leaves the iteration under way without a figure (its next step would start after the
    /// end of the run).
    pub fn abandon(&mut self) {
        self.at = At::Start;
        self.turn = 0;
        self.began = None;
        self.ended = None;
    }

    /// The pause before the next step: its think time, or `None` when an iteration ends (the
    /// scenario's think time applies).
    pub fn pause(&self, flows: &[Flow]) -> Option<Duration> {
        let f = &flows[self.flow];
        match self.at {
            At::Start => None,
            At::Setup(i) => Some(f.setup[i].think),
            At::Step(i) => Some(f.steps[i].think),
            At::Teardown(i) => Some(f.teardown[i].think),
        }
    }
}

#[cfg(test)]
mod tests;
