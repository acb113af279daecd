//! One step of a user, the same for every load model: pick a request, draw its data, send it
//! over the user's connection, record the outcome.

use std::future::Future;
use std::pin::Pin;

use rand::SeedableRng;
use rand::rngs::SmallRng;
use tokio::time::{Instant, timeout_at};

use super::Shared;
use crate::client::HttpUser;
use crate::data::RowPicker;
use crate::measure::{ErrorKind, Record};

/// A user: its connection, its random draws and the recorder shard it writes to.
pub(super) struct User {
    shard: usize,
    rng: SmallRng,
    picker: RowPicker,
    http: HttpUser,
}

/// Whether the user goes on after a step.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Flow {
    Continue,
    Stop,
}

impl User {
    pub fn new(u: u64, sh: &Shared) -> User {
        User {
            shard: (u as usize) % sh.recorder.shards(),
            rng: SmallRng::seed_from_u64(u),
            picker: sh.plan.rows.picker(u),
            http: HttpUser::new(sh.plan.addr, sh.plan.max_body),
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
        let r = sh.mix.pick(&mut self.rng);
        let req = &sh.plan.requests[r];
        let built = if req.sources.is_empty() {
            req.build(&[])
        } else {
            let mut drawn = Vec::new();
            self.picker.draw(&sh.plan.rows, &req.sources, &mut drawn);
            req.build(&drawn)
        };
        let sent = Instant::now();
        let result = match built {
            Err(_) => Err(ErrorKind::InvalidRequest),
            Ok(http) => {
                // One timer per request: the earlier of its timeout and the hard stop.
                let timeout = sent + req.timeout;
                let deadline = timeout.min(sh.hard_stop);
                tokio::select! {
                    biased;
                    res = timeout_at(deadline, self.http.send(http, &req.expect)) => match res {
                        Ok(r) => r.map(|rcv| rcv.bytes),
                        Err(_) if timeout <= sh.hard_stop => Err(ErrorKind::Timeout),
                        Err(_) => {
                            sh.recorder.interrupted(self.shard);
                            return Flow::Stop;
                        }
                    },
                    () = stop_signal => {
                        sh.recorder.interrupted(self.shard);
                        return Flow::Stop;
                    }
                }
            }
        };
        sh.recorder.record(
            self.shard,
            Record {
                request: r,
                intended,
                sent,
                done: Instant::now(),
                result,
            },
        );
        Flow::Continue
    }
}
