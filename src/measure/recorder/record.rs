//! What the recorder is told of one request: its times, its result and the timings of its
//! response.

use tokio::time::Instant;

use crate::client::Detail;
use crate::measure::ErrorKind;

/// The outcome of one request as the recorder needs it.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// Index of the request in the spec.
    pub request: usize,
    /// The turn of a multi-turn conversation it was sent as (from 1); `None` outside one.
    pub turn: Option<u32>,
    /// When the schedule wanted it to start (the actual start in the closed model).
    pub intended: Instant,
    /// Whether `intended` is an arrival of the open model's schedule, whose lateness is the
    /// generator's schedule lateness; a later step of a session is intended at the previous
    /// step's completion plus its think time, and a late wake-up from that pause counts in
    /// its latency only.
    pub scheduled: bool,
    /// When it was actually started.
    pub sent: Instant,
    /// When the response was complete (or the request failed).
    pub done: Instant,
    /// Body bytes on success, the kind on failure.
    pub result: Result<u64, ErrorKind>,
    /// Timings of the response (stream, stages, connection phases), and the status of a
    /// failed one.
    pub detail: Detail,
}
