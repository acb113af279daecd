//! A baseline checked for meaning, not only for shape: a file whose numbers cannot come from a
//! run (zero requests, negative or absurd values, statistics out of order, counts that do not
//! match the histograms) would make the gate skip or misjudge silently. Each finding names the
//! file, the field and its line.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Baseline, BaselineError, decode};

/// The longest latency a run records, µs (the recorder caps at one hour).
const MAX_MICROS: f64 = 3_600_000_000.0;

/// The longest measured window a baseline may claim, seconds (30 days).
const MAX_WINDOW_S: f64 = 30.0 * 86_400.0;

/// The order statistics must keep within one run.
const ORDER: [&str; 8] = ["min", "p50", "p75", "p90", "p95", "p99", "p99.9", "max"];

/// Checks `b` (parsed from `text` at `path`) for meaning.
pub(super) fn check(b: &Baseline, text: &str, path: &Path) -> Result<(), BaselineError> {
    let fail = |field: &[&str], message: String| {
        let (line, column) = locate(text, field);
        Err(BaselineError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            field: field.join("."),
            message,
        })
    };
    if b.runs == 0 {
        return fail(&["runs"], "a baseline holds at least one run, not 0".into());
    }
    if b.window_s.len() != b.runs {
        return fail(
            &["window_s"],
            format!("{} values for {} runs", b.window_s.len(), b.runs),
        );
    }
    if let Some((i, w)) = b
        .window_s
        .iter()
        .enumerate()
        .find(|(_, w)| !(w.is_finite() && **w > 0.0 && **w <= MAX_WINDOW_S))
    {
        return fail(
            &["window_s"],
            format!("run {} measured for {w} s: not a run", i + 1),
        );
    }
    if !b.scopes.contains_key("all") {
        return fail(&["scopes"], "no `all` scope: every run has one".into());
    }
    for (name, s) in &b.scopes {
        let name = name.as_str();
        let counts = [
            ("requests", s.requests.len()),
            ("errors", s.errors.len()),
            ("throughput_per_s", s.throughput_per_s.len()),
        ];
        for (key, n) in counts {
            if n != b.runs {
                return fail(
                    &["scopes", name, key],
                    format!("{n} values for {} runs", b.runs),
                );
            }
        }
        for i in 0..b.runs {
            let run = i + 1;
            let (requests, errors, rate) = (s.requests[i], s.errors[i], s.throughput_per_s[i]);
            if name == "all" && requests == 0 {
                return fail(
                    &["scopes", name, "requests"],
                    format!("run {run} completed no request: not a run"),
                );
            }
            if errors > requests {
                return fail(
                    &["scopes", name, "errors"],
                    format!("run {run} has {errors} errors of {requests} requests"),
                );
            }
            let expected = (requests - errors) as f64 / b.window_s[i];
            // Rounded to 3 decimals when written; allow that and a request of slack.
            let slack = 1.0 / b.window_s[i] + 0.01;
            if !rate.is_finite() || (rate - expected).abs() > slack.max(expected * 1e-3) {
                return fail(
                    &["scopes", name, "throughput_per_s"],
                    format!(
                        "run {run}: {rate}/s, but {} successful requests over {} s is {expected:.3}/s",
                        requests - errors,
                        b.window_s[i]
                    ),
                );
            }
        }
        let mut tables = vec![("latency_us", &s.latency_us)];
        if let Some(service) = &s.service_us {
            tables.push(("service_us", service));
        }
        for (key, table) in tables {
            if let Some((stat, message)) = statistics(table, b.runs, MAX_MICROS) {
                return fail(&["scopes", name, key, &stat], message);
            }
        }
        for (family, table) in &s.extra {
            // Times are µs; counts and rates (instructions, tokens per second) only need to
            // be finite and not absurd.
            let max = match family.as_str() {
                "sut.instructions-per-request" | "output-tokens-per-second" => 1e15,
                _ => MAX_MICROS,
            };
            if let Some((stat, message)) = statistics(table, b.runs, max) {
                return fail(&["scopes", name, "extra", family, &stat], message);
            }
        }
    }
    for (name, encoded) in &b.histograms {
        let h = match decode(encoded) {
            Ok(h) => h,
            Err(e) => return fail(&["histograms", name], e),
        };
        if let Some(s) = b.scopes.get(name) {
            let ok: u64 = s
                .requests
                .iter()
                .zip(&s.errors)
                .map(|(r, e)| r.saturating_sub(*e))
                .sum();
            if h.len() != ok {
                return fail(
                    &["histograms", name],
                    format!(
                        "the histogram holds {} samples, but the runs of `{name}` count {ok} successful requests",
                        h.len()
                    ),
                );
            }
        }
    }
    Ok(())
}

/// The first statistic of `table` that cannot come from a run: wrong count, negative, not a
/// number, absurdly large, or out of order with the others of its run.
fn statistics(
    table: &BTreeMap<String, Vec<f64>>,
    runs: usize,
    max: f64,
) -> Option<(String, String)> {
    for (stat, values) in table {
        if values.len() != runs {
            return Some((
                stat.clone(),
                format!("{} values for {runs} runs", values.len()),
            ));
        }
        if let Some((i, v)) = values
            .iter()
            .enumerate()
            .find(|(_, v)| !(v.is_finite() && **v >= 0.0 && **v <= max))
        {
            return Some((
                stat.clone(),
                format!(
                    "run {}: {v} is not a value a run records (0 to {max})",
                    i + 1
                ),
            ));
        }
    }
    for i in 0..runs {
        let ordered: Vec<(&str, f64)> = ORDER
            .iter()
            .filter_map(|s| Some((*s, *table.get(*s)?.get(i)?)))
            .collect();
        if let Some(w) = ordered.windows(2).find(|w| w[1].1 < w[0].1) {
            return Some((
                w[1].0.to_string(),
                format!(
                    "run {}: {} {} is below {} {}",
                    i + 1,
                    w[1].0,
                    w[1].1,
                    w[0].0,
                    w[0].1
                ),
            ));
        }
    }
    None
}

/// The 1-based line and column of `"KEY":` for the last key of `path` in pretty JSON text,
/// found by looking for each key after the previous one; (1, 1) when not found.
fn locate(text: &str, path: &[&str]) -> (usize, usize) {
    let mut at = 0;
    for key in path {
        match text[at..].find(&format!("\"{key}\":")) {
            Some(i) => at += i,
            None => break,
        }
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}
