//! The common start of a sharded run: `PERFSPEC_START_AT` (RFC 3339 or unix seconds), and
//! the start of every later scenario, computed the same way on every shard.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The furthest ahead a start may be: a typo in the date must not leave jobs waiting for days.
pub const MAX_AHEAD: Duration = Duration::from_secs(600);
/// How late a shard may reach a start and still begin (clocks of machines differ a little,
/// a job starts a little late); later than this the shard fails instead of running out of step.
pub const LATE_TOLERANCE: Duration = Duration::from_secs(5);

/// Parses an absolute start time: RFC 3339 (`2026-12-01T09:00:00Z`, with an offset or
/// fractional seconds) or unix seconds (`1796115600`, `1796115600.5`), within
/// [`MAX_AHEAD`] of `now` and not more than [`LATE_TOLERANCE`] before it.
pub(crate) fn parse_start(text: &str, now: SystemTime) -> Result<SystemTime, String> {
    let t = text.trim();
    let at = if let Ok(secs) = t.parse::<f64>() {
        if !secs.is_finite() || secs < 0.0 {
            return Err(format!("`{text}` is not a time: unix seconds are positive"));
        }
        UNIX_EPOCH + Duration::from_secs_f64(secs)
    } else {
        let dt = chrono::DateTime::parse_from_rfc3339(t).map_err(|e| {
            format!(
                "`{text}` is not a time ({e}): write RFC 3339 (`2026-12-01T09:00:00Z`) or unix seconds (`date -d '+1 min' +%s`)"
            )
        })?;
        let ns = dt.timestamp_nanos_opt().unwrap_or(-1);
        if ns < 0 {
            return Err(format!("`{text}` is before 1970"));
        }
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    };
    check_bounds(text, at, now)?;
    Ok(at)
}

/// A start as RFC 3339 in UTC, to the nanosecond when it has a fraction.
pub(crate) fn start_text(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn check_bounds(text: &str, at: SystemTime, now: SystemTime) -> Result<(), String> {
    match at.duration_since(now) {
        Ok(ahead) if ahead > MAX_AHEAD => Err(format!(
            "`{text}` is {:.0} s away, more than the {} s a shard waits: give a start within {} minutes (shards wait for it, then begin together)",
            ahead.as_secs_f64(),
            MAX_AHEAD.as_secs(),
            MAX_AHEAD.as_secs() / 60
        )),
        Ok(_) => Ok(()),
        Err(e) if e.duration() > LATE_TOLERANCE => Err(format!(
            "`{text}` was {:.1} s ago: a shard may start at most {} s late; give a start a little in the future",
            e.duration().as_secs_f64(),
            LATE_TOLERANCE.as_secs()
        )),
        Err(_) => Ok(()),
    }
}

/// The starts of the scenarios this shard runs, one after another: the first at the common
/// start, each later one when the previous one's planned length (warm-up, duration, graceful
/// stop) plus [`super::SLOT_MARGIN`] has passed. Every shard runs the same selection in the
/// same order, so every shard computes the same starts.
#[derive(Debug)]
pub(crate) struct StartSlots {
    next: Mutex<Option<SystemTime>>,
}

impl StartSlots {
    /// Slots from `first`; without one, scenarios start at once.
    pub fn new(first: Option<SystemTime>) -> StartSlots {
        StartSlots {
            next: Mutex::new(first),
        }
    }

    /// Takes the next slot (for a scenario of planned length `length`) and waits for it;
    /// `stop` is polled while waiting. Returns the slot (`None` without a common start), or
    /// why this shard cannot start in step.
    pub async fn wait(
        &self,
        length: Duration,
        stop: impl Fn() -> Option<String>,
    ) -> Result<Option<SystemTime>, String> {
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let Some(slot) = *next else {
                return Ok(None);
            };
            *next = Some(slot + length + super::SLOT_MARGIN);
            slot
        };
        loop {
            if let Some(why) = stop() {
                return Err(format!("{why} while waiting for the common start"));
            }
            match slot.duration_since(SystemTime::now()) {
                Ok(left) if !left.is_zero() => {
                    tokio::time::sleep(left.min(Duration::from_millis(100))).await;
                }
                Ok(_) => return Ok(Some(slot)),
                Err(late) if late.duration() <= LATE_TOLERANCE => return Ok(Some(slot)),
                Err(late) => {
                    return Err(format!(
                        "this shard reached its start ({}) {:.1} s late, more than the {} s allowed: the shards would not run together (a slow target start-up, or clocks apart)",
                        start_text(slot),
                        late.duration().as_secs_f64(),
                        LATE_TOLERANCE.as_secs()
                    ));
                }
            }
        }
    }
}
