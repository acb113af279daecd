//! `GET /work`: a fixed pool of workers, each taking the same time per request, served in
//! arrival order. Its capacity is known exactly (workers / time per request), and so is its
//! recovery: a backlog drains at the capacity minus the arrival rate. With a queue limit,
//! a request that would find more requests waiting ahead of it is refused at once (503).
//!
//! The pool is a schedule, not threads: each worker's next free time is kept, a request takes
//! the earliest worker (start = max(arrival, free time), done = start + work) and the answer is
//! sent at `done`. Timer lateness delays answers slightly but never accumulates, so the
//! capacity does not depend on how busy the machine is.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The pool.
#[derive(Debug)]
pub struct Pool {
    work: Duration,
    /// Most requests that may wait (not counting those being worked on); `None`: no limit.
    queue: Option<u32>,
    free: Mutex<BinaryHeap<Reverse<Instant>>>,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

impl Pool {
    /// `workers` workers of `work` each (at least one worker; zero work is one microsecond).
    pub fn new(workers: u32, work: Duration, queue: Option<u32>) -> Pool {
        let now = Instant::now();
        Pool {
            work: work.max(Duration::from_micros(1)),
            queue,
            free: Mutex::new((0..workers.max(1)).map(|_| Reverse(now)).collect()),
        }
    }

    /// Requests per second the pool completes when busy.
    pub fn capacity(&self) -> f64 {
        let workers = self.free.lock().unwrap_or_else(|p| p.into_inner()).len();
        workers as f64 / self.work.as_secs_f64()
    }

    /// Admits a request arriving at `now`: when its answer is due, or [`Full`] when more than
    /// the queue limit are already waiting.
    pub fn admit(&self, now: Instant) -> Result<Instant, Full> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        let Some(&Reverse(earliest)) = free.peek() else {
            return Err(Full);
        };
        if let Some(limit) = self.queue {
            // Requests waiting: on each worker, the whole requests queued beyond the one it
            // works on.
            let work = self.work.as_nanos();
            let waiting: u128 = free
                .iter()
                .map(|Reverse(f)| {
                    f.saturating_duration_since(now)
                        .as_nanos()
                        .div_ceil(work)
                        .saturating_sub(1)
                })
                .sum();
            if waiting >= u128::from(limit) {
                return Err(Full);
            }
        }
        let start = earliest.max(now);
        let done = start + self.work;
        free.pop();
        free.push(Reverse(done));
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_serves_at_its_capacity_in_arrival_order() {
        let ms = Duration::from_millis;
        let pool = Pool::new(4, ms(10), None);
        assert_eq!(pool.capacity(), 400.0);
        let t0 = Instant::now();
        // 12 requests at once: 4 done after 10 ms, 4 after 20, 4 after 30.
        let done: Vec<Duration> = (0..12).map(|_| pool.admit(t0).unwrap() - t0).collect();
        assert_eq!(done.iter().filter(|d| **d == ms(10)).count(), 4);
        assert_eq!(done.iter().filter(|d| **d == ms(30)).count(), 4);
        assert!(done.windows(2).all(|w| w[0] <= w[1]), "arrival order");
        // Later, an idle worker starts at once.
        assert_eq!(pool.admit(t0 + ms(100)).unwrap() - t0, ms(110));
    }

    #[test]
    fn a_full_queue_refuses_at_once() {
        let ms = Duration::from_millis;
        let pool = Pool::new(2, ms(10), Some(3));
        let t0 = Instant::now();
        // 2 start at once, 3 wait, the sixth is refused.
        let results: Vec<bool> = (0..6).map(|_| pool.admit(t0).is_ok()).collect();
        assert_eq!(results, vec![true, true, true, true, true, false]);
        // Once the first two are done, there is room again.
        assert!(pool.admit(t0 + ms(10)).is_ok());
    }
}
