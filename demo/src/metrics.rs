//! `GET /metrics`: the service's own Prometheus metrics, rendered by the official client in
//! the OpenMetrics text format. Requests by route and status with their latency, the query
//! embedding cache of `/search` (lookups, hits, entries) and requests in flight, so the
//! bundled specs can assert on what the service knows about itself.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The `Content-Type` of the response.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Labels of request metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The path: `/search`, `/embed`, …
    pub route: String,
    /// The status class: `2xx`, `4xx`, …
    pub status: String,
}

/// Labels of the latency histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Route {
    /// The path.
    pub route: String,
}

/// The service's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Completed requests by route and status class.
    pub requests: Family<RouteLabels, Counter>,
    /// Handling time by route, seconds.
    pub duration: Family<Route, Histogram>,
    /// Query-embedding cache lookups of `/search`.
    pub cache_lookups: Counter,
    /// Lookups that found the embedding.
    pub cache_hits: Counter,
    /// Embeddings held by the cache.
    pub cache_entries: Gauge,
    /// Requests being handled now.
    pub in_flight: Gauge,
    /// A family of `n` constant series (`--metrics-series`), to measure scraping a large
    /// endpoint.
    pub synthetic: Family<Vec<(String, String)>, Gauge<f64, AtomicU64>>,
}

impl Metrics {
    /// The metrics, registered; `synthetic` extra series.
    pub fn new(synthetic: u32) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RouteLabels, Counter>::default();
        let duration = Family::<Route, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
            ])
        });
        let (cache_lookups, cache_hits) = (Counter::default(), Counter::default());
        let (cache_entries, in_flight) = (Gauge::default(), Gauge::default());
        let synthetic_family = Family::<Vec<(String, String)>, Gauge<f64, AtomicU64>>::default();
        registry.register("http_requests", "Completed requests", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time to handle a request",
            duration.clone(),
        );
        registry.register(
            "cache_lookups",
            "Query-embedding cache lookups",
            cache_lookups.clone(),
        );
        registry.register(
            "cache_hits",
            "Query-embedding cache hits",
            cache_hits.clone(),
        );
        registry.register(
            "cache_entries",
            "Embeddings in the cache",
            cache_entries.clone(),
        );
        registry.register(
            "requests_in_flight",
            "Requests being handled",
            in_flight.clone(),
        );
        if synthetic > 0 {
            for i in 0..synthetic {
                synthetic_family
                    .get_or_create(&vec![("series".to_string(), i.to_string())])
                    .set(f64::from(i));
            }
            registry.register(
                "demo_synthetic",
                "Constant series for scrape benchmarks (--metrics-series)",
                synthetic_family.clone(),
            );
        }
        Self {
            registry,
            requests,
            duration,
            cache_lookups,
            cache_hits,
            cache_entries,
            in_flight,
            synthetic: synthetic_family,
        }
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_histograms() {
        let m = Metrics::new(3);
        m.cache_lookups.inc();
        m.requests
            .get_or_create(&RouteLabels {
                route: "/search".into(),
                status: "2xx".into(),
            })
            .inc();
        m.duration
            .get_or_create(&Route {
                route: "/search".into(),
            })
            .observe(0.003);
        let text = m.render();
        for needle in [
            "# TYPE cache_lookups counter",
            "cache_lookups_total 1",
            "http_requests_total{route=\"/search\",status=\"2xx\"} 1",
            "http_request_duration_seconds_bucket{le=\"0.005\",route=\"/search\"} 1",
            "demo_synthetic{series=\"2\"} 2.0",
            "# EOF",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
    }
}
