//! Command-line options.

use std::time::Duration;

use clap::Parser;

use crate::slowdown::{Endpoint, EndpointSet};

/// Options of the demo service.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "perfspec-demo",
    version,
    about = "Demo HTTP service (embeddings, vector search, chat completions) for perfspec load tests"
)]
pub struct Options {
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,

    /// Port to bind; 0 picks a free port (the chosen one is printed on stderr).
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// Tokio worker threads.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: u16,

    /// Number of synthetic documents in the search corpus.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub corpus: u32,

    /// Embedding dimension.
    #[arg(long, default_value_t = 384, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub dim: u32,

    /// Make the chosen endpoints this many times slower (CPU busy work, not sleep).
    /// Also read from PERFSPEC_DEMO_SLOWDOWN, so a study can slow a target that a spec starts.
    #[arg(long, env = "PERFSPEC_DEMO_SLOWDOWN", default_value_t = 1.0, value_parser = parse_slowdown)]
    pub slowdown: f64,

    /// Add this many microseconds of latency that costs no CPU to the chosen endpoints (a
    /// blocking wait in the handler, like a synchronous call to another service). Also read
    /// from PERFSPEC_DEMO_ADDED_LATENCY_US.
    #[arg(long, env = "PERFSPEC_DEMO_ADDED_LATENCY_US", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=10_000_000))]
    pub added_latency_us: u64,

    /// Comma-separated endpoints affected by --slowdown and --added-latency-us: embed,search,chat.
    #[arg(long, default_value = "embed,search,chat", value_parser = parse_endpoints)]
    pub slowdown_endpoints: EndpointSet,

    /// Chat: milliseconds from request arrival to the first token.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u64).range(0..=600_000))]
    pub ttft: u64,

    /// Chat: milliseconds between consecutive tokens.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(0..=600_000))]
    pub token_delay: u64,

    /// Chat: microseconds of prefill per prompt word not in the prompt cache (0: no prefill,
    /// no cache). A conversation's earlier prompts and replies are cached, so later turns
    /// prefill only their new words; `Server-Timing` reports `prefill` and `ttft`.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub prefill_us: u64,

    /// Largest accepted request body in bytes; larger ones get 413.
    #[arg(long, default_value_t = 1024 * 1024)]
    pub max_body: usize,

    /// `GET /work`: workers in the pool (capacity: workers / pool-ms per millisecond).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub pool_workers: u32,

    /// `GET /work`: milliseconds each request takes a worker.
    #[arg(long, default_value_t = 10.0, value_parser = parse_pool_ms)]
    pub pool_ms: f64,

    /// `GET /work`: most requests that may wait for a worker; more are refused with 503.
    /// Without it the queue has no limit.
    #[arg(long)]
    pub pool_queue: Option<u32>,
    /// Query embeddings `/search` keeps (0: no cache).
    #[arg(long, default_value_t = 1024)]
    pub cache: usize,

    /// Extra constant series on `/metrics` (`demo_synthetic`), for scrape benchmarks.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub metrics_series: u32,
}

impl Options {
    /// Options from command-line words (without the program's name), as the binary reads
    /// them: for tests that run the service in process.
    pub fn from_words<'a>(words: impl IntoIterator<Item = &'a str>) -> Result<Options, String> {
        Options::try_parse_from(std::iter::once("perfspec-demo").chain(words))
            .map_err(|e| e.to_string())
    }

    /// Time to first token as a `Duration`.
    pub fn ttft(&self) -> Duration {
        Duration::from_millis(self.ttft)
    }

    /// The pool's time per request as a `Duration`.
    pub fn pool_work(&self) -> Duration {
        Duration::from_secs_f64(self.pool_ms / 1000.0)
    }

    /// Inter-token delay as a `Duration`.
    pub fn token_delay(&self) -> Duration {
        Duration::from_millis(self.token_delay)
    }
}

/// Bounded above so that scaled durations can never overflow.
fn parse_slowdown(s: &str) -> Result<f64, String> {
    let f: f64 = s.trim().parse().map_err(|e| format!("{e}"))?;
    if (1.0..=1000.0).contains(&f) {
        Ok(f)
    } else {
        Err("must be a number between 1.0 and 1000.0".into())
    }
}

fn parse_pool_ms(s: &str) -> Result<f64, String> {
    let f: f64 = s.trim().parse().map_err(|e| format!("{e}"))?;
    if (0.001..=600_000.0).contains(&f) {
        Ok(f)
    } else {
        Err("must be a number of milliseconds between 0.001 and 600000".into())
    }
}

fn parse_endpoints(s: &str) -> Result<EndpointSet, String> {
    let mut set = EndpointSet::default();
    for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let endpoint = match name {
            "embed" => Endpoint::Embed,
            "search" => Endpoint::Search,
            "chat" => Endpoint::Chat,
            other => {
                return Err(format!(
                    "unknown endpoint `{other}` (expected embed, search, chat)"
                ));
            }
        };
        set.insert(endpoint);
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let o = Options::parse_from(["perfspec-demo"]);
        assert_eq!(o.host, "127.0.0.1");
        assert_eq!((o.port, o.threads, o.corpus, o.dim), (0, 2, 10_000, 384));
        assert_eq!((o.ttft, o.token_delay, o.max_body), (40, 8, 1 << 20));
        assert_eq!(o.slowdown, 1.0);
        assert!(o.slowdown_endpoints.contains(Endpoint::Chat));
        assert_eq!((o.pool_workers, o.pool_ms, o.pool_queue), (4, 10.0, None));
    }

    #[test]
    fn slowdown_options() {
        let o = Options::parse_from(["x", "--slowdown", "1.2", "--slowdown-endpoints", "search"]);
        assert_eq!(o.slowdown, 1.2);
        assert!(o.slowdown_endpoints.contains(Endpoint::Search));
        assert!(!o.slowdown_endpoints.contains(Endpoint::Embed));
        assert!(Options::try_parse_from(["x", "--slowdown", "0.5"]).is_err());
        assert!(Options::try_parse_from(["x", "--slowdown", "NaN"]).is_err());
        assert!(Options::try_parse_from(["x", "--slowdown-endpoints", "foo"]).is_err());
        assert!(Options::try_parse_from(["x", "--corpus", "0"]).is_err());
    }
}
