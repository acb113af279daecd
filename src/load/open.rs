//! The open model: arrivals on a schedule. Each arrival goes to an idle user, or to a new user
//! while fewer than `max-users` exist; otherwise it is dropped and counted, never delayed.
//! With flows an arrival is a session: one iteration of a flow, whose steps follow each other
//! on the same user (each after the previous reply and its think time) before it is idle.
//! Every arrival already due fires on each wake, so a late wake-up sends a burst at once and
//! the lateness shows in the measurement instead of silently stretching the schedule.
//!
//! The dispatcher is a task on the generator's runtime that sleeps on a [`PreciseTimer`]
//! (the OS clock) rather than tokio's timer, whose 1 ms tick would add up to a millisecond of
//! lateness to every arrival.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::schedule::Schedule;
use super::step::{Flow, User};
use super::timer::PreciseTimer;
use super::{Shared, stopped};
use crate::spec::Open;

/// The dispatcher wakes at most this often. Arrivals closer together than this go out
/// together, each up to this much after its intended time (counted in its latency and in the
/// schedule lateness, never hidden), so that at high rates one wake-up of the dispatcher and
/// of a worker serves several arrivals instead of one each.
const WAKE_QUANTUM: Duration = Duration::from_micros(200);

/// Runs the schedule; returns the arrivals it asked for in the measured window.
pub(super) async fn run(sh: &Arc<Shared>, open: &Open, stop: &watch::Receiver<bool>) -> u64 {
    let schedule = Schedule::new(open, sh.end - sh.t0);
    let rates = Schedule::new(open, sh.end - sh.t0);
    // A task of its own, so that it runs on a worker thread beside the users it wakes (the
    // caller may be the runtime's `block_on` thread: every hand-off would cross threads).
    let dispatcher = {
        let (sh, open, stop) = (sh.clone(), open.clone(), stop.clone());
        tokio::spawn(async move { dispatch(&sh, &open, schedule, &stop).await })
    };
    let users = dispatcher.await.unwrap_or_default();
    // Arrivals the schedule asked for in the measured window: until its end, or until an
    // earlier stop (an abort, a target that died).
    let until = if *stop.borrow() {
        Instant::now().min(sh.end)
    } else {
        sh.end
    } - sh.t0;
    let (from, to) = (
        rates.expected(sh.measure_from - sh.t0),
        rates.expected(until),
    );
    let requested = match sh.plan.shard {
        None => (to - from).round().max(0.0) as u64,
        // A shard was asked for its own arrivals only: those with index i mod N = K−1.
        Some(s) => {
            let count = |x: f64| s.share(x.round().max(0.0) as u64);
            count(to).saturating_sub(count(from))
        }
    };
    for user in users {
        let _ = user.await;
    }
    requested
}

/// Fires arrivals until the schedule, the run or a stop ends them; returns the users' tasks.
async fn dispatch(
    sh: &Arc<Shared>,
    open: &Open,
    mut schedule: Schedule,
    stop: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let mut timer = PreciseTimer::new();
    let stop_signal = stopped(stop.clone());
    tokio::pin!(stop_signal);
    let (tickets, inbox) = async_channel::bounded::<Instant>(open.max_users as usize);
    let idle = Arc::new(AtomicUsize::new(0));
    let mut users = Vec::new();
    let mut arrival = 0u64;
    // When the last sleep was meant to end (not when it did: a late wake-up must not push
    // every later one back).
    let mut woke = Instant::now();
    while let Some(offset) = schedule.next() {
        // A shard fires every N-th arrival of the one schedule.
        let mine = sh.plan.shard.is_none_or(|s| s.takes(arrival));
        arrival += 1;
        if !mine {
            continue;
        }
        let at = sh.t0 + offset;
        let before = Instant::now();
        let wake_at = wake_time(at, before, woke);
        if !sh.may_start(at) {
            break;
        }
        tokio::select! {
            biased;
            () = &mut stop_signal => break,
            () = timer.sleep_until(wake_at) => {}
        }
        if at > before {
            woke = wake_at;
        }
        if idle
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok()
        {
            // Cannot fail: there are never more tickets than idle users, and the capacity is
            // max-users.
            let _ = tickets.try_send(at);
        } else if users.len() < open.max_users as usize {
            let u = users.len() as u64;
            users.push(tokio::spawn(user(
                u,
                sh.clone(),
                at,
                inbox.clone(),
                idle.clone(),
                stop.clone(),
            )));
        } else {
            sh.recorder.dropped(users.len(), at);
        }
    }
    // Users finish what they are doing, then see the closed channel and end.
    drop(tickets);
    users
}

/// When to wake for an arrival intended at `at`, it being `now` and the previous sleep having
/// been meant to end at `woke`: an arrival still ahead waits for its time, but no less than a
/// quantum after the previous wake-up, so at high rates one wake-up sends the arrivals of a
/// quantum together; one already due goes at once.
fn wake_time(at: Instant, now: Instant, woke: Instant) -> Instant {
    if at > now {
        at.max(woke + WAKE_QUANTUM)
    } else {
        at
    }
}

async fn user(
    u: u64,
    sh: Arc<Shared>,
    first: Instant,
    inbox: async_channel::Receiver<Instant>,
    idle: Arc<AtomicUsize>,
    stop: watch::Receiver<bool>,
) {
    let mut user = User::new(u, &sh);
    let _active = super::Active::enter(&sh);
    let stop_signal = stopped(stop);
    tokio::pin!(stop_signal);
    let mut intended = first;
    loop {
        if user.step(&sh, intended, stop_signal.as_mut()).await == Flow::Stop {
            return;
        }
        // Inside a session (a flow's iteration) the next step waits for this reply: it is
        // intended at this completion plus its think time, and its latency counts from there.
        if let Some(think) = user.pause(&sh) {
            intended = Instant::now() + think;
            if sh.may_start(intended) {
                tokio::select! {
                    () = tokio::time::sleep_until(intended) => {}
                    () = &mut stop_signal => return,
                }
                continue;
            }
            // Past the end of the run: the session stops here.
            user.abandon();
        }
        idle.fetch_add(1, Ordering::AcqRel);
        intended = tokio::select! {
            next = inbox.recv() => match next {
                Ok(at) => at,
                Err(_) => return,
            },
            () = &mut stop_signal => return,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wake_ups_are_a_quantum_apart_at_most_and_never_drift() {
        let t0 = Instant::now();
        let us = |n: u64| t0 + Duration::from_micros(n);
        // Arrivals a millisecond apart: each wakes on its own time.
        assert_eq!(wake_time(us(1000), us(10), us(0)), us(1000));
        // 50 µs apart: the next wake-up is a quantum after the previous one's target.
        assert_eq!(wake_time(us(50), us(20), us(0)), us(200));
        // A late wake-up (at 260 for a target of 200) does not push the next target back.
        assert_eq!(wake_time(us(450), us(260), us(200)), us(450));
        assert_eq!(wake_time(us(300), us(260), us(200)), us(400));
        // Already due: at once.
        assert_eq!(wake_time(us(250), us(260), us(200)), us(250));
    }
}
