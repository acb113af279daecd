//! State shared by all connections.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::cache::EmbedCache;
use crate::cli::Options;
use crate::corpus::Corpus;
use crate::embed::Embedder;
use crate::metrics::Metrics;
use crate::pool::Pool;
use crate::slowdown::Slowdown;

/// Configuration and data shared by every request.
#[derive(Debug)]
pub struct AppState {
    /// Set once the background build finishes; until then the service is "starting".
    pub corpus: OnceLock<Corpus>,
    /// Number of documents the corpus will have.
    pub corpus_size: usize,
    /// Text embedder (also used to build the corpus).
    pub embedder: Embedder,
    /// Artificial slowdown.
    pub slowdown: Slowdown,
    /// Chat: time from request arrival to first token.
    pub ttft: Duration,
    /// Chat: time between tokens.
    pub token_delay: Duration,
    /// Chat: the prompt cache and the prefill time of uncached words.
    pub prompts: crate::prompt::PromptCache,
    /// Largest accepted request body.
    pub max_body: usize,
    /// `GET /work`: a pool of known capacity.
    pub pool: Pool,
    /// Query embeddings of `/search`.
    pub cache: EmbedCache,
    /// The service's own metrics (`GET /metrics`).
    pub metrics: Metrics,
    /// Login tokens and their items (`/login`, `/items`).
    pub items: crate::items::Items,
    next_id: AtomicU64,
}

impl AppState {
    /// State for `opts`, with the corpus not built yet.
    pub fn new(opts: &Options) -> Self {
        Self {
            corpus: OnceLock::new(),
            corpus_size: opts.corpus as usize,
            embedder: Embedder::new(opts.dim as usize),
            slowdown: Slowdown::new(opts.slowdown, opts.slowdown_endpoints)
                .with_added_latency(Duration::from_micros(opts.added_latency_us)),
            ttft: opts.ttft(),
            token_delay: opts.token_delay(),
            prompts: crate::prompt::PromptCache::new(Duration::from_micros(opts.prefill_us)),
            max_body: opts.max_body,
            pool: Pool::new(opts.pool_workers, opts.pool_work(), opts.pool_queue),
            cache: EmbedCache::new(opts.cache),
            metrics: Metrics::new(opts.metrics_series),
            items: crate::items::Items::default(),
            next_id: AtomicU64::new(1),
        }
    }

    /// Builds the corpus (blocking, CPU-bound) and marks the service ready.
    pub fn build_corpus(&self) {
        let corpus = Corpus::build(self.corpus_size, &self.embedder);
        let _ = self.corpus.set(corpus);
    }

    /// A fresh id for chat completions (`chatcmpl-N`).
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }
}
