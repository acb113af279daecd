//! A user's place in its flows: which step comes next, and the variables its captures set.
//! The scheduler asks a session for the next request instead of drawing from the mix.

use std::time::Duration;

use rand::rngs::SmallRng;
use serde_json::Value;

use super::Mix;
use crate::client::{Detail, Prepared};
use crate::spec::{CaptureFrom, Flow, FlowStep};

/// Makes the flows' requests keep what their captures read: the body for a JSON pointer, the
/// named headers.
pub(super) fn keep_captured(requests: &mut [Prepared], flows: &[Flow]) {
    for step in flows.iter().flat_map(|f| f.setup.iter().chain(&f.steps)) {
        let req = &mut requests[step.request];
        for c in &step.captures {
            match &c.from {
                CaptureFrom::Json(_) => req.retain_body = true,
                CaptureFrom::Header(h) if !req.keep_headers.contains(h) => {
                    req.keep_headers.push(h.clone());
                }
                CaptureFrom::Header(_) => {}
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
}

impl Session {
    /// A session over `flows`, with user variables after `first_slot` data sources.
    pub fn new(flows: &[Flow], first_slot: usize) -> Session {
        let slots = flows
            .iter()
            .flat_map(|f| f.setup.iter().chain(&f.steps))
            .flat_map(|s| &s.captures)
            .map(|c| c.slot + 1 - first_slot)
            .max()
            .unwrap_or(0);
        Session {
            flow: 0,
            at: At::Start,
            setup_done: vec![false; flows.len()],
            vars: vec![None; slots],
            first_slot,
        }
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
            };
            // An empty string is as missing as no value: it is never sent on.
            match value.filter(|v| v.as_str() != Some("")) {
                Some(v) => self.vars[c.slot - self.first_slot] = Some(v),
                None => {
                    self.at = At::Start;
                    return false;
                }
            }
        }
        self.at = match self.at {
            At::Setup(i) if i + 1 < f.setup.len() => At::Setup(i + 1),
            At::Setup(_) => {
                self.setup_done[self.flow] = true;
                At::Step(0)
            }
            At::Step(i) if i + 1 < f.steps.len() => At::Step(i + 1),
            _ => At::Start,
        };
        true
    }

    /// The step just taken failed: the iteration ends (an unfinished setup runs again at the
    /// next one).
    pub fn failed(&mut self) {
        self.at = At::Start;
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
}
