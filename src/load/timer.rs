//! A timer on the OS clock for the open model's dispatcher. tokio's timer ticks once a
//! millisecond, which would add up to a millisecond of lateness to every arrival; a thread of
//! its own that sleeps precisely costs two context switches per wake-up (measured: 0.7 per
//! request at 20,000/s, a third of the generator's CPU). On Linux this timer is a `timerfd`
//! in tokio's reactor: the worker thread's own `epoll_wait` returns on time and the
//! dispatcher runs on that thread, handing arrivals to users without crossing threads.
//! Elsewhere, or when the OS refuses a timerfd (out of descriptors), it falls back to tokio's
//! timer: arrivals are then up to a millisecond late, and the schedule lateness says so.

use tokio::time::Instant;

/// Wakes a task at an instant, to the microsecond where the OS allows.
pub(super) struct PreciseTimer {
    #[cfg(target_os = "linux")]
    fd: Option<tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>>,
}

impl PreciseTimer {
    /// A timer registered with the current tokio runtime.
    pub fn new() -> PreciseTimer {
        PreciseTimer {
            #[cfg(target_os = "linux")]
            fd: linux::timerfd().ok(),
        }
    }

    /// Whether it wakes on the OS clock (else on tokio's millisecond tick).
    #[cfg(test)]
    fn is_precise(&self) -> bool {
        #[cfg(target_os = "linux")]
        return self.fd.is_some();
        #[cfg(not(target_os = "linux"))]
        return false;
    }

    /// Returns at `at` or as soon after it as the thread is scheduled.
    pub async fn sleep_until(&mut self, at: Instant) {
        #[cfg(target_os = "linux")]
        if let Some(fd) = &self.fd {
            match linux::sleep_until(fd, at).await {
                Ok(()) => return,
                // Not expected of a timerfd; the coarse timer still keeps the schedule.
                Err(_) => self.fd = None,
            }
        }
        tokio::time::sleep_until(at).await;
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    use tokio::io::Interest;
    use tokio::io::unix::AsyncFd;
    use tokio::time::Instant;

    pub(super) fn timerfd() -> io::Result<AsyncFd<OwnedFd>> {
        // SAFETY: timerfd_create takes plain flags and returns a new descriptor or -1.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` was just created and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: the OwnedFd keeps this descriptor open, and the same, for as long as the
        // AsyncFd that owns it lives.
        Ok(unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE)? })
    }

    pub(super) async fn sleep_until(fd: &AsyncFd<OwnedFd>, at: Instant) -> io::Result<()> {
        let now = Instant::now();
        if at <= now {
            return Ok(());
        }
        // Relative to now: the same monotonic clock as `Instant`, without converting epochs.
        let wait = at - now;
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: wait.as_secs() as libc::time_t,
                // A zero value would disarm the timer: at least a nanosecond.
                tv_nsec: libc::c_long::from(wait.subsec_nanos().max(1)),
            },
        };
        let raw = fd.get_ref().as_raw_fd();
        // SAFETY: `raw` is a timerfd this timer owns; `spec` outlives the call. Arming it
        // again also clears an expiry left unread by a sleep that was cancelled.
        if unsafe { libc::timerfd_settime(raw, 0, &spec, std::ptr::null_mut()) } < 0 {
            return Err(io::Error::last_os_error());
        }
        loop {
            let mut ready = fd.readable().await?;
            let mut expirations = 0u64;
            // SAFETY: reads 8 bytes into a u64 from the timerfd this timer owns.
            let n = unsafe {
                libc::read(
                    raw,
                    (&raw mut expirations).cast::<libc::c_void>(),
                    std::mem::size_of::<u64>(),
                )
            };
            if n == std::mem::size_of::<u64>() as isize {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::WouldBlock {
                return Err(err);
            }
            // Readiness left from an earlier expiry that was already cleared.
            ready.clear_ready();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn wakes_after_the_instant_and_not_long_after() {
        let mut timer = PreciseTimer::new();
        assert_eq!(timer.is_precise(), cfg!(target_os = "linux"));
        for wait_us in [300u64, 1_500, 0] {
            let at = Instant::now() + Duration::from_micros(wait_us);
            timer.sleep_until(at).await;
            let woke = Instant::now();
            assert!(woke >= at, "woke before the instant ({wait_us} µs)");
            // Generous: a loaded 2-core machine may not schedule the thread at once.
            assert!(
                woke - at < Duration::from_millis(200),
                "woke {:?} late",
                woke - at
            );
        }
        // A sleep cancelled before its expiry leaves nothing behind for the next one.
        let early = Instant::now() + Duration::from_millis(1);
        let _ = tokio::time::timeout(Duration::ZERO, timer.sleep_until(early)).await;
        std::thread::sleep(Duration::from_millis(2));
        let at = Instant::now() + Duration::from_millis(5);
        timer.sleep_until(at).await;
        assert!(
            Instant::now() >= at,
            "a stale expiry woke the next sleep early"
        );
        assert!(timer.is_precise(), "the timer fell back to tokio's tick");
    }
}
