//! A user's place in its flows: which step comes next, and the variables its captures set.
//! The scheduler asks a session for the next request instead of drawing from the mix.

use std::time::Duration;

use rand::rngs::SmallRng;
use serde_json::Value;

use super::Mix;
use crate::client::{Detail, Prepared};
use crate::spec::{CaptureFrom, Chat, Flow, FlowStep};

/// Makes the flows' requests keep what their captures read: the body for a JSON pointer, the
/// named headers.
pub(super) fn keep_captured(requests: &mut [Prepared], flows: &[Flow]) {
    for step in flows.iter().flat_map(|f| f.setup.iter().chain(&f.steps)) {
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

    /// The step to take now (a new iteration picks its flow from `mix`).
    pub fn next<'f>(&mut self, flows: &'f [Flow], mix: &Mix, rng: &mut SmallRng) -> &'f FlowStep {
        if self.at == At::Start {
            self.flow = mix.pick(rng);
            let f = &flows[self.flow];
            self.at = if self.setup_done[self.flow] || f.setup.is_empty() {
                At::Step(0)
            } else {
                At::Setup(0)
            };
        }
        let f = &flows[self.flow];
        match self.at {
            At::Setup(i) => &f.setup[i],
            At::Step(i) => &f.steps[i],
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

    /// The step just taken succeeded with `detail`: its captures are kept and the session
    /// moves on. `false` when a capture found nothing: the iteration ends there.
    pub fn succeeded(&mut self, flows: &[Flow], detail: &Detail) -> bool {
        let f = &flows[self.flow];
        let step = match self.at {
            At::Setup(i) => &f.setup[i],
            At::Step(i) => &f.steps[i],
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
                Some(v) => self.vars[c.slot - self.first_slot] = Some(v),
                None => {
                    self.failed();
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
            self.failed();
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
            _ => At::Start,
        };
    }

    /// The step just taken failed: the iteration ends (an unfinished setup runs again at the
    /// next one).
    pub fn failed(&mut self) {
        self.at = At::Start;
        self.turn = 0;
    }

    /// The pause before the next step: its think time, or `None` when an iteration ends (the
    /// scenario's think time applies).
    pub fn pause(&self, flows: &[Flow]) -> Option<Duration> {
        let f = &flows[self.flow];
        match self.at {
            At::Start => None,
            At::Setup(i) => Some(f.setup[i].think),
            At::Step(i) => Some(f.steps[i].think),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Capture;
    use rand::SeedableRng;

    fn step(request: usize, capture: Option<(&str, usize, CaptureFrom)>) -> FlowStep {
        FlowStep {
            request,
            think: Duration::from_millis(request as u64),
            captures: capture
                .into_iter()
                .map(|(name, slot, from)| Capture {
                    name: name.into(),
                    slot,
                    from,
                })
                .collect(),
            chat: None,
        }
    }

    fn detail(body: &str) -> Detail {
        Detail {
            body: Some(body.as_bytes().to_vec()),
            ..Detail::default()
        }
    }

    #[test]
    fn setup_once_then_steps_in_order_with_captures() {
        let flows = vec![Flow {
            name: "crud".into(),
            weight: 1,
            setup: vec![step(
                0,
                Some(("token", 1, CaptureFrom::Header("x-token".into()))),
            )],
            steps: vec![
                step(1, Some(("id", 2, CaptureFrom::Json("/id".into())))),
                step(2, None),
            ],
        }];
        let mix = Mix::new(&[1]);
        let mut rng = SmallRng::seed_from_u64(1);
        let mut s = Session::new(&flows, 1);
        assert_eq!(s.next(&flows, &mix, &mut rng).request, 0);
        let login = Detail {
            headers: vec![("x-token".into(), "abc".into())],
            ..Detail::default()
        };
        assert!(s.succeeded(&flows, &login));
        assert_eq!(s.pause(&flows), Some(Duration::from_millis(1)));
        assert_eq!(s.next(&flows, &mix, &mut rng).request, 1);
        assert!(s.succeeded(&flows, &detail(r#"{"id": 7}"#)));
        assert_eq!(s.next(&flows, &mix, &mut rng).request, 2);
        let vars: Vec<_> = s.vars().collect();
        assert_eq!(vars, vec![Some(&Value::from("abc")), Some(&Value::from(7))]);
        assert!(s.succeeded(&flows, &Detail::default()));
        assert_eq!(s.pause(&flows), None, "the iteration ended");
        // The setup is not run again.
        assert_eq!(s.next(&flows, &mix, &mut rng).request, 1);
        // A missing capture ends the iteration: the next step is not taken.
        assert!(!s.succeeded(&flows, &detail(r#"{"other": 1}"#)));
        assert_eq!(s.pause(&flows), None);
        assert_eq!(s.next(&flows, &mix, &mut rng).request, 1);
        assert!(!s.succeeded(&flows, &detail(r#"{"id": ""}"#)), "empty");
        s.failed();
        assert_eq!(s.next(&flows, &mix, &mut rng).request, 1);
    }

    #[test]
    fn regex_and_stream_text_captures() {
        let re = crate::spec::Pattern(regex::Regex::new(r"id=(\d+)").unwrap());
        let flows = vec![Flow {
            name: "f".into(),
            weight: 1,
            setup: vec![],
            steps: vec![
                step(0, Some(("id", 0, CaptureFrom::Regex(re)))),
                step(1, Some(("reply", 1, CaptureFrom::StreamText))),
                step(2, None),
            ],
        }];
        let mix = Mix::new(&[1]);
        let mut rng = SmallRng::seed_from_u64(1);
        let mut s = Session::new(&flows, 0);
        s.next(&flows, &mix, &mut rng);
        assert!(s.succeeded(&flows, &detail("created: id=42, ok")));
        s.next(&flows, &mix, &mut rng);
        let streamed = Detail {
            stream: Some(crate::client::StreamTiming {
                text: Some("Hello there".into()),
                ..Default::default()
            }),
            ..Detail::default()
        };
        assert!(s.succeeded(&flows, &streamed));
        let vars: Vec<_> = s.vars().collect();
        assert_eq!(
            vars,
            vec![Some(&Value::from("42")), Some(&Value::from("Hello there"))]
        );
        // No match: the capture is missing.
        s.next(&flows, &mix, &mut rng);
        assert!(s.succeeded(&flows, &Detail::default()));
        s.next(&flows, &mix, &mut rng);
        assert!(!s.succeeded(&flows, &detail("no id here")));
    }

    #[test]
    fn a_chat_step_keeps_the_conversation_turn_after_turn() {
        let chat = Chat {
            turns: 2,
            prompt: 0,
            slot: 1,
            system: Some("Be brief.".into()),
        };
        let mut chat_step = step(0, None);
        chat_step.chat = Some(chat.clone());
        let flows = vec![Flow {
            name: "f".into(),
            weight: 1,
            setup: vec![],
            steps: vec![chat_step, step(1, None)],
        }];
        let mix = Mix::new(&[1]);
        let mut rng = SmallRng::seed_from_u64(1);
        let mut s = Session::new(&flows, 1);
        let reply = |text: &str| Detail {
            stream: Some(crate::client::StreamTiming {
                text: Some(text.into()),
                ..Default::default()
            }),
            ..Detail::default()
        };
        assert!(s.next(&flows, &mix, &mut rng).chat.is_some());
        assert_eq!(s.say(&chat, "first".into()), 1);
        assert!(s.succeeded(&flows, &reply("one")));
        assert_eq!(
            s.pause(&flows),
            Some(Duration::ZERO),
            "the next turn follows"
        );
        assert!(s.next(&flows, &mix, &mut rng).chat.is_some());
        assert_eq!(s.say(&chat, "second".into()), 2);
        let messages = s.vars().next().flatten().cloned().unwrap();
        assert_eq!(
            messages,
            serde_json::json!([
                { "role": "system", "content": "Be brief." },
                { "role": "user", "content": "first" },
                { "role": "assistant", "content": "one" },
                { "role": "user", "content": "second" },
            ])
        );
        assert!(s.succeeded(&flows, &reply("two")));
        assert_eq!(
            s.next(&flows, &mix, &mut rng).request,
            1,
            "after the last turn"
        );
        assert!(s.succeeded(&flows, &Detail::default()));
        // A new iteration starts a new conversation; an empty reply ends it.
        s.next(&flows, &mix, &mut rng);
        assert_eq!(s.say(&chat, "again".into()), 1);
        assert!(!s.succeeded(&flows, &reply("")));
        assert!(s.starts_iteration());
        s.next(&flows, &mix, &mut rng);
        assert_eq!(s.say(&chat, "anew".into()), 1);
        assert_eq!(
            s.vars().next().flatten().unwrap().as_array().unwrap().len(),
            2
        );
    }
}
