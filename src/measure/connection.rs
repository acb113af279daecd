//! Connection phases of requests (connect, TLS, time to first byte, transfer) and what failed
//! responses said (status codes, `Retry-After`): recorded beside latency, per request name.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use super::new_histogram;
use super::stats::merge_into;
use crate::client::Detail;

/// The connection phases of one request name, µs. A phase is recorded only when it happened:
/// `connect` and `tls` once per connection opened (a request on a kept-alive connection has
/// neither), `ttfb` and `transfer` once per successful HTTP response.
#[derive(Debug, Clone)]
pub struct PhaseStats {
    /// TCP handshakes.
    pub connect: Histogram<u64>,
    /// TLS handshakes.
    pub tls: Histogram<u64>,
    /// TLS handshakes that resumed an earlier session.
    pub resumed: u64,
    /// From the start of a request to the first byte of its response.
    pub ttfb: Histogram<u64>,
    /// From the first byte of a response to its last.
    pub transfer: Histogram<u64>,
}

impl Default for PhaseStats {
    fn default() -> PhaseStats {
        PhaseStats {
            connect: new_histogram(),
            tls: new_histogram(),
            resumed: 0,
            ttfb: new_histogram(),
            transfer: new_histogram(),
        }
    }
}

impl PhaseStats {
    /// Records the phases of one request; `ok` says whether it succeeded (only successful
    /// responses have their `ttfb` and `transfer` counted, like latency).
    pub(crate) fn record(&mut self, detail: &Detail, ok: bool) {
        let p = &detail.phases;
        let us = |d: std::time::Duration| d.as_micros().min(3_600_000_000) as u64;
        if let Some(d) = p.connect {
            let _ = self.connect.record(us(d));
        }
        if let Some(d) = p.tls {
            let _ = self.tls.record(us(d));
            self.resumed += u64::from(p.resumed);
        }
        if ok {
            if let Some(d) = p.ttfb {
                let _ = self.ttfb.record(us(d));
            }
            if let Some(d) = p.transfer {
                let _ = self.transfer.record(us(d));
            }
        }
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &PhaseStats) {
        merge_into(&mut self.connect, &other.connect);
        merge_into(&mut self.tls, &other.tls);
        merge_into(&mut self.ttfb, &other.ttfb);
        merge_into(&mut self.transfer, &other.transfer);
        self.resumed += other.resumed;
    }

    /// Whether nothing was recorded (in-process components have no phases).
    pub fn is_empty(&self) -> bool {
        self.connect.is_empty() && self.ttfb.is_empty()
    }
}

/// What the failed responses of one request name said.
#[derive(Debug, Clone, Default)]
pub struct Refusals {
    /// Unexpected status codes and how often each came.
    pub statuses: BTreeMap<u16, u64>,
    /// `Retry-After` of 429 responses that had one, seconds.
    pub retry_after_s: Option<Histogram<u64>>,
}

impl Refusals {
    /// Records a failed request's response, if it had one.
    pub(crate) fn record(&mut self, detail: &Detail) {
        if let Some(code) = detail.status {
            *self.statuses.entry(code).or_default() += 1;
        }
        if let Some(secs) = detail.retry_after {
            let _ = self
                .retry_after_s
                .get_or_insert_with(new_histogram)
                .record(secs);
        }
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Refusals) {
        for (code, n) in &other.statuses {
            *self.statuses.entry(*code).or_default() += n;
        }
        if let Some(h) = &other.retry_after_s {
            merge_into(self.retry_after_s.get_or_insert_with(new_histogram), h);
        }
    }

    /// The codes of one status class (`http-5xx` → 5xx codes; `rate-limited` → 429) as
    /// `503 ×10, 500 ×2`, most frequent first; empty when none was recorded.
    pub fn codes_of(&self, kind: super::ErrorKind) -> String {
        let mut codes: Vec<(u16, u64)> = self
            .statuses
            .iter()
            .filter(|(c, _)| super::ErrorKind::for_status(**c) == kind)
            .map(|(c, n)| (*c, *n))
            .collect();
        codes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        codes
            .iter()
            .map(|(c, n)| format!("{c} ×{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
