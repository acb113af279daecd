//! The closed model: users, each sending its next request when the previous one completed,
//! after its think time. When each user is active comes from the stages (or the ramp-up):
//! a user that leaves finishes its request first, and one that comes back keeps its
//! connection.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until};

use super::schedule::user_windows;
use super::step::{Flow, User};
use super::{Shared, mix, stopped};
use crate::spec::{Closed, Think};

pub(super) async fn run(sh: &Arc<Shared>, closed: &Closed, stop: &watch::Receiver<bool>) {
    let mut users = JoinSet::new();
    for (u, windows) in user_windows(closed, sh.end - sh.t0).into_iter().enumerate() {
        // A shard runs every N-th user (its global index keeps its data and seed).
        if windows.is_empty() || sh.plan.shard.is_some_and(|s| !s.takes(u as u64)) {
            continue;
        }
        users.spawn(user(
            u as u64,
            sh.clone(),
            windows,
            closed.think,
            stop.clone(),
        ));
    }
    while users.join_next().await.is_some() {}
}

async fn user(
    u: u64,
    sh: Arc<Shared>,
    windows: Vec<(Duration, Duration)>,
    think: Think,
    stop: watch::Receiver<bool>,
) {
    let mut user = User::new(u, &sh);
    // One stop future per user, polled by every request and pause: no allocation per request.
    let stop_signal = stopped(stop.clone());
    tokio::pin!(stop_signal);
    for (from, to) in windows {
        let until = (sh.t0 + to).min(sh.end);
        tokio::select! {
            () = sleep_until(sh.t0 + from) => {}
            () = &mut stop_signal => return,
        }
        // Active while in its window (the live endpoint's count of users).
        let _active = super::Active::enter(&sh);
        loop {
            let now = Instant::now();
            if now >= until {
                break;
            }
            if *stop.borrow()
                || !sh.may_start(now)
                || user.step(&sh, now, stop_signal.as_mut()).await == Flow::Stop
            {
                return;
            }
            let think = match user.pause(&sh) {
                Some(pause) => pause,
                None => mix::think_time(think, user.rng()),
            };
            if !think.is_zero() {
                tokio::select! {
                    () = sleep_until((Instant::now() + think).min(until)) => {}
                    () = &mut stop_signal => return,
                }
            }
        }
    }
}
