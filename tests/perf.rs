//! The perf tests: every scenario of every spec in `perf-specs/` is a test. The demo's vector
//! search is also registered as an in-process component (`perf-specs/search-component.toml`).

use std::sync::OnceLock;

use perfspec_demo::corpus::Corpus;
use perfspec_demo::embed::Embedder;
use serde_json::{Value, json};

/// The demo's corpus, built once (10,000 documents, 384 dimensions) on first use.
fn corpus() -> &'static (Embedder, Corpus) {
    static CORPUS: OnceLock<(Embedder, Corpus)> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let embedder = Embedder::new(384);
        let corpus = Corpus::build(10_000, &embedder);
        (embedder, corpus)
    })
}

fn main() {
    perfspec::Harness::new()
        .component("search", |input: Value| async move {
            let query = input["query"]
                .as_str()
                .ok_or("`query` is missing")?
                .to_string();
            let k = input["top-k"].as_u64().unwrap_or(5) as usize;
            // CPU-bound: run it off the async workers, as a service would.
            let hits = tokio::task::spawn_blocking(move || {
                let (embedder, corpus) = corpus();
                corpus.search(&embedder.embed(&query), k)
            })
            .await
            .map_err(|e| e.to_string())?;
            let ids: Vec<u32> = hits.iter().map(|h| h.id).collect();
            Ok::<_, String>(json!({ "ids": ids }))
        })
        .run()
}
