//! The Prometheus / OpenMetrics text a target's `/metrics` answers: any bytes must parse or be
//! refused with a message, never panic, and what parses must be self-consistent.

#![no_main]

use libfuzzer_sys::fuzz_target;
use perfspec::scrape::{kind_of, parse};

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    match parse(&text) {
        Ok(exposition) => {
            for sample in &exposition.samples {
                assert!(!sample.name.is_empty(), "a sample without a name from {text:?}");
                assert!(
                    sample.labels.windows(2).all(|w| w[0].0 <= w[1].0),
                    "labels not sorted by name: {:?}",
                    sample.labels
                );
                let _ = kind_of(&exposition.types, &sample.name);
            }
        }
        Err(message) => assert!(!message.is_empty(), "an empty error for {text:?}"),
    }
});
