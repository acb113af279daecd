//! Console tables of what some responses tell beyond latency: token timing of streams,
//! `Server-Timing` stages, goodput.

use super::table::render;
use crate::assertion::Stat;
use crate::measure::{Measurement, stat_of};
use crate::units::{fmt_count, fmt_percent, fmt_rate, fmt_us};

/// The stream table (one row per streamed request) and the stage table, or nothing.
pub fn tables(m: &Measurement) -> String {
    let mut out = String::new();
    let secs = m.window.as_secs_f64().max(1e-9);
    let streamed: Vec<_> = m
        .requests
        .iter()
        .filter_map(|r| r.stream.as_ref().map(|s| (r, s)))
        .collect();
    if !streamed.is_empty() {
        let mut rows = vec![
            [
                "stream",
                "ttft p50",
                "ttft p95",
                "itl p50",
                "itl p99",
                "tpot mean",
                "tokens",
                "tokens/s",
                "counted by",
                "goodput",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for (r, s) in streamed {
            let st = |h, stat| stat_of(h, stat).map_or("-".into(), fmt_us);
            let goodput = r.good.map_or("-".into(), |g| {
                if r.requests() == 0 {
                    "-".into()
                } else {
                    fmt_percent(g as f64 / r.requests() as f64)
                }
            });
            rows.push(vec![
                r.name.clone(),
                st(&s.ttft, Stat::Percentile(50.0)),
                st(&s.ttft, Stat::Percentile(95.0)),
                st(&s.itl, Stat::Percentile(50.0)),
                st(&s.itl, Stat::Percentile(99.0)),
                st(&s.tpot, Stat::Mean),
                fmt_count(s.output_tokens as f64),
                fmt_rate(s.output_tokens as f64 / secs),
                s.counting().to_string(),
                goodput,
            ]);
        }
        out.push('\n');
        out.push_str(&render(&rows, "  "));
    }
    let staged: Vec<_> = m
        .requests
        .iter()
        .flat_map(|r| r.stages.iter().map(move |(n, h)| (r, n, h)))
        .collect();
    if !staged.is_empty() {
        let mut rows = vec![
            ["stage (Server-Timing)", "count", "p50", "p95", "p99", "max"]
                .map(String::from)
                .to_vec(),
        ];
        for (r, name, h) in staged {
            let st = |stat| stat_of(h, stat).map_or("-".into(), fmt_us);
            rows.push(vec![
                format!("{}.{name}", r.name),
                fmt_count(h.len() as f64),
                st(Stat::Percentile(50.0)),
                st(Stat::Percentile(95.0)),
                st(Stat::Percentile(99.0)),
                st(Stat::Max),
            ]);
        }
        out.push('\n');
        out.push_str(&render(&rows, "  "));
    }
    let goodput: Vec<_> = m
        .requests
        .iter()
        .filter(|r| r.stream.is_none())
        .filter_map(|r| r.good.map(|g| (r, g)))
        .collect();
    if !goodput.is_empty() {
        let parts: Vec<String> = goodput
            .iter()
            .map(|(r, g)| {
                format!(
                    "{} {}",
                    r.name,
                    if r.requests() == 0 {
                        "-".into()
                    } else {
                        fmt_percent(*g as f64 / r.requests() as f64)
                    }
                )
            })
            .collect();
        out.push_str(&format!("\n  goodput: {}\n", parts.join(", ")));
    }
    out
}
