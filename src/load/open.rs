//! The open model: arrivals on a schedule. Each arrival goes to an idle user, or to a new user
//! while fewer than `max-users` exist; otherwise it is dropped and counted, never delayed.
//! Every arrival already due fires on each wake, so a late wake-up sends a burst at once and
//! the lateness shows in the measurement instead of silently stretching the schedule.
//!
//! The dispatcher is a task on the load runtime that sleeps on a precise [`Clock`] (a timerfd
//! on the reactor, not tokio's 1 ms timer): an arrival wakes the worker directly, hands the
//! intended time to an idle user through its own slot and wakes it on the same thread. No
//! thread of its own, no channel, no allocation per arrival.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::clock::Clock;
use super::schedule::Schedule;
use super::step::{Flow, User};
use super::{Shared, stopped};
use crate::spec::Open;

/// Arrivals fired in a row without sleeping before the dispatcher lets users run.
const BURST: u32 = 64;

/// Runs the schedule; returns the arrivals it asked for in the measured window.
pub(super) async fn run(sh: &Arc<Shared>, open: &Open, stop: &watch::Receiver<bool>) -> u64 {
    let mut schedule = Schedule::new(open, sh.end - sh.t0);
    let requested = (schedule.expected(sh.end - sh.t0) - schedule.expected(sh.measure_from - sh.t0))
        .round()
        .max(0.0) as u64;
    let board = Arc::new(Board::default());
    let mut users = JoinSet::new();
    let mut clock = Clock::new();
    let stop_signal = stopped(stop.clone());
    tokio::pin!(stop_signal);
    let mut in_a_row = 0;
    while let Some(offset) = schedule.next() {
        let at = sh.t0 + offset;
        if !sh.may_start(at) {
            break;
        }
        if at > Instant::now() {
            in_a_row = 0;
            tokio::select! {
                biased;
                () = &mut stop_signal => break,
                () = clock.sleep_until(at) => {}
            }
        } else {
            // Behind schedule: fire what is due, but let the users (and a stop) run now and
            // then, or a single worker thread would only ever dispatch.
            in_a_row += 1;
            if in_a_row % BURST == 0 {
                tokio::task::yield_now().await;
                if *stop.borrow() {
                    break;
                }
            }
        }
        if !board.hand_to_idle(at, sh.t0) {
            let u = board.len();
            if u < open.max_users as usize {
                let slot = board.add();
                users.spawn(user(
                    u as u64,
                    slot,
                    sh.clone(),
                    at,
                    board.clone(),
                    stop.clone(),
                ));
            } else {
                sh.recorder.dropped(u, at);
            }
        }
    }
    // Users finish what they are doing, then find the board closed and end.
    board.close();
    while users.join_next().await.is_some() {}
    requested
}

/// A user's slot: the next intended start (ns after `t0`) and its wake-up.
#[derive(Default)]
struct Slot {
    at_ns: AtomicU64,
    wake: Notify,
}

/// The board closed: no more arrivals.
const CLOSED: u64 = u64::MAX;

/// The users of the open model and which of them are idle.
#[derive(Default)]
struct Board {
    slots: Mutex<Vec<Arc<Slot>>>,
    /// Idle users, the latest first (its connection is the warmest).
    idle: Mutex<Vec<usize>>,
}

impl Board {
    fn len(&self) -> usize {
        lock(&self.slots).len()
    }

    fn add(&self) -> Arc<Slot> {
        let slot = Arc::new(Slot::default());
        lock(&self.slots).push(slot.clone());
        slot
    }

    /// Gives the arrival at `at` to an idle user; false when none is idle.
    fn hand_to_idle(&self, at: Instant, t0: Instant) -> bool {
        let Some(u) = lock(&self.idle).pop() else {
            return false;
        };
        let slot = lock(&self.slots)[u].clone();
        slot.at_ns
            .store((at - t0).as_nanos() as u64, Ordering::Release);
        slot.wake.notify_one();
        true
    }

    fn idle(&self, u: usize) {
        lock(&self.idle).push(u);
    }

    fn close(&self) {
        for slot in lock(&self.slots).iter() {
            slot.at_ns.store(CLOSED, Ordering::Release);
            slot.wake.notify_one();
        }
    }
}

async fn user(
    u: u64,
    slot: Arc<Slot>,
    sh: Arc<Shared>,
    first: Instant,
    board: Arc<Board>,
    stop: watch::Receiver<bool>,
) {
    let mut user = User::new(u, &sh);
    let stop_signal = stopped(stop);
    tokio::pin!(stop_signal);
    let mut intended = first;
    loop {
        if user.step(&sh, intended, stop_signal.as_mut()).await == Flow::Stop {
            return;
        }
        board.idle(u as usize);
        tokio::select! {
            () = slot.wake.notified() => {}
            () = &mut stop_signal => return,
        }
        match slot.at_ns.load(Ordering::Acquire) {
            CLOSED => return,
            ns => intended = sh.t0 + std::time::Duration::from_nanos(ns),
        }
    }
}

/// Locks, recovering from a poisoned lock (a panicking user must not stop the dispatcher).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
