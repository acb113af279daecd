//! HDR histograms in files: V2 + DEFLATE, base64 (a few KB for a million samples).

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
    let h: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
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
