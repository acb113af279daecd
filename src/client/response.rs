//! What a response told, read the same way over HTTP/1 and HTTP/2: its status against the
//! expectation, the headers perfspec reads (`Server-Timing`, `Content-Type`, `Retry-After`),
//! and its body as it arrives (counted, capped, read as events when it streams, kept only when
//! asked).

use std::time::Duration;

use tokio::time::Instant;

use super::sse::{self, SseReader, StreamTiming};
use crate::measure::ErrorKind;
use crate::spec::{Expect, StreamSpec};

/// The connection phases of one request, as curl reports them (`-w` timings).
///
/// `connect` and `tls` are there only for a request that opened a connection: a request on a
/// kept-alive connection had no such phase.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Phases {
    /// The TCP handshake (curl: `time_connect`, less name lookup, done once per target).
    pub connect: Option<Duration>,
    /// The TLS handshake (curl: `time_appconnect − time_connect`).
    pub tls: Option<Duration>,
    /// Whether that handshake resumed an earlier session (no certificate exchange).
    pub resumed: bool,
    /// From the start of the request to the first byte of the response, connect and TLS
    /// included when this request opened the connection (curl: `time_starttransfer`).
    pub ttfb: Option<Duration>,
    /// From the first byte of the response to its last (curl: `time_total −
    /// time_starttransfer`).
    pub transfer: Option<Duration>,
}

/// What a response told besides success: timings, stages, and what a failure looked like.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Detail {
    /// The timing of a streamed response.
    pub stream: Option<StreamTiming>,
    /// Stage timings from `Server-Timing` (name, µs).
    pub stages: Vec<(String, u64)>,
    /// Connection phases.
    pub phases: Phases,
    /// The status code, when a response arrived.
    pub status: Option<u16>,
    /// `Retry-After` of a 429, in seconds.
    pub retry_after: Option<u64>,
    /// The body, when the request keeps it (`Prepared::retain_body`); at most `max-body`.
    pub body: Option<Vec<u8>>,
    /// The headers the request keeps (`Prepared::keep_headers`, for captures): lower-case
    /// name and value.
    pub headers: Vec<(String, String)>,
}

/// One finished exchange: body bytes read or why it failed, and what the response told.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Exchange {
    /// Body bytes on success, the kind on failure.
    pub result: Result<u64, ErrorKind>,
    /// Timings and headers of the response.
    pub detail: Detail,
}

/// A response being read.
pub(super) struct Reading<'a> {
    expect: &'a Expect,
    stream: Option<&'a StreamSpec>,
    max_body: u64,
    retain: bool,
    keep_headers: &'a [String],
    keep_text: bool,
    ok_status: bool,
    event_stream: bool,
    bytes: u64,
    sse: Option<SseReader>,
    kept: Option<Vec<u8>>,
    detail: Detail,
}

impl<'a> Reading<'a> {
    /// Reading a response to a request with `expect` and `stream`; the body is kept when
    /// `retain` (or when `expect` needs it).
    pub fn new(
        expect: &'a Expect,
        stream: Option<&'a StreamSpec>,
        max_body: u64,
        retain: bool,
    ) -> Reading<'a> {
        Reading {
            expect,
            stream,
            max_body,
            retain: retain || expect.body_contains.is_some() || !expect.json.is_empty(),
            keep_headers: &[],
            keep_text: false,
            ok_status: false,
            event_stream: false,
            bytes: 0,
            sse: None,
            kept: None,
            detail: Detail::default(),
        }
    }

    /// Keeps the values of headers `names` (lower case) in the exchange's detail.
    pub fn keep_headers(mut self, names: &'a [String]) -> Reading<'a> {
        self.keep_headers = names;
        self
    }

    /// Assembles the text of a streamed reply (`StreamTiming::text`) when `keep`.
    pub fn keep_text(mut self, keep: bool) -> Reading<'a> {
        self.keep_text = keep;
        self
    }

    /// The phases measured so far (the connection's, before the response).
    pub fn phases(&mut self) -> &mut Phases {
        &mut self.detail.phases
    }

    /// The status line arrived.
    pub fn status(&mut self, code: u16) {
        self.detail.status = Some(code);
        self.ok_status = self.expect.status.accepts(code);
    }

    /// One header of the final response.
    pub fn header(&mut self, name: &[u8], value: &[u8]) {
        if let Some(kept) = self
            .keep_headers
            .iter()
            .find(|k| k.as_bytes().eq_ignore_ascii_case(name))
            && let Ok(v) = std::str::from_utf8(value)
        {
            self.detail
                .headers
                .push((kept.clone(), v.trim().to_string()));
        }
        if name.eq_ignore_ascii_case(b"server-timing") {
            if let Ok(v) = std::str::from_utf8(value) {
                sse::server_timing(v, &mut self.detail.stages);
            }
        } else if name.eq_ignore_ascii_case(b"content-type") {
            self.event_stream = value.starts_with(b"text/event-stream");
        } else if name.eq_ignore_ascii_case(b"retry-after") {
            self.detail.retry_after = std::str::from_utf8(value).ok().and_then(retry_after);
        }
    }

    /// The head is complete: the body follows.
    pub fn body_starts(&mut self) {
        // A stream is read as events only when the status is right and it is one.
        if self.ok_status && self.event_stream {
            self.sse = self.stream.map(|s| {
                let reader = SseReader::new(s.end.clone());
                if self.keep_text {
                    reader.with_text()
                } else {
                    reader
                }
            });
        }
        if self.retain {
            self.kept = Some(Vec::new());
        }
    }

    /// Body bytes that arrived at `now`.
    pub fn data(&mut self, data: &[u8], now: Instant) -> Result<(), ErrorKind> {
        self.bytes += data.len() as u64;
        if self.bytes > self.max_body {
            return Err(ErrorKind::BodyTooLarge);
        }
        if let Some(kept) = &mut self.kept {
            kept.extend_from_slice(data);
        }
        if let Some(r) = &mut self.sse {
            r.feed(data, now)?;
        }
        Ok(())
    }

    /// The body ended at `now`: the outcome of the exchange.
    pub fn finish(mut self, now: Instant) -> Exchange {
        let result = self.judge(now);
        self.detail.body = self.kept.take();
        Exchange {
            result,
            detail: self.detail,
        }
    }

    /// The exchange failed with `kind` (what the response told so far is kept).
    pub fn fail(mut self, kind: ErrorKind) -> Exchange {
        self.detail.body = None;
        Exchange {
            result: Err(kind),
            detail: self.detail,
        }
    }

    fn judge(&mut self, now: Instant) -> Result<u64, ErrorKind> {
        let status = self.detail.status.unwrap_or(0);
        if !self.ok_status {
            return Err(ErrorKind::for_status(status));
        }
        if self.stream.is_some() {
            match self.sse.take() {
                Some(r) => self.detail.stream = Some(r.finish(now)?),
                None => return Err(ErrorKind::StreamMalformed),
            }
        }
        if let Some(needle) = &self.expect.body_contains {
            let kept = self.kept.as_deref().unwrap_or_default();
            if !contains(kept, needle.as_bytes()) {
                return Err(ErrorKind::Expectation);
            }
        }
        if !self.expect.json.is_empty() {
            let kept = self.kept.as_deref().unwrap_or_default();
            let body: serde_json::Value =
                serde_json::from_slice(kept).map_err(|_| ErrorKind::Expectation)?;
            for (pointer, want) in &self.expect.json {
                if body.pointer(pointer) != Some(want) {
                    return Err(ErrorKind::Expectation);
                }
            }
        }
        Ok(self.bytes)
    }
}

/// `Retry-After`: delay-seconds, or an HTTP date (seconds from now, 0 when past).
pub(super) fn retry_after(value: &str) -> Option<u64> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(secs);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .map_or(0, |d| d.as_secs()),
    )
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::StatusMatch;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(retry_after(" 120 "), Some(120));
        let later = std::time::SystemTime::now() + Duration::from_secs(90);
        let secs = retry_after(&httpdate::fmt_http_date(later)).unwrap();
        assert!((88..=90).contains(&secs), "{secs}");
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(0));
        assert_eq!(retry_after("soon"), None);
    }

    #[test]
    fn a_429_is_rate_limited_with_its_retry_after() {
        let expect = Expect {
            status: StatusMatch::Class(2),
            body_contains: None,
            json: Vec::new(),
        };
        let mut r = Reading::new(&expect, None, 100, false);
        r.status(429);
        r.header(b"Retry-After", b"7");
        r.body_starts();
        r.data(b"slow down", Instant::now()).unwrap();
        let e = r.finish(Instant::now());
        assert_eq!(e.result, Err(ErrorKind::RateLimited));
        assert_eq!(
            (e.detail.status, e.detail.retry_after),
            (Some(429), Some(7))
        );
        assert_eq!(e.detail.body, None, "bodies are not kept unless asked");
    }

    #[test]
    fn expect_json_compares_values_by_pointer() {
        let expect = Expect {
            status: StatusMatch::Class(2),
            body_contains: None,
            json: vec![("/items/0/id".into(), serde_json::json!(3))],
        };
        let judge = |body: &[u8]| {
            let mut r = Reading::new(&expect, None, 1000, false);
            r.status(200);
            r.body_starts();
            r.data(body, Instant::now()).unwrap();
            r.finish(Instant::now()).result
        };
        assert_eq!(judge(br#"{"items":[{"id":3}]}"#), Ok(20));
        assert_eq!(
            judge(br#"{"items":[{"id":4}]}"#),
            Err(ErrorKind::Expectation)
        );
        assert_eq!(judge(br#"{"items":[]}"#), Err(ErrorKind::Expectation));
        assert_eq!(judge(b"not json"), Err(ErrorKind::Expectation));
    }
}
