//! The baseline reader: any bytes as a baseline file must give a baseline or a clear error,
//! never a panic, and a baseline that parses must answer every comparison question.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use perfspec::assertion::{Metric, Stat, Token};
use perfspec::baseline::{Baseline, side_of_baseline};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Baseline::parse(text, Path::new("baselines/fuzz/s.json"), "fuzz", "s") {
        Err(e) => {
            let message = e.to_string();
            assert!(message.contains("baselines/fuzz/s.json"), "errors name the file: {message}");
        }
        Ok(b) => {
            let metrics = [
                Metric::Latency(Stat::Percentile(99.0)),
                Metric::Latency(Stat::Percentile(97.5)),
                Metric::Latency(Stat::Mean),
                Metric::Service(Stat::Percentile(95.0)),
                Metric::Stream(Token::Ttft, Stat::Percentile(50.0)),
                Metric::Stage("search".into(), Stat::Max),
                Metric::Throughput,
                Metric::OutputTokensPerSecond,
            ];
            for scope in [None, Some("search")] {
                for turn in [None, Some(1), Some(2)] {
                    for m in &metrics {
                        let _ = side_of_baseline(&b, scope, m, turn);
                    }
                }
            }
        }
    }
});
