//! The query-embedding cache of `/search`: repeated queries skip the embedding step. Bounded
//! (oldest entry out first) so memory stays flat whatever the traffic.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Embeddings by query, and queries in insertion order (the oldest leaves first).
type Entries = (HashMap<String, Arc<[f32]>>, VecDeque<String>);

/// A bounded map from query text to its embedding.
#[derive(Debug)]
pub struct EmbedCache {
    capacity: usize,
    inner: Mutex<Entries>,
}

impl EmbedCache {
    /// A cache of at most `capacity` embeddings (0 caches nothing).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    /// The embedding of `query`, computed by `embed` on a miss; whether it was a hit; the
    /// number of entries after the lookup.
    pub fn get_or_embed(
        &self,
        query: &str,
        embed: impl FnOnce() -> Vec<f32>,
    ) -> (Arc<[f32]>, bool, usize) {
        {
            let guard = self.lock();
            if let Some(v) = guard.0.get(query) {
                return (v.clone(), true, guard.0.len());
            }
        }
        let v: Arc<[f32]> = embed().into();
        if self.capacity == 0 {
            return (v, false, 0);
        }
        let mut guard = self.lock();
        let (map, order) = &mut *guard;
        if map.insert(query.to_string(), v.clone()).is_none() {
            order.push_back(query.to_string());
            while order.len() > self.capacity {
                if let Some(old) = order.pop_front() {
                    map.remove(&old);
                }
            }
        }
        let len = map.len();
        (v, false, len)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_repeat_queries_and_evicts_the_oldest() {
        let c = EmbedCache::new(2);
        assert!(!c.get_or_embed("a", || vec![1.0]).1);
        assert!(c.get_or_embed("a", || unreachable!()).1);
        c.get_or_embed("b", || vec![2.0]);
        let (_, hit, len) = c.get_or_embed("c", || vec![3.0]);
        assert!(!hit && len == 2);
        assert!(!c.get_or_embed("a", || vec![1.0]).1, "a was evicted");
        assert!(!EmbedCache::new(0).get_or_embed("a", || vec![1.0]).1);
    }
}
