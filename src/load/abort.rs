//! `abort-on`: conditions checked on the latest complete window each time the collector folds
//! the recorder's seconds (about once a second). When one holds, the run stops (as when the
//! caller stops it) and the measurement says which condition, what it saw and when.

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{Shared, stopped};
use crate::assertion::{Assertion, breach};
use crate::measure::Abort;

/// The stop signal the models see: the caller's, or an abort.
pub(super) struct Switch {
    tx: Arc<watch::Sender<bool>>,
    forward: JoinHandle<()>,
}

impl Switch {
    /// A switch that also turns on when `outer` does; the receiver is what the models watch.
    pub fn new(outer: watch::Receiver<bool>) -> (Switch, watch::Receiver<bool>) {
        let (tx, rx) = watch::channel(*outer.borrow());
        let tx = Arc::new(tx);
        let forward = {
            let tx = tx.clone();
            tokio::spawn(async move {
                stopped(outer).await;
                let _ = tx.send(true);
            })
        };
        (Switch { tx, forward }, rx)
    }

    /// Checks every abort condition of the scenario on its latest complete window; stops the
    /// run at the first that holds.
    pub fn check(&self, sh: &Shared) {
        let s = &sh.plan.scenario;
        if s.abort_on.is_empty() || *self.tx.borrow() {
            return;
        }
        let now = Instant::now();
        let current = sh.recorder.second_of(now);
        for a in &s.abort_on {
            let Some((from, to)) = latest_window(a, s, current) else {
                continue;
            };
            let index = a
                .scope
                .as_ref()
                .and_then(|n| sh.plan.requests.iter().position(|r| r.name == *n));
            let window = sh.recorder.seconds(from..to);
            if let Some(observed) = breach(a, &window, index, from, to) {
                let at_s = now.saturating_duration_since(sh.measure_from).as_secs_f64();
                *sh.aborted.lock().unwrap_or_else(|p| p.into_inner()) = Some(Abort {
                    at_s,
                    condition: a.text.clone(),
                    observed,
                });
                let _ = self.tx.send(true);
                return;
            }
        }
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        self.forward.abort();
    }
}

/// The seconds `from..to` of the latest complete window of `a` before second `current`
/// (measured time only, and inside `a`'s phase when it names one).
fn latest_window(a: &Assertion, s: &crate::spec::Scenario, current: i64) -> Option<(i64, i64)> {
    let width = a.window?.as_secs() as i64;
    let (mut lo, mut hi) = (0, current);
    if let Some(name) = &a.phase {
        let p = s.phases.iter().find(|p| p.name == *name)?;
        let rel = |d: std::time::Duration| d.as_secs_f64() - s.warmup.as_secs_f64();
        lo = lo.max(rel(p.start).ceil() as i64);
        hi = hi.min(rel(p.end).floor() as i64);
    }
    (hi - width >= lo).then_some((hi - width, hi))
}
