//! The result JSON's view of what the client saw: connection phases per request name, and the
//! status codes and `Retry-After` of failed responses.

use std::collections::BTreeMap;

use serde::Serialize;

use super::json::LatencyJson;
use crate::measure::{PhaseStats, Refusals};

/// Connection phases, µs; a phase with nothing recorded is null.
#[derive(Serialize)]
pub(super) struct PhasesJson {
    /// Connections opened in the measured window (each has a `connect` sample).
    connections: u64,
    /// TLS handshakes, and how many resumed an earlier session.
    tls_handshakes: u64,
    tls_resumed: u64,
    connect: Option<LatencyJson>,
    tls: Option<LatencyJson>,
    ttfb: Option<LatencyJson>,
    transfer: Option<LatencyJson>,
}

impl PhasesJson {
    /// `None` when nothing was recorded (an in-process component).
    pub fn of(p: &PhaseStats) -> Option<PhasesJson> {
        if p.is_empty() {
            return None;
        }
        let of = |h: &hdrhistogram::Histogram<u64>| (!h.is_empty()).then(|| LatencyJson::of(h));
        Some(PhasesJson {
            connections: p.connect.len(),
            tls_handshakes: p.tls.len(),
            tls_resumed: p.resumed,
            connect: of(&p.connect),
            tls: of(&p.tls),
            ttfb: of(&p.ttfb),
            transfer: of(&p.transfer),
        })
    }
}

/// `Retry-After` of 429 responses, seconds.
#[derive(Serialize)]
pub(super) struct RetryAfterJson {
    responses: u64,
    min_s: u64,
    mean_s: f64,
    max_s: u64,
}

/// Unexpected status codes by code (`"503": 12`).
pub(super) fn by_status(r: &Refusals) -> BTreeMap<String, u64> {
    r.statuses
        .iter()
        .map(|(c, n)| (c.to_string(), *n))
        .collect()
}

/// The `Retry-After` figures, when a 429 had one.
pub(super) fn retry_after(r: &Refusals) -> Option<RetryAfterJson> {
    let h = r.retry_after_s.as_ref()?;
    Some(RetryAfterJson {
        responses: h.len(),
        min_s: h.min(),
        mean_s: (h.mean() * 1000.0).round() / 1000.0,
        max_s: h.max(),
    })
}
