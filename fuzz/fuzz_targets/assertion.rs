//! The assertion grammar: any string as `assert = ["…"]`. Parsing returns an assertion or an
//! error whose range lies inside the text (plus one past the end for a missing value).

#![no_main]

use libfuzzer_sys::fuzz_target;
use perfspec::assertion::Assertion;

const REQUESTS: &[&str] = &["search", "embed"];

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    match Assertion::parse(&text, REQUESTS) {
        Ok(a) => {
            // What reports print about it.
            let _ = a.metric.name();
            let _ = a.metric.unit().format(a.limit);
            let _ = a.op.symbol();
            assert!(!a.limit.is_nan(), "a NaN limit from {text:?}");
            if let Some(scope) = &a.scope {
                assert!(REQUESTS.contains(&scope.as_str()));
            }
        }
        Err(e) => {
            assert!(
                e.range.start <= e.range.end && e.range.end <= text.len() + 1,
                "error range {:?} outside {text:?} ({} bytes)",
                e.range,
                text.len()
            );
            assert!(!e.message.is_empty());
        }
    }
});
