//! A simulated prompt cache for multi-turn chats (`--prefill-us`): an earlier prompt followed
//! by the reply the service generated for it is cached, so the next turn of that conversation
//! costs nothing to prefill up to there; every other prompt word costs `--prefill-us` before
//! the first token. A first turn (a system prompt and a question) is prefilled whole; later
//! turns that send back the assistant's replies exactly prefill only their new words, as with
//! a real server's prefix caching; a conversation whose replies were altered misses the cache
//! and pays for its whole, growing prompt.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::time::Duration;

/// Prefixes remembered before the cache starts over (a bound on memory).
const CAPACITY: usize = 100_000;

/// The prefixes seen, by hash.
#[derive(Debug)]
pub struct PromptCache {
    per_word: Duration,
    seen: Mutex<HashSet<u64>>,
}

/// What prefilling one prompt cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefill {
    /// Prompt words found in the cache.
    pub cached_words: usize,
    /// Prompt words prefilled.
    pub new_words: usize,
    /// The time the new words take.
    pub time: Duration,
}

/// The hash of a prefix extended by one message.
fn extend(prefix: u64, role: &str, text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    (prefix, role, text).hash(&mut h);
    h.finish()
}

impl PromptCache {
    /// A cache where each uncached prompt word costs `per_word`; zero turns it off.
    pub fn new(per_word: Duration) -> PromptCache {
        PromptCache {
            per_word,
            seen: Mutex::new(HashSet::new()),
        }
    }

    /// Whether prompts are prefilled at all.
    pub fn enabled(&self) -> bool {
        !self.per_word.is_zero()
    }

    /// The prefill of `messages` (role, text), which the service answers with `reply`: the
    /// words past the longest cached prefix. Remembers the prompt followed by the reply (the
    /// next turn's prefix).
    pub fn prefill(&self, messages: &[(&str, String)], reply: &str) -> Prefill {
        let mut hashes = Vec::with_capacity(messages.len());
        let mut h = 0;
        for (role, text) in messages {
            h = extend(h, role, text);
            hashes.push(h);
        }
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let hit = hashes
            .iter()
            .rposition(|h| seen.contains(h))
            .map_or(0, |i| i + 1);
        if seen.len() >= CAPACITY {
            seen.clear();
        }
        seen.insert(extend(h, "assistant", reply));
        drop(seen);
        let words = |m: &[(&str, String)]| -> usize {
            m.iter().map(|(_, t)| t.split_whitespace().count()).sum()
        };
        let new_words = words(&messages[hit..]);
        Prefill {
            cached_words: words(&messages[..hit]),
            new_words,
            time: self.per_word * u32::try_from(new_words).unwrap_or(u32::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(m: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        m.iter().map(|(r, t)| (*r, t.to_string())).collect()
    }

    #[test]
    fn a_conversation_prefills_only_its_new_words() {
        let c = PromptCache::new(Duration::from_micros(100));
        let first = c.prefill(&turn(&[("user", "one two three")]), "a b ");
        assert_eq!((first.cached_words, first.new_words), (0, 3));
        assert_eq!(first.time, Duration::from_micros(300));
        // The reply sent back exactly: only the new user turn is prefilled.
        let second = c.prefill(
            &turn(&[
                ("user", "one two three"),
                ("assistant", "a b "),
                ("user", "four five"),
            ]),
            "c ",
        );
        assert_eq!((second.cached_words, second.new_words), (5, 2));
        // A reply that differs from what was generated: the whole prompt is prefilled.
        let other = c.prefill(
            &turn(&[
                ("user", "one two three"),
                ("assistant", "x y"),
                ("user", "four five"),
            ]),
            "c ",
        );
        assert_eq!((other.cached_words, other.new_words), (0, 7));
        // The same first turn again: a prompt alone is never cached.
        let again = c.prefill(&turn(&[("user", "one two three")]), "a b ");
        assert_eq!(again.new_words, 3);
        assert!(!PromptCache::new(Duration::ZERO).enabled());
    }
}
