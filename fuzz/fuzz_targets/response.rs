//! What a server sends back: chunked bodies and event streams cut into pieces at arbitrary
//! points (a decoder must give the same answer however the bytes arrive), `Server-Timing` and
//! `Retry-After` header values.

#![no_main]

use libfuzzer_sys::fuzz_target;
use perfspec::response_parsers::{chunked, event_stream, retry_after, stages};

fuzz_target!(|bytes: &[u8]| {
    // The first byte chooses up to 7 cut points from the next ones; the rest is the input.
    let Some((&n, rest)) = bytes.split_first() else {
        return;
    };
    let n = usize::from(n % 8).min(rest.len());
    let (cut_bytes, body) = rest.split_at(n);
    let mut cuts: Vec<usize> = cut_bytes
        .iter()
        .map(|&c| usize::from(c) * body.len() / 256)
        .collect();
    cuts.sort_unstable();
    // Whole and in pieces: the same answer.
    assert_eq!(
        chunked(body, &[]),
        chunked(body, &cuts),
        "chunked body decoded differently when cut at {cuts:?}"
    );
    assert_eq!(
        event_stream(body, &[], None),
        event_stream(body, &cuts, None),
        "event stream read differently when cut at {cuts:?}"
    );
    let _ = event_stream(body, &cuts, Some("[DONE]".into()));
    let text = String::from_utf8_lossy(body);
    for (name, _) in stages(&text) {
        assert!(!name.is_empty());
    }
    let _ = retry_after(&text);
});
