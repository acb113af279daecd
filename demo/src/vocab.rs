//! Fixed vocabulary (machine learning, search, databases) for the synthetic corpus.

/// Words the synthetic documents are drawn from (no duplicates).
#[rustfmt::skip]
pub const WORDS: &[&str] = &[
    // Machine learning
    "model", "training", "inference", "gradient", "descent", "loss", "optimizer", "adam",
    "learning", "rate", "batch", "epoch", "dropout", "regularization", "overfitting",
    "underfitting", "validation", "accuracy", "precision", "recall", "transformer", "attention",
    "encoder", "decoder", "embedding", "token", "tokenizer", "vocabulary", "layer", "neuron",
    "activation", "softmax", "logits", "weights", "bias", "tensor", "matrix", "vector",
    "convolution", "pooling", "recurrent", "sequence", "language", "pretraining", "finetuning",
    "distillation", "quantization", "pruning", "checkpoint", "dataset", "label", "feature",
    "classifier", "regression", "clustering", "kmeans", "supervised", "unsupervised",
    "reinforcement", "reward", "policy", "agent", "generative", "diffusion", "sampling",
    "temperature", "beam", "greedy", "perplexity", "benchmark", "evaluation", "hyperparameter",
    "scheduler", "warmup", "normalization", "residual", "parameter", "gpu", "accelerator",
    "throughput", "latency", "kernel", "mixed", "float", "context", "window", "prompt",
    "completion", "chat", "retrieval", "augmented", "hallucination", "alignment", "contrastive",
    "triplet", "negative", "positive", "margin", "cosine", "similarity", "distance",
    "euclidean",
    // Search and information retrieval
    "search", "query", "document", "corpus", "index", "inverted", "posting", "list", "ranking",
    "relevance", "score", "bm25", "tfidf", "term", "frequency", "inverse", "stemming",
    "lemmatization", "stopword", "phrase", "proximity", "fuzzy", "typo", "autocomplete",
    "suggestion", "facet", "filter", "boost", "rerank", "reranker", "hybrid", "dense", "sparse",
    "lexical", "semantic", "neighbor", "nearest", "approximate", "exact", "hnsw", "graph",
    "ivf", "product", "quantizer", "centroid", "partition", "shard", "replica", "segment",
    "merge", "refresh", "snippet", "highlight", "crawler", "crawl", "ingest", "pipeline",
    "analyzer", "ngram", "trigram", "hashing", "signature", "minhash", "deduplication", "topk",
    "heap", "ndcg", "mrr", "click", "session", "user", "intent", "personalization",
    // Databases and storage
    "database", "table", "row", "column", "schema", "primary", "key", "foreign", "btree", "lsm",
    "tree", "compaction", "memtable", "sstable", "wal", "log", "transaction", "isolation",
    "serializable", "snapshot", "mvcc", "lock", "latch", "deadlock", "commit", "rollback",
    "durability", "consistency", "atomicity", "replication", "leader", "follower", "raft",
    "paxos", "consensus", "quorum", "partitioning", "sharding", "join", "hash", "nested",
    "loop", "planner", "cost", "cardinality", "statistics", "histogram", "predicate",
    "pushdown", "scan", "sequential", "random", "page", "buffer", "pool", "cache", "eviction",
    "lru", "storage", "disk", "ssd", "memory", "columnar", "parquet", "compression", "encoding",
    "dictionary", "bitmap", "bloom", "vectorized", "execution", "operator", "aggregate",
    "group", "order", "sort", "limit", "materialized", "view", "trigger", "constraint",
    "unique", "null", "timestamp", "backup", "restore", "migration", "connection", "prepared",
    "statement",
    // Systems glue
    "service", "server", "client", "request", "response", "api", "endpoint", "http", "stream",
    "streaming", "queue", "worker", "thread", "async", "runtime", "tail", "percentile", "p99",
    "load", "test", "baseline", "budget", "slo", "scale", "cluster", "node", "network",
    "bandwidth", "cpu", "profile", "trace",
];

#[cfg(test)]
mod tests {
    use super::WORDS;

    #[test]
    fn words_are_unique_lowercase_alphanumerics() {
        let mut sorted = WORDS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), WORDS.len());
        assert!(WORDS.iter().all(|w| {
            w.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        }));
    }
}
