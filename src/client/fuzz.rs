//! Entry points for the fuzz targets (`fuzz/fuzz_targets/response.rs`): the parsers that read
//! what a server sends, which are private to the client otherwise. Built only under cargo-fuzz
//! (`--cfg fuzzing`).

use tokio::time::Instant;

use super::chunked::Chunked;
use super::sse::{SseReader, server_timing};

/// Decodes `body` as a chunked body fed in pieces cut at `cuts`; returns the data bytes, or
/// `None` on an error.
pub fn chunked(body: &[u8], cuts: &[usize]) -> Option<usize> {
    let mut decoder = Chunked::default();
    let (mut pending, mut data, mut from) = (Vec::new(), 0usize, 0usize);
    for &cut in cuts.iter().chain(std::iter::once(&body.len())) {
        let to = cut.clamp(from, body.len());
        pending.extend_from_slice(&body[from..to]);
        from = to;
        let used = decoder
            .feed(&pending, |d| {
                data += d.len();
                Ok(())
            })
            .ok()?;
        assert!(used <= pending.len(), "consumed more than it was given");
        pending.drain(..used);
        if decoder.done() {
            break;
        }
    }
    Some(data)
}

/// Reads `body` as an event stream fed in pieces cut at `cuts`, expecting `end` to close it;
/// returns the token count, or `None` on an error.
pub fn event_stream(body: &[u8], cuts: &[usize], end: Option<String>) -> Option<u64> {
    let mut reader = SseReader::new(end);
    let now = Instant::now();
    let mut from = 0;
    for &cut in cuts.iter().chain(std::iter::once(&body.len())) {
        let to = cut.clamp(from, body.len());
        reader.feed(&body[from..to], now).ok()?;
        from = to;
    }
    reader.finish(now).ok().map(|t| t.tokens())
}

/// The stages of a `Server-Timing` value.
pub fn stages(value: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    server_timing(value, &mut out);
    out
}

/// Seconds a `Retry-After` value asks for.
pub fn retry_after(value: &str) -> Option<u64> {
    super::response::retry_after(value)
}
