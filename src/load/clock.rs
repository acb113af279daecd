//! Sleeping until an instant with sub-millisecond precision, on the runtime's own reactor.
//!
//! tokio's timer rounds every sleep up to its next 1 ms tick, which would make every open-model
//! arrival up to 2 ms late; a thread of its own that sleeps precisely competes with the
//! workers for the CPU and wakes them across threads for every arrival. A timerfd (Linux)
//! registered with the reactor wakes the worker itself, on time, with no extra thread.
//! Elsewhere tokio's timer is used.

use tokio::time::Instant;

/// A precise sleeper; one per dispatcher.
pub(super) struct Clock {
    #[cfg(target_os = "linux")]
    timer: Option<tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>>,
}

impl Clock {
    /// A clock on the current runtime (a timerfd when the platform has one).
    pub fn new() -> Clock {
        Clock {
            #[cfg(target_os = "linux")]
            timer: timerfd(),
        }
    }

    /// Returns at `at` (at once when it has passed).
    pub async fn sleep_until(&mut self, at: Instant) {
        #[cfg(target_os = "linux")]
        if let Some(fd) = &self.timer {
            use std::os::fd::AsRawFd;
            let now = Instant::now();
            if at <= now {
                return;
            }
            let wait = at - now;
            let spec = libc::itimerspec {
                it_interval: libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                },
                it_value: libc::timespec {
                    tv_sec: wait.as_secs() as libc::time_t,
                    tv_nsec: wait.subsec_nanos() as libc::c_long,
                },
            };
            // SAFETY: a timerfd this clock owns and a valid itimerspec. Arming it again resets
            // its expiry count, so it is never read: each expiry is one new readiness edge.
            let armed =
                unsafe { libc::timerfd_settime(fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
            if armed == 0 {
                while Instant::now() < at {
                    match fd.readable().await {
                        Ok(mut ready) => ready.clear_ready(),
                        Err(_) => break,
                    }
                }
                if Instant::now() >= at {
                    return;
                }
            }
        }
        tokio::time::sleep_until(at).await;
    }
}

#[cfg(target_os = "linux")]
fn timerfd() -> Option<tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>> {
    use std::os::fd::FromRawFd;
    // SAFETY: timerfd_create has no preconditions; a non-negative result is a new fd we own.
    let fd = unsafe {
        libc::timerfd_create(
            libc::CLOCK_MONOTONIC,
            libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
        )
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` was just created and is owned by nobody else.
    let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    // SAFETY: the AsyncFd owns the OwnedFd, which stays open and unchanged until it is dropped.
    unsafe {
        tokio::io::unix::AsyncFd::register_with_interest(owned, tokio::io::Interest::READABLE).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn never_wakes_early() {
        // How late it wakes is a benchmark figure (`cargo xtask bench open-model`): a loaded
        // machine may delay any wake-up. Here: never early, and each sleep ends.
        let mut clock = Clock::new();
        for micros in [0, 50, 300, 1_500] {
            let at = Instant::now() + Duration::from_micros(micros);
            clock.sleep_until(at).await;
            assert!(Instant::now() >= at, "woke before {micros} µs");
        }
    }
}
