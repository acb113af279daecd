//! The open model: arrivals on a schedule. Each arrival goes to an idle user, or to a new user
//! while fewer than `max-users` exist; otherwise it is dropped and counted, never delayed.
//! With flows an arrival is a session: one iteration of a flow, whose steps follow each other
//! on the same user (each after the previous reply and its think time) before it is idle.
//! Every arrival already due fires on each wake, so a late wake-up sends a burst at once and
//! the lateness shows in the measurement instead of silently stretching the schedule.
//!
//! The dispatcher runs on its own thread and sleeps with the OS clock (timer slack of 1 ns)
//! rather than tokio's timer, whose 1 ms tick would add up to a millisecond of lateness to
//! every arrival.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::schedule::Schedule;
use super::step::{Flow, User};
use super::{Shared, stopped};
use crate::spec::Open;

/// Runs the schedule; returns the arrivals it asked for in the measured window.
pub(super) async fn run(sh: &Arc<Shared>, open: &Open, stop: &watch::Receiver<bool>) -> u64 {
    let schedule = Schedule::new(open, sh.end - sh.t0);
    let rates = Schedule::new(open, sh.end - sh.t0);
    let halt = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (halt, stop) = (halt.clone(), stop.clone());
        tokio::spawn(async move {
            stopped(stop).await;
            halt.store(true, Ordering::Release);
        })
    };
    let dispatcher = {
        let (sh, open, stop, halt) = (sh.clone(), open.clone(), stop.clone(), halt.clone());
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || dispatch(&sh, &open, schedule, &runtime, &stop, &halt))
    };
    let users = dispatcher.await.unwrap_or_default();
    // Arrivals the schedule asked for in the measured window: until its end, or until an
    // earlier stop (an abort, a target that died).
    let until = if halt.load(Ordering::Acquire) {
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
    watcher.abort();
    requested
}

/// Fires arrivals until the schedule, the run or a stop ends them; returns the users' tasks.
fn dispatch(
    sh: &Arc<Shared>,
    open: &Open,
    mut schedule: Schedule,
    runtime: &tokio::runtime::Handle,
    stop: &watch::Receiver<bool>,
    halt: &AtomicBool,
) -> Vec<JoinHandle<()>> {
    precise_sleeps();
    let (tickets, inbox) = async_channel::bounded::<Instant>(open.max_users as usize);
    let idle = Arc::new(AtomicUsize::new(0));
    let mut users = Vec::new();
    let mut arrival = 0u64;
    while let Some(offset) = schedule.next() {
        // A shard fires every N-th arrival of the one schedule.
        let mine = sh.plan.shard.is_none_or(|s| s.takes(arrival));
        arrival += 1;
        if !mine {
            continue;
        }
        let at = sh.t0 + offset;
        if !sh.may_start(at) || !sleep_until(at, halt) {
            break;
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
            users.push(runtime.spawn(user(
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

/// Sleeps on the OS clock until `at`, in slices so a stop is seen within 10 ms; false if
/// stopped.
fn sleep_until(at: Instant, halt: &AtomicBool) -> bool {
    loop {
        if halt.load(Ordering::Acquire) {
            return false;
        }
        let now = Instant::now();
        if now >= at {
            return true;
        }
        std::thread::sleep((at - now).min(Duration::from_millis(10)));
    }
}

/// Asks the kernel to wake this thread on time rather than batching its wake-ups (the default
/// timer slack is 50 µs).
fn precise_sleeps() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_TIMERSLACK takes a plain integer (nanoseconds) for the calling thread.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1, 0, 0, 0);
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
