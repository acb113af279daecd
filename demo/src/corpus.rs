//! Synthetic document corpus and exact (brute-force) cosine top-k search.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use crate::embed::Embedder;
use crate::vocab::WORDS;

/// Fixed seed: every run, on every machine, builds the same corpus.
const SEED: u64 = 0x5EED_F0DE_C0DE_0042;
const MIN_WORDS: u64 = 8;
const MAX_WORDS: u64 = 40;
const TITLE_WORDS: usize = 6;

/// SplitMix64: tiny, fast, good enough for synthetic data (and no `rand` dependency).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (multiply-shift; the bias is negligible for small `n`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// One synthetic document.
#[derive(Debug, Clone)]
pub struct Doc {
    /// The first few words of the text.
    pub title: String,
    /// Space-separated words.
    pub text: String,
}

/// One search result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Document index in the corpus.
    pub id: u32,
    /// Cosine similarity with the query.
    pub score: f32,
}

/// Ordered by score, then *lower* id first, so results are deterministic under ties.
impl Eq for Hit {}
impl Ord for Hit {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then(other.id.cmp(&self.id))
    }
}
impl PartialOrd for Hit {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Documents plus their embeddings, stored contiguously (N×D) so a search is one linear,
/// cache-friendly pass.
#[derive(Debug)]
pub struct Corpus {
    docs: Vec<Doc>,
    dim: usize,
    vectors: Vec<f32>,
}

impl Corpus {
    /// Generates `n` documents deterministically and embeds them.
    pub fn build(n: usize, embedder: &Embedder) -> Self {
        let dim = embedder.dim();
        let mut rng = SplitMix64::new(SEED);
        let docs: Vec<Doc> = (0..n).map(|_| random_doc(&mut rng)).collect();
        let mut vectors = vec![0.0f32; n * dim];
        for (doc, out) in docs.iter().zip(vectors.chunks_exact_mut(dim)) {
            embedder.embed_into(&doc.text, out);
        }
        Self { docs, dim, vectors }
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether the corpus has no documents.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Document by id, if it exists.
    pub fn doc(&self, id: u32) -> Option<&Doc> {
        self.docs.get(id as usize)
    }

    /// The `k` best documents for a normalised `query`, best first. Scores every
    /// document (exact search) and keeps the best `k` in a bounded min-heap.
    pub fn search(&self, query: &[f32], k: usize) -> Vec<Hit> {
        assert_eq!(query.len(), self.dim, "query has the wrong dimension");
        if k == 0 {
            return Vec::new();
        }
        // Reverse turns the max-heap into a min-heap: the top is the worst kept hit.
        let mut heap: BinaryHeap<Reverse<Hit>> = BinaryHeap::with_capacity(k + 1);
        for (id, v) in self.vectors.chunks_exact(self.dim).enumerate() {
            let hit = Hit {
                id: id as u32,
                score: dot(query, v),
            };
            if heap.len() < k {
                heap.push(Reverse(hit));
            } else if let Some(mut worst) = heap.peek_mut()
                && hit > worst.0
            {
                *worst = Reverse(hit);
            }
        }
        // Ascending order of Reverse(hit) is descending order of hits.
        heap.into_sorted_vec()
            .into_iter()
            .map(|Reverse(h)| h)
            .collect()
    }
}

/// Dot product with eight independent accumulators: float addition is not associative,
/// so the compiler will not vectorise a single running sum on its own.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

fn random_doc(rng: &mut SplitMix64) -> Doc {
    let n = (MIN_WORDS + rng.below(MAX_WORDS - MIN_WORDS + 1)) as usize;
    let words: Vec<&str> = (0..n)
        .map(|_| WORDS[rng.below(WORDS.len() as u64) as usize])
        .collect();
    Doc {
        title: words[..TITLE_WORDS.min(n)].join(" "),
        text: words.join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute_force(c: &Corpus, q: &[f32], k: usize) -> Vec<Hit> {
        let mut all: Vec<Hit> = c
            .vectors
            .chunks_exact(c.dim)
            .enumerate()
            .map(|(id, v)| Hit {
                id: id as u32,
                score: dot(q, v),
            })
            .collect();
        all.sort_by(|a, b| b.cmp(a));
        all.truncate(k);
        all
    }

    #[test]
    fn top_k_matches_full_sort() {
        let e = Embedder::new(61); // odd dim exercises the dot-product tail
        let c = Corpus::build(300, &e);
        for query in ["vector index search", "database transaction log", "", "zzz"] {
            let q = e.embed(query);
            for k in [1, 3, 5, 17, 100, 300, 1000] {
                let got = c.search(&q, k);
                assert_eq!(got, brute_force(&c, &q, k), "query {query:?} k {k}");
                assert_eq!(got.len(), k.min(c.len()));
                assert!(got.windows(2).all(|w| w[0].score >= w[1].score));
            }
        }
    }

    #[test]
    fn corpus_is_deterministic_and_well_formed() {
        let e = Embedder::new(32);
        let (a, b) = (Corpus::build(50, &e), Corpus::build(50, &e));
        assert_eq!(a.vectors, b.vectors);
        for id in 0..50 {
            let doc = a.doc(id).unwrap();
            assert_eq!(doc.text, b.doc(id).unwrap().text);
            let words = doc.text.split(' ').count() as u64;
            assert!((MIN_WORDS..=MAX_WORDS).contains(&words));
            assert_eq!(doc.title.split(' ').count(), TITLE_WORDS);
            assert!(doc.text.starts_with(&doc.title));
        }
    }

    #[test]
    fn a_document_finds_itself() {
        let e = Embedder::new(384);
        let c = Corpus::build(1000, &e);
        let text = &c.doc(123).unwrap().text;
        let hits = c.search(&e.embed(text), 1);
        assert!((hits[0].score - 1.0).abs() < 1e-4);
    }

    #[test]
    fn dot_matches_naive() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-3);
    }
}
