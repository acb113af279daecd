//! Deterministic feature-hashing text embedder: no model weights, but real CPU work per
//! character and vectors whose cosine similarity reflects shared words and sub-words.

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Weight of a whole token; trigrams weigh less so exact word matches dominate.
const TOKEN_WEIGHT: f32 = 1.0;
const TRIGRAM_WEIGHT: f32 = 0.5;

/// Incremental FNV-1a 64.
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(FNV_OFFSET)
    }

    fn bytes(mut self, bytes: &[u8]) -> Self {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
        self
    }

    fn char(self, c: char) -> Self {
        self.bytes(c.encode_utf8(&mut [0; 4]).as_bytes())
    }
}

/// Embeds text into `dim`-dimensional, L2-normalised vectors.
#[derive(Debug, Clone, Copy)]
pub struct Embedder {
    dim: usize,
}

impl Embedder {
    /// `dim` must be at least 1.
    pub fn new(dim: usize) -> Self {
        assert!(dim > 0, "embedding dimension must be positive");
        Self { dim }
    }

    /// The output dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Returns the embedding of `text` (all zeros for text without alphanumerics).
    pub fn embed(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0.0; self.dim];
        self.embed_into(text, &mut v);
        v
    }

    /// Writes the embedding of `text` into `out` (length `dim`), overwriting it.
    pub fn embed_into(&self, text: &str, out: &mut [f32]) {
        assert_eq!(out.len(), self.dim, "output slice has the wrong dimension");
        out.fill(0.0);
        // Reused per token: `#token#` as chars, for the boundary-marked trigrams.
        let mut marked: Vec<char> = Vec::with_capacity(32);
        let mut token = Fnv::new();
        marked.push('#');
        for c in text.chars() {
            if c.is_alphanumeric() {
                for lc in c.to_lowercase() {
                    token = token.char(lc);
                    marked.push(lc);
                }
            } else if marked.len() > 1 {
                self.add_token(token, &mut marked, out);
                token = Fnv::new();
            }
        }
        if marked.len() > 1 {
            self.add_token(token, &mut marked, out);
        }
        normalise(out);
    }

    /// Adds one token (already hashed) and its trigrams, then resets `marked` to `#`.
    fn add_token(&self, token: Fnv, marked: &mut Vec<char>, out: &mut [f32]) {
        self.add(token.0, TOKEN_WEIGHT, out);
        marked.push('#');
        for w in marked.windows(3) {
            let h = Fnv::new().char(w[0]).char(w[1]).char(w[2]);
            self.add(h.0, TRIGRAM_WEIGHT, out);
        }
        marked.truncate(1);
    }

    /// Low bits pick the index, the top bit the sign (signed hashing keeps the expected
    /// dot product of unrelated features at zero).
    fn add(&self, hash: u64, weight: f32, out: &mut [f32]) {
        let index = (hash % self.dim as u64) as usize;
        out[index] += if hash >> 63 == 0 { weight } else { -weight };
    }
}

/// Scales `v` to unit length; a zero vector stays zero (no NaN).
fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        let inv = 1.0 / norm;
        v.iter_mut().for_each(|x| *x *= inv);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(v: &[f32]) -> f32 {
        v.iter().map(|x| x * x).sum::<f32>().sqrt()
    }

    fn dot(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn deterministic_and_normalised() {
        let e = Embedder::new(384);
        let a = e.embed("Vector search with HNSW indexes");
        assert_eq!(a.len(), 384);
        assert_eq!(a, e.embed("Vector search with HNSW indexes"));
        assert!((norm(&a) - 1.0).abs() < 1e-5);
    }

    #[test]
    fn dim_respected() {
        for dim in [1, 7, 64, 1000] {
            let v = Embedder::new(dim).embed("hello world");
            assert_eq!(v.len(), dim);
            assert!((norm(&v) - 1.0).abs() < 1e-5);
        }
    }

    #[test]
    fn empty_text_is_zero_vector() {
        let e = Embedder::new(16);
        for text in ["", "   ", "!?-- ,."] {
            let v = e.embed(text);
            assert!(v.iter().all(|&x| x == 0.0), "{text:?}");
        }
    }

    #[test]
    fn case_and_punctuation_insensitive() {
        let e = Embedder::new(128);
        assert_eq!(e.embed("Hello, World!"), e.embed("hello world"));
        assert_eq!(e.embed("ÉCOLE"), e.embed("école"));
    }

    #[test]
    fn similar_texts_score_higher() {
        let e = Embedder::new(384);
        let q = e.embed("vector database index");
        let near = e.embed("a vector index in a database");
        let far = e.embed("gradient descent learning rate");
        assert!(dot(&q, &near) > dot(&q, &far));
    }
}
