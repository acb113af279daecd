//! The closed model: `users` users, each sending its next request when the previous one
//! completed, after its think time; users start evenly over the ramp-up.

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until};

use super::step::{Flow, User};
use super::{Shared, mix, stopped};
use crate::spec::Closed;

pub(super) async fn run(sh: &Arc<Shared>, closed: &Closed, stop: &watch::Receiver<bool>) {
    let mut users = JoinSet::new();
    for u in 0..closed.users {
        let start_at = sh.t0
            + closed
                .ramp_up
                .mul_f64(f64::from(u) / f64::from(closed.users));
        users.spawn(user(
            u64::from(u),
            sh.clone(),
            start_at,
            closed.clone(),
            stop.clone(),
        ));
    }
    while users.join_next().await.is_some() {}
}

async fn user(
    u: u64,
    sh: Arc<Shared>,
    start_at: Instant,
    closed: Closed,
    stop: watch::Receiver<bool>,
) {
    let mut user = User::new(u, &sh);
    // One stop future per user, polled by every request and pause: no allocation per request.
    let stop_signal = stopped(stop.clone());
    tokio::pin!(stop_signal);
    tokio::select! {
        () = sleep_until(start_at) => {}
        () = &mut stop_signal => return,
    }
    let _active = super::Active::enter(&sh);
    loop {
        let now = Instant::now();
        if *stop.borrow()
            || !sh.may_start(now)
            || user.step(&sh, now, stop_signal.as_mut()).await == Flow::Stop
        {
            return;
        }
        let think = mix::think_time(closed.think, user.rng());
        if !think.is_zero() {
            tokio::select! {
                () = sleep_until((Instant::now() + think).min(sh.end)) => {}
                () = &mut stop_signal => return,
            }
        }
    }
}
