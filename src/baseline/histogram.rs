//! HDR histograms in files: V2 + DEFLATE, base64 (a few KB for a million samples).

use std::io::Read;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};

/// Encodes a histogram for a JSON field.
pub fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    // Serializing into a Vec cannot fail for a valid histogram.
    let _ = V2DeflateSerializer::new().serialize(h, &mut bytes);
    STANDARD.encode(bytes)
}

/// Decodes a histogram written by [`encode`] (plain V2 is read too).
pub fn decode(text: &str) -> Result<Histogram<u64>, String> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|e| format!("not base64: {e}"))?;
    let plain = plain_v2(&bytes)?;
    let h: Histogram<u64> = Deserializer::new()
        .deserialize(&mut &plain[..])
        .map_err(|e| format!("not an HDR histogram: {e:?}"))?;
    // hdrhistogram sums counts unchecked (quantiles, merging): a crafted file with counts
    // near u64::MAX would overflow there. No run records anywhere near 2^53 samples.
    let total = h
        .iter_recorded()
        .try_fold(0u64, |sum, v| sum.checked_add(v.count_at_value()));
    match total {
        Some(n) if n <= MAX_SAMPLES => Ok(h),
        _ => Err(format!(
            "its counts add up to more than {MAX_SAMPLES} samples, which no run records"
        )),
    }
}

/// The V2 cookies (hdrhistogram's serialization format, version 2).
const V2: u32 = 0x1c84_9313;
const V2_DEFLATE: u32 = 0x1c84_9314;

/// The most bytes an inflated histogram may take: a 3-significant-figure histogram of any
/// range is well under 1 MiB.
const MAX_INFLATED: u64 = 16 << 20;

/// The plain V2 form of `bytes`, checked before hdrhistogram allocates by what the header
/// claims: it trusts the payload length (up to 4 GiB) and the bounds (a counts array of any
/// size). Found by the `baseline` fuzz target (an out-of-memory on a 3 KB file).
fn plain_v2(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, String> {
    let word = |b: &[u8], at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
    };
    let plain = match word(bytes, 0) {
        Some(V2) => std::borrow::Cow::Borrowed(bytes),
        Some(V2_DEFLATE) => {
            let len = word(bytes, 4).ok_or("not an HDR histogram: truncated")? as usize;
            let compressed = bytes
                .get(8..8usize.saturating_add(len))
                .ok_or("not an HDR histogram: truncated")?;
            let mut out = Vec::new();
            flate2::read::ZlibDecoder::new(compressed)
                .take(MAX_INFLATED + 1)
                .read_to_end(&mut out)
                .map_err(|e| format!("not an HDR histogram: {e}"))?;
            if out.len() as u64 > MAX_INFLATED {
                return Err(format!(
                    "not an HDR histogram: inflates past {} MiB",
                    MAX_INFLATED >> 20
                ));
            }
            std::borrow::Cow::Owned(out)
        }
        _ => return Err("not an HDR histogram: unknown format".into()),
    };
    // Header: cookie, payload length, normalizing offset, significant figures (u32 each),
    // lowest and highest trackable value (u64 each), conversion ratio (f64); then the payload.
    let header = |at| word(&plain, at).ok_or("not an HDR histogram: truncated header");
    let (cookie, payload, digits) = (header(0)?, header(4)?, header(12)?);
    let long = |at: usize| {
        plain
            .get(at..at + 8)
            .map(|b| u64::from_be_bytes(b.try_into().unwrap_or_default()))
            .ok_or("not an HDR histogram: truncated header")
    };
    let (low, high) = (long(16)?, long(24)?);
    if cookie != V2 || payload as usize > plain.len().saturating_sub(40) {
        return Err("not an HDR histogram: it claims more payload than it holds".into());
    }
    if digits > 5 || low == 0 || high < low.saturating_mul(2) {
        return Err(format!(
            "not an HDR histogram: bounds {low}..{high} with {digits} significant figures"
        ));
    }
    Ok(plain)
}

/// The most samples a decoded histogram may hold (2^53): far beyond any run, and small enough
/// that merging thousands of them cannot overflow a u64 count.
pub const MAX_SAMPLES: u64 = 1 << 53;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_stays_small() {
        let mut h = Histogram::<u64>::new(3).unwrap();
        for i in 0..100_000u64 {
            h.record(200 + (i * 7919) % 50_000).unwrap();
        }
        let text = encode(&h);
        assert!(text.len() < 40_000, "{} bytes", text.len());
        let back = decode(&text).unwrap();
        assert_eq!(
            (back.len(), back.value_at_quantile(0.99)),
            (h.len(), h.value_at_quantile(0.99))
        );
        assert!(decode("not base64!").unwrap_err().contains("base64"));
        assert!(
            decode("aGVsbG8=")
                .unwrap_err()
                .contains("not an HDR histogram")
        );
    }

    #[test]
    fn headers_that_would_allocate_without_bounds_are_refused() {
        // Found by the `baseline` fuzz target: a header claiming a 4 GiB payload.
        let mut h = Histogram::<u64>::new(3).unwrap();
        h.record(1_000).unwrap();
        let mut plain = Vec::new();
        hdrhistogram::serialization::V2Serializer::new()
            .serialize(&h, &mut plain)
            .unwrap();
        assert!(decode(&STANDARD.encode(&plain)).is_ok(), "plain V2 is read");
        let patched = |at: usize, value: u32| {
            let mut b = plain.clone();
            b[at..at + 4].copy_from_slice(&value.to_be_bytes());
            decode(&STANDARD.encode(&b)).unwrap_err()
        };
        assert!(patched(4, u32::MAX - 7).contains("more payload than it holds"));
        assert!(patched(12, 9).contains("9 significant figures"));
        assert!(decode(&STANDARD.encode([0x1c, 0x84, 0x93, 0x14])).is_err());
    }

    #[test]
    fn counts_beyond_any_run_are_refused() {
        // Found by the `baseline` fuzz target: counts that overflow when hdrhistogram sums
        // them for a quantile.
        let mut h = Histogram::<u64>::new(3).unwrap();
        h.record_n(100, u64::MAX / 2).unwrap();
        h.record_n(5_000, u64::MAX / 2).unwrap();
        let e = decode(&encode(&h)).unwrap_err();
        assert!(e.contains("no run records"), "{e}");
        let mut big = Histogram::<u64>::new(3).unwrap();
        big.record_n(100, MAX_SAMPLES + 1).unwrap();
        assert!(decode(&encode(&big)).is_err());
    }
}
