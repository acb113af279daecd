//! Reading a `text/event-stream` response as it arrives: each event is timed when its last
//! line arrives. OpenAI-compatible chunks are understood (content deltas are tokens, `usage`
//! gives the token count, `[DONE]` ends the stream); any other event with data counts as one
//! token, so every server-sent-event stream can be measured.

use serde_json::Value;
use tokio::time::Instant;

use crate::measure::ErrorKind;

/// The timing of one stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct StreamTiming {
    /// When the first content event arrived.
    pub first: Option<Instant>,
    /// When the last content event arrived.
    pub last: Option<Instant>,
    /// Gaps between consecutive content events, µs.
    pub gaps_us: Vec<u64>,
    /// Content events.
    pub events: u64,
    /// Output tokens the server reported (`usage.completion_tokens`).
    pub usage: Option<u64>,
    /// The reply's text (content deltas joined), when the request keeps it (a chat turn of a
    /// flow appends it to the conversation).
    pub text: Option<String>,
}

impl StreamTiming {
    /// Output tokens: the server's `usage` when it sent one, else the content events.
    pub fn tokens(&self) -> u64 {
        self.usage.unwrap_or(self.events)
    }
}

/// An incremental reader of one stream.
#[derive(Debug)]
pub(crate) struct SseReader {
    pending: Vec<u8>,
    data: Option<String>,
    end: Option<String>,
    done: bool,
    timing: StreamTiming,
}

impl SseReader {
    /// A reader that expects the event `end` (its data) to close the stream, or only the end
    /// of the body when `None`.
    pub fn new(end: Option<String>) -> SseReader {
        SseReader {
            pending: Vec::new(),
            data: None,
            end,
            done: false,
            timing: StreamTiming::default(),
        }
    }

    /// Also assembles the reply's text from the content deltas (OpenAI `delta.content` or
    /// `text`; the data of other events).
    pub fn with_text(mut self) -> SseReader {
        self.timing.text = Some(String::new());
        self
    }

    /// Feeds bytes that arrived at `now`.
    pub fn feed(&mut self, bytes: &[u8], now: Instant) -> Result<(), ErrorKind> {
        self.pending.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(nl) = self.pending[start..].iter().position(|&b| b == b'\n') {
            let line_end = start + nl;
            let line = self.pending[start..line_end]
                .strip_suffix(b"\r")
                .unwrap_or(&self.pending[start..line_end]);
            let line = std::str::from_utf8(line)
                .map_err(|_| ErrorKind::StreamMalformed)?
                .to_string();
            start = line_end + 1;
            self.line(&line, now)?;
        }
        self.pending.drain(..start);
        Ok(())
    }

    fn line(&mut self, line: &str, now: Instant) -> Result<(), ErrorKind> {
        if line.is_empty() {
            return match self.data.take() {
                Some(data) => self.event(&data, now),
                None => Ok(()),
            };
        }
        if line.starts_with(':') {
            return Ok(()); // a comment (keep-alive)
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        if field == "data" {
            let value = value.strip_prefix(' ').unwrap_or(value);
            match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            }
        }
        Ok(())
    }

    fn event(&mut self, data: &str, now: Instant) -> Result<(), ErrorKind> {
        if self.done {
            return Ok(());
        }
        if self.end.as_deref() == Some(data.trim()) {
            self.done = true;
            return Ok(());
        }
        let content = if data.trim_start().starts_with('{') {
            let v: Value = serde_json::from_str(data).map_err(|_| ErrorKind::StreamMalformed)?;
            if v.get("error").is_some_and(|e| !e.is_null()) {
                return Err(ErrorKind::StreamError);
            }
            if let Some(n) = v
                .pointer("/usage/completion_tokens")
                .and_then(Value::as_u64)
            {
                self.timing.usage = Some(n);
            }
            match v.get("choices") {
                // OpenAI-style: a chunk carries a token when its delta (or text) has content.
                Some(choices) => choices.get(0).is_some_and(|c| {
                    let text = |p: &str| {
                        c.pointer(p)
                            .and_then(Value::as_str)
                            .filter(|s| !s.is_empty())
                    };
                    let piece = text("/delta/content").or_else(|| text("/text"));
                    if let (Some(all), Some(piece)) = (&mut self.timing.text, piece) {
                        all.push_str(piece);
                    }
                    piece.is_some() || c.pointer("/delta/tool_calls").is_some_and(|t| !t.is_null())
                }),
                None => v.get("usage").is_none(),
            }
        } else {
            if let Some(all) = &mut self.timing.text {
                all.push_str(data);
            }
            !data.is_empty()
        };
        if content {
            let t = &mut self.timing;
            if let Some(last) = t.last {
                t.gaps_us
                    .push(now.saturating_duration_since(last).as_micros() as u64);
            } else {
                t.first = Some(now);
            }
            t.last = Some(now);
            t.events += 1;
        }
        Ok(())
    }

    /// The end of the body: a stream needs its end event, unless it ends with the body.
    pub fn finish(mut self, now: Instant) -> Result<StreamTiming, ErrorKind> {
        if !self.pending.is_empty() {
            let rest = String::from_utf8(std::mem::take(&mut self.pending))
                .map_err(|_| ErrorKind::StreamMalformed)?;
            self.line(&rest, now)?;
        }
        if let Some(data) = self.data.take() {
            self.event(&data, now)?;
        }
        if self.end.is_some() && !self.done {
            return Err(ErrorKind::StreamIncomplete);
        }
        Ok(self.timing)
    }
}

/// Stage timings from a `Server-Timing` header: `embed;dur=3.1, search;dur=7.4` gives
/// `[("embed", 3100), ("search", 7400)]` (µs). Entries without a duration are skipped.
pub(crate) fn server_timing(value: &str, out: &mut Vec<(String, u64)>) {
    for entry in value.split(',') {
        let mut parts = entry.split(';');
        let name = parts.next().unwrap_or("").trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            continue;
        }
        let dur = parts
            .find_map(|p| p.trim().strip_prefix("dur="))
            .and_then(|d| d.trim_matches('"').parse::<f64>().ok());
        if let Some(ms) = dur.filter(|d| d.is_finite() && *d >= 0.0) {
            out.push((name.to_string(), (ms * 1000.0).round() as u64));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(ms: u64) -> Instant {
        static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        *START.get_or_init(Instant::now) + Duration::from_millis(ms)
    }

    #[test]
    fn reads_openai_chunks_across_frames() {
        let mut r = SseReader::new(Some("[DONE]".into()));
        let role =
            "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n";
        r.feed(role.as_bytes(), at(10)).unwrap();
        r.feed(b"data: {\"choices\":[{\"delta\":{\"content\":\"Hel", at(40))
            .unwrap();
        r.feed(b"lo\"}}]}\r\n\r\n: keep-alive\n\n", at(50)).unwrap();
        r.feed(
            b"data: {\"choices\":[{\"delta\":{\"content\":\" world\"}}]}\n\n",
            at(70),
        )
        .unwrap();
        r.feed(
            b"data: {\"choices\":[],\"usage\":{\"completion_tokens\":3}}\n\ndata: [DONE]\n\n",
            at(75),
        )
        .unwrap();
        let t = r.finish(at(80)).unwrap();
        assert_eq!(
            t.first,
            Some(at(50)),
            "the role chunk has no content; the first token completes at 50 ms"
        );
        assert_eq!(t.gaps_us, vec![20_000]);
        assert_eq!((t.events, t.usage, t.tokens()), (2, Some(3), 3));
        assert_eq!(t.text, None, "the text is assembled only when asked");
    }

    #[test]
    fn assembles_the_reply_text_when_asked() {
        let mut r = SseReader::new(Some("[DONE]".into())).with_text();
        r.feed(
            b"data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"Hel",
            at(1),
        )
        .unwrap();
        r.feed(
            b"lo \"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"w\\u00f6rld\"}}]}\n\ndata: [DONE]\n\n",
            at(2),
        )
        .unwrap();
        assert_eq!(
            r.finish(at(3)).unwrap().text.as_deref(),
            Some("Hello w\u{f6}rld")
        );
        let mut r = SseReader::new(None).with_text();
        r.feed(b"data: a\n\ndata: b\n\n", at(1)).unwrap();
        assert_eq!(r.finish(at(2)).unwrap().text.as_deref(), Some("ab"));
    }

    #[test]
    fn plain_events_count_as_tokens_and_ends_are_checked() {
        let mut r = SseReader::new(None);
        r.feed(
            b"event: tick\ndata: a\n\ndata: b\ndata: c\n\ndata: d",
            at(1),
        )
        .unwrap();
        let t = r.finish(at(2)).unwrap();
        assert_eq!(
            t.events, 3,
            "a last event without a blank line still counts at the end of the body"
        );
        let mut r = SseReader::new(Some("[DONE]".into()));
        r.feed(
            b"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n",
            at(1),
        )
        .unwrap();
        assert_eq!(r.finish(at(2)), Err(ErrorKind::StreamIncomplete));
        let mut r = SseReader::new(Some("[DONE]".into()));
        assert_eq!(
            r.feed(b"data: {\"choices\": [\n\n", at(1)),
            Err(ErrorKind::StreamMalformed)
        );
        let mut r = SseReader::new(Some("[DONE]".into()));
        assert_eq!(
            r.feed(
                b"data: {\"error\": {\"message\": \"overloaded\"}}\n\n",
                at(1)
            ),
            Err(ErrorKind::StreamError)
        );
        let mut r = SseReader::new(None);
        assert_eq!(
            r.feed(&[b'd', b':', 0xff, b'\n'], at(1)),
            Err(ErrorKind::StreamMalformed)
        );
    }

    #[test]
    fn parses_server_timing() {
        let mut out = Vec::new();
        server_timing(
            "embed;dur=0.123, search;desc=\"exact\";dur=7.4,miss, bad name;dur=1, cache;dur=-1",
            &mut out,
        );
        assert_eq!(
            out,
            vec![("embed".to_string(), 123), ("search".to_string(), 7400)]
        );
    }
}
