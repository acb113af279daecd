//! One step of a user, the same for every load model: pick a request, draw its data, send it
//! (over the user's HTTP connection, or to the in-process component), record the outcome.

use std::future::Future;
use std::pin::Pin;

use rand::SeedableRng;
use rand::rngs::SmallRng;
use serde_json::Value;
use tokio::time::{Instant, timeout_at};

use super::session::Session;
use super::{Endpoint, Shared};
use crate::client::{Detail, Exchange, HttpUser, Prepared};
use crate::component::Component;
use crate::data::RowPicker;
use crate::measure::{ErrorKind, Record};

/// What a user sends its requests to.
enum Client {
    Http(HttpUser),
    Component(Component),
}

/// A user: its connection, its random draws and the recorder shard it writes to.
pub(super) struct User {
    shard: usize,
    rng: SmallRng,
    picker: RowPicker,
    client: Client,
    /// Its place in its flows, when the scenario runs flows instead of the mix.
    session: Option<Session>,
}

/// Whether the user goes on after a step.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Flow {
    Continue,
    Stop,
}

impl User {
    pub fn new(u: u64, sh: &Shared) -> User {
        let client = match &sh.plan.endpoint {
            Endpoint::Http(transport) => {
                Client::Http(HttpUser::new(transport.clone(), u, sh.plan.max_body))
            }
            Endpoint::Component(c) => Client::Component(c.clone()),
        };
        User {
            shard: (u as usize) % sh.recorder.shards(),
            rng: SmallRng::seed_from_u64(u),
            picker: sh.plan.rows.picker(u),
            client,
            session: (!sh.plan.flows.is_empty())
                .then(|| Session::new(&sh.plan.flows, sh.plan.rows.count())),
        }
    }

    /// The pause before the next step of the user's flow; `None` when it runs the mix, or
    /// an iteration of its flow just ended (the scenario's think time applies).
    pub fn pause(&self, sh: &Shared) -> Option<std::time::Duration> {
        self.session.as_ref()?.pause(&sh.plan.flows)
    }

    /// Leaves the iteration of its flow under way (its next step would start after the end
    /// of the run): the next arrival begins a new one.
    pub fn abandon(&mut self) {
        if let Some(s) = &mut self.session {
            s.abandon();
        }
    }

    pub fn rng(&mut self) -> &mut SmallRng {
        &mut self.rng
    }

    /// Sends one request that the schedule wanted at `intended` (now, in the closed model) and
    /// records it. Stops when the hard stop or `stop_signal` cuts the request off.
    pub async fn step(
        &mut self,
        sh: &Shared,
        intended: Instant,
        stop_signal: Pin<&mut impl Future<Output = ()>>,
    ) -> Flow {
        // A later step of a session is intended at its predecessor's completion plus its
        // think time, not by the schedule.
        let scheduled = self.session.as_ref().is_none_or(Session::starts_iteration);
        let (r, turn) = match &mut self.session {
            Some(s) => {
                let step = s.next(&sh.plan.flows, &sh.flow_mix, &mut self.rng, intended);
                // A chat turn: the user's next line joins the conversation before it is sent.
                let turn = step.chat.as_ref().map(|chat| {
                    let mut row = Vec::new();
                    self.picker.draw(&sh.plan.rows, &[chat.prompt], &mut row);
                    let text = match row.get(chat.prompt).copied().flatten() {
                        Some(Value::String(t)) => t.clone(),
                        Some(other) => other.to_string(),
                        None => String::new(),
                    };
                    s.say(chat, text)
                });
                (step.request, turn)
            }
            None => (sh.mix.pick(&mut self.rng), None),
        };
        let req = &sh.plan.requests[r];
        let mut drawn = Vec::new();
        if !req.sources.is_empty() {
            self.picker.draw(&sh.plan.rows, &req.sources, &mut drawn);
        }
        if let (true, Some(s)) = (req.user_vars, &self.session) {
            // User variables follow the data rows (the spec checked each is captured before).
            drawn.resize(sh.plan.rows.count(), None);
            drawn.extend(s.vars());
        }
        let sent = Instant::now();
        // One timer per request: the earlier of its timeout and the hard stop.
        let timeout = sent + req.timeout;
        let deadline = timeout.min(sh.hard_stop);
        let failed = |kind| Exchange {
            result: Err(kind),
            detail: Detail::default(),
        };
        let Exchange { result, detail } = tokio::select! {
            biased;
            res = timeout_at(deadline, exchange(&mut self.client, req, &drawn)) => match res {
                Ok(r) => r,
                // Still connecting when the time ran out: the server never accepted.
                Err(_) if timeout <= sh.hard_stop && matches!(&self.client, Client::Http(h) if h.was_connecting()) => failed(ErrorKind::Connect),
                Err(_) if timeout <= sh.hard_stop => failed(ErrorKind::Timeout),
                Err(_) => {
                    sh.recorder.interrupted(self.shard);
                    return Flow::Stop;
                }
            },
            () = stop_signal => {
                sh.recorder.interrupted(self.shard);
                return Flow::Stop;
            }
        };
        // The exchange's end, before captures are read: they are not the server's time.
        let done = Instant::now();
        let result = match (result, &mut self.session) {
            // A capture that found nothing fails the step: the rest of the iteration is not
            // sent with an empty value.
            (Ok(bytes), Some(s)) => {
                if s.succeeded(&sh.plan.flows, &detail, &sh.plan.secrets) {
                    Ok(bytes)
                } else {
                    Err(ErrorKind::CaptureMissing)
                }
            }
            (Err(kind), Some(s)) => {
                s.failed(&sh.plan.flows);
                Err(kind)
            }
            (result, _) => result,
        };
        if let Some(end) = self.session.as_mut().and_then(Session::take_ended) {
            sh.recorder
                .iteration(self.shard, end.flow, end.began, done, end.ok);
        }
        sh.recorder.record(
            self.shard,
            Record {
                request: r,
                turn,
                intended,
                scheduled,
                sent,
                done,
                result,
                detail,
            },
        );
        Flow::Continue
    }
}

/// One exchange: body bytes and what the response told, or why it failed.
async fn exchange(client: &mut Client, req: &Prepared, rows: &[Option<&Value>]) -> Exchange {
    match client {
        Client::Http(http) => http.send(req, rows).await,
        Client::Component(c) => {
            let text = req.body_text(rows);
            let input = if text.trim().is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            };
            // The size of the answer as JSON: what it would weigh on the wire.
            let result = match c.call(input).await {
                Ok(output) => Ok(output.to_string().len() as u64),
                Err(_) => Err(ErrorKind::Component),
            };
            Exchange {
                result,
                detail: Detail::default(),
            }
        }
    }
}
