//! Quantities with units: the parsers on any string, and the formatters on any number.

#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use perfspec::units::{
    bytes_factor, fmt_bytes, fmt_count, fmt_duration, fmt_percent, fmt_rate, fmt_us,
    number_and_unit, parse_bytes, parse_duration, parse_rate, time_unit_us,
};

fuzz_target!(|bytes: &[u8]| {
    // The first 8 bytes are a number for the formatters; all bytes are text for the parsers.
    if bytes.len() >= 8 {
        let n = f64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
        let _ = (
            fmt_us(n),
            fmt_count(n),
            fmt_rate(n),
            fmt_percent(n),
            fmt_bytes(n),
        );
        let secs = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
        let nanos = bytes.get(8..12).map_or(0, |b| {
            u32::from_le_bytes(b.try_into().expect("4 bytes")) % 1_000_000_000
        });
        let _ = fmt_duration(Duration::new(secs, nanos));
    }
    let text = String::from_utf8_lossy(bytes);
    if let Ok(d) = parse_duration(&text) {
        assert!(
            d <= Duration::from_secs(30 * 86_400),
            "{text:?} parsed to {d:?}, over the 30-day bound"
        );
        let _ = fmt_duration(d);
    }
    if let Ok(r) = parse_rate(&text) {
        assert!(r.is_finite() && r >= 0.0, "{text:?} parsed to rate {r}");
        let _ = fmt_rate(r);
    }
    if let Ok(b) = parse_bytes(&text) {
        assert!(b >= 0.0, "{text:?} parsed to size {b}");
        let _ = fmt_bytes(b);
    }
    if let Some((n, unit)) = number_and_unit(&text) {
        assert!(n.is_finite());
        let _ = (time_unit_us(unit), bytes_factor(unit));
    }
});
