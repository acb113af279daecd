//! Secret values met while load runs: the captures of credentials (a login's token). They
//! join the spec's own secrets when reports and the target's log are redacted
//! ([`crate::report::redact`]).

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// The most distinct captured secrets kept: beyond it (a token per request for hours) the
/// target's log cannot be redacted value by value and is withheld instead.
pub(crate) const MAX_CAPTURED: usize = 100_000;

/// Captured secret values of one trial (all its runs), distinct, at most [`MAX_CAPTURED`].
#[derive(Debug, Default)]
pub(crate) struct CapturedSecrets {
    values: Mutex<HashSet<String>>,
    overflow: AtomicBool,
}

impl CapturedSecrets {
    /// Keeps `value` (values under 4 characters are not redacted: they would mangle text).
    pub fn add(&self, value: &str) {
        if value.len() < 4 {
            return;
        }
        let mut values = self.values.lock().unwrap_or_else(|p| p.into_inner());
        if values.contains(value) {
            return;
        }
        if values.len() >= MAX_CAPTURED {
            self.overflow.store(true, Ordering::Relaxed);
            return;
        }
        values.insert(value.to_string());
    }

    /// The values kept so far.
    pub fn values(&self) -> Vec<String> {
        let values = self.values.lock().unwrap_or_else(|p| p.into_inner());
        values.iter().cloned().collect()
    }

    /// Whether more secrets were captured than are kept: some of them could not be redacted.
    pub fn overflowed(&self) -> bool {
        self.overflow.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_distinct_values_of_four_characters_or_more() {
        let s = CapturedSecrets::default();
        s.add("abc");
        s.add("token-1");
        s.add("token-1");
        s.add("token-2");
        let mut v = s.values();
        v.sort();
        assert_eq!(v, ["token-1", "token-2"]);
        assert!(!s.overflowed());
    }

    #[test]
    fn overflows_past_the_cap() {
        let s = CapturedSecrets::default();
        for i in 0..=MAX_CAPTURED {
            s.add(&format!("secret-{i}"));
        }
        assert_eq!(s.values().len(), MAX_CAPTURED);
        assert!(s.overflowed());
    }
}
