//! perfspec-demo: the HTTP service the bundled perfspec specs load-test.
//!
//! Three endpoints with realistic cost profiles: `POST /embed` (feature-hashing
//! embeddings, CPU-light), `POST /search` (exact cosine top-k over a synthetic corpus,
//! CPU-heavy) and `POST /v1/chat/completions` (OpenAI-compatible, retrieval plus
//! precisely scheduled token streaming, latency-bound). `--slowdown` makes chosen
//! endpoints genuinely slower, to exercise regression gates. `GET /metrics` exports the
//! service's own Prometheus metrics (requests, latency, the query-embedding cache).
//! `GET /work` is a pool of `--pool-workers` workers of `--pool-ms` each: a known capacity
//! and, with `--pool-queue`, a known recovery, for stress and capacity tests. `POST /login`
//! and `/items` are a session-scoped resource for flows (login, create, get, delete).
//! With `--prefill-us`, chat prompts are prefilled through a simulated prompt cache, so the
//! turns of a multi-turn conversation differ in time to first token (`prompt`).

pub mod cache;
pub mod chat;
pub mod cli;
pub mod corpus;
pub mod embed;
pub mod handlers;
pub mod items;
pub mod metrics;
pub mod pool;
pub mod prompt;
pub mod respond;
pub mod server;
pub mod slowdown;
pub mod sse;
pub mod state;
pub mod vocab;

pub use cli::Options;
pub use server::serve;
