//! A Prometheus histogram fed from HDR histograms once a second, not per request: the load
//! generator records into its own histograms, and the live endpoint adds what each second
//! brought. Rendered by prometheus-client as an ordinary histogram (`_bucket`, `_sum`,
//! `_count`).

use std::sync::{Arc, Mutex};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

/// Bucket bounds, seconds: 1 ms to 10 s, Prometheus' defaults with finer steps below 10 ms.
pub const BOUNDS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default)]
struct State {
    sum: f64,
    count: u64,
    /// Per bucket (not cumulative), the last one above every bound.
    counts: [u64; BOUNDS.len() + 1],
}

/// A histogram of seconds that grows by whole HDR histograms (µs).
#[derive(Debug, Clone, Default)]
pub struct Buckets(Arc<Mutex<State>>);

impl Buckets {
    /// Adds every value of `h` (µs): each goes to the bucket of its median equivalent value,
    /// which is also what the sum adds (the histograms keep 2 or 3 significant figures).
    pub fn add<T: hdrhistogram::Counter>(&self, h: &hdrhistogram::Histogram<T>) {
        if h.is_empty() {
            return;
        }
        let mut s = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for v in h.iter_recorded() {
            let n = v.count_at_value().as_u64();
            let secs = h.median_equivalent(v.value_iterated_to()) as f64 / 1e6;
            let i = BOUNDS.partition_point(|b| *b < secs);
            s.counts[i] += n;
            s.count += n;
            s.sum += secs * n as f64;
        }
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).count
    }
}

impl TypedMetric for Buckets {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Buckets {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let s = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let buckets: Vec<(f64, u64)> = BOUNDS
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(s.counts.iter().copied())
            .collect();
        encoder.encode_histogram::<NoLabelSet>(s.sum, s.count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_land_in_their_buckets() {
        let mut h = hdrhistogram::Histogram::<u32>::new(2).unwrap();
        h.record_n(300, 2).unwrap(); // 0.3 ms
        h.record(7_000).unwrap(); // 7 ms
        h.record(20_000_000).unwrap(); // 20 s
        let b = Buckets::default();
        b.add(&h);
        b.add(&h);
        let s = b.0.lock().unwrap();
        assert_eq!(s.count, 8);
        assert_eq!(
            (s.counts[0], s.counts[4], s.counts[BOUNDS.len()]),
            (4, 2, 2)
        );
        assert!(
            (s.sum - 2.0 * (0.0006 + 0.007 + 20.0)).abs() < 0.25,
            "{}",
            s.sum
        );
    }
}
