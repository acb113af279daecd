//! The threshold grammar `"[request.]metric[.stat] [over WINDOW] [in PHASE] OP value"` and its
//! evaluation.
//!
//! ```text
//! p95 < 300ms            search.p99 <= 500ms        error-rate < 1%
//! throughput > 20/s      requests >= 100            errors == 0
//! p99 over 10s < 800ms   (holds in every 10 s window of the measured time)
//! p95 in steady < 300ms  (the requests of one phase)
//! ttft.p95 in turn 2 < 200ms  (the chat requests sent as turn 2 of their conversations)
//! flow.crud.duration.p95 < 2s  flow.success-rate > 99%  (iterations of flows)
//! ```

mod eval;
mod flow;
mod metric;
mod phase;
mod resolve;
mod resource;
mod scraped;
mod stress;
mod turn;
mod unknown;
mod value;
mod window;

use std::ops::Range;
use std::time::Duration;

pub use eval::{Check, Outcome, evaluate, samples_needed};
pub use flow::{FlowFigure, FlowMetric};
pub use metric::{ConnPhase, Metric, Stat, Token, Unit};
pub use resource::{Reduce, ResourceMetric, Source};
pub use scraped::{Figure, Matcher, MetricRef, ScrapedMetric};
pub use stress::{breach, find_recovery};

/// A parsed assertion.
#[derive(Debug, Clone, PartialEq)]
pub struct Assertion {
    /// The text as written.
    pub text: String,
    /// The request it is limited to; `None` for all requests together.
    pub scope: Option<String>,
    /// What is measured.
    pub metric: Metric,
    /// How observed and limit compare for a pass.
    pub op: Op,
    /// The limit in the metric's canonical unit (µs, fraction, per second, count, bytes).
    pub limit: f64,
    /// When set, the assertion must hold in every window of this length.
    pub window: Option<Duration>,
    /// When set, the assertion reads only the requests of this phase (`p95 in steady`).
    pub phase: Option<String>,
    /// When set, the assertion reads only the chat requests sent as this turn (from 1) of
    /// their conversations (`ttft.p95 in turn 2`).
    pub turn: Option<u32>,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
}

impl Op {
    /// Whether `observed OP limit` holds.
    pub fn holds(self, observed: f64, limit: f64) -> bool {
        match self {
            Op::Lt => observed < limit,
            Op::Le => observed <= limit,
            Op::Gt => observed > limit,
            Op::Ge => observed >= limit,
            Op::Eq => observed == limit,
        }
    }

    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
        }
    }
}

/// A problem in an assertion, located inside its text.
#[derive(Debug, Clone, PartialEq)]
pub struct AssertionError {
    /// Byte range inside the assertion text.
    pub range: Range<usize>,
    /// What is wrong.
    pub message: String,
    /// What would be valid.
    pub help: Option<String>,
}

fn error(
    range: Range<usize>,
    message: impl Into<String>,
    help: impl Into<String>,
) -> AssertionError {
    AssertionError {
        range,
        message: message.into(),
        help: Some(help.into()),
    }
}

/// Finds the comparison: the first run of `<`, `>`, `=`, `!` characters.
fn operator(text: &str) -> Result<(usize, usize, Op), AssertionError> {
    let is_op = |c: char| matches!(c, '<' | '>' | '=' | '!');
    // Label selectors (`metric.x{route="/a"}`) hold `=` and `!=` of their own.
    let Some(at) = outside_braces(text)
        .find(|&(_, c)| is_op(c))
        .map(|(i, _)| i)
    else {
        return Err(error(
            0..text.len(),
            format!("assertion {text:?} has no comparison"),
            "write METRIC OP VALUE with OP one of <, <=, >, >=, ==, e.g. \"p95 < 300ms\"",
        ));
    };
    let len = text[at..]
        .find(|c: char| !is_op(c))
        .unwrap_or(text.len() - at);
    let run = &text[at..at + len];
    if let Some(&(_, op)) = OPS.iter().find(|(s, _)| *s == run) {
        return Ok((at, len, op));
    }
    let help = match run {
        "=" => "`=` is not a comparison: write `==`".to_string(),
        "=>" => "did you mean `>=`?".to_string(),
        "=<" => "did you mean `<=`?".to_string(),
        "!=" => "`!=` is not supported: use <, <=, >, >= or ==".to_string(),
        _ => "operators are <, <=, >, >=, ==".to_string(),
    };
    Err(AssertionError {
        range: at..at + len,
        message: format!("unknown operator `{run}`"),
        help: Some(help),
    })
}

/// The characters of `text` (with their byte offsets) outside `{…}` and double quotes.
fn outside_braces(text: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let (mut depth, mut quoted, mut escaped) = (0u32, false, false);
    text.char_indices().filter(move |&(_, c)| {
        let inside = depth > 0 || quoted;
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '{' if !quoted => depth += 1,
            '}' if !quoted => depth = depth.saturating_sub(1),
            _ => {}
        }
        !inside && c != '{' && c != '"'
    })
}

const OPS: [(&str, Op); 5] = [
    ("<=", Op::Le),
    (">=", Op::Ge),
    ("==", Op::Eq),
    ("<", Op::Lt),
    (">", Op::Gt),
];

/// Parses a metric name alone (`p95`, `search.p99`, `throughput`), as regression rules list
/// them: the request scope and the metric.
pub fn parse_metric(
    text: &str,
    requests: &[&str],
) -> Result<(Option<String>, Metric), AssertionError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(error(
            0..text.len(),
            "the metric name is empty",
            unknown::HELP,
        ));
    }
    if scraped::is_scraped(trimmed) {
        let lead = text.len() - text.trim_start().len();
        return scraped::parse(trimmed)
            .map(|s| (None, Metric::Scraped(s)))
            .map_err(|(r, message, help)| error(lead + r.start..lead + r.end, message, help));
    }
    resolve::resolve(trimmed, requests)
        .map_err(|(message, help)| error(0..text.len(), message, help))
}

/// Parses a metric a regression rule compares, with an optional `in turn N`
/// (`ttft.p95 in turn 2`): the request scope, the metric and the turn.
pub fn parse_gate_metric(
    text: &str,
    requests: &[&str],
) -> Result<(Option<String>, Metric, Option<u32>), AssertionError> {
    let (lhs, turn) = turn::clause(text)?;
    let (scope, metric) = parse_metric(lhs, requests)?;
    if turn.is_some() {
        turn::check_scoped(&metric, false, lhs.trim(), 0..lhs.len())?;
    }
    Ok((scope, metric, turn))
}

impl Assertion {
    /// Parses `text`; `requests` are the request names a metric may be scoped to.
    pub fn parse(text: &str, requests: &[&str]) -> Result<Assertion, AssertionError> {
        if text.trim().is_empty() {
            return Err(error(
                0..text.len(),
                "the assertion is empty",
                "write METRIC OP VALUE, e.g. \"p95 < 300ms\"",
            ));
        }
        if let Some(alive) = phase::alive(text) {
            return alive;
        }
        let (op_at, op_len, op) = operator(text)?;
        let (lhs, turn) = turn::clause(&text[..op_at])?;
        let (lhs, phase) = phase::clause(lhs)?;
        let rhs_at = op_at + op_len;
        let rhs = &text[rhs_at..];
        if let Some(i) = rhs.find(['<', '>', '=', '!', ',', ';']) {
            return Err(error(
                rhs_at + i..text.len(),
                "one assertion per string",
                "write each check as its own string: assert = [\"p95 < 300ms\", \"p99 < 1s\"]",
            ));
        }

        // `METRIC over WINDOW`
        let (metric_text, window) = match lhs.find(" over ") {
            Some(i) => {
                let w_at = i + " over ".len();
                let w_text = lhs[w_at..].trim();
                let w_start = w_at + (lhs[w_at..].len() - lhs[w_at..].trim_start().len());
                let w_range = w_start..w_start + w_text.len();
                let window = crate::units::parse_duration(w_text).map_err(|e| {
                    error(
                        w_range.clone(),
                        e,
                        "a window is a whole number of seconds, e.g. \"p99 over 10s < 800ms\"",
                    )
                })?;
                if window < Duration::from_secs(1) || window.subsec_nanos() != 0 {
                    return Err(error(
                        w_range,
                        format!("window {w_text:?} is not a whole number of seconds"),
                        "windows are built from the per-second timeline: use 1s, 5s, 10s, 1m, …",
                    ));
                }
                (&lhs[..i], Some(window))
            }
            None => (lhs, None),
        };
        let m_start = metric_text.len() - metric_text.trim_start().len();
        let m_text = metric_text.trim();
        let m_range = m_start..m_start + m_text.len().max(1);
        if m_text.is_empty() {
            return Err(error(
                m_range,
                "assertion has no metric before the operator",
                unknown::HELP,
            ));
        }
        let (scope, metric) = if scraped::is_scraped(m_text) {
            let shift = |r: Range<usize>| m_start + r.start..m_start + r.end;
            let s = scraped::parse(m_text)
                .map_err(|(r, message, help)| error(shift(r), message, help))?;
            (None, Metric::Scraped(s))
        } else {
            resolve::resolve(m_text, requests)
                .map_err(|(message, help)| error(m_range.clone(), message, help))?
        };
        if phase.is_some() {
            phase::check_scoped(&metric, m_text, m_range.clone())?;
        }
        if turn.is_some() {
            turn::check_scoped(&metric, phase.is_some(), m_text, m_range.clone())?;
        }
        if window.is_some() && !metric.windowable() {
            return Err(error(
                m_range,
                format!("`{m_text}` cannot be checked per window"),
                match metric {
                    Metric::Resource(_) => {
                        "resources are checked over the whole measured time; windows apply to latency stats, error-rate, errors, throughput and requests"
                    }
                    Metric::Scraped(_) => {
                        "the service's metrics are read over the whole measured time; windows apply to latency stats, error-rate, errors, throughput and requests"
                    }
                    _ => {
                        "windows apply to latency stats, error-rate, errors, throughput and requests"
                    }
                },
            ));
        }

        let v_start = rhs_at + (rhs.len() - rhs.trim_start().len());
        let v_text = rhs.trim();
        let v_range = v_start..v_start + v_text.len().max(1);
        let limit = value::parse_value(&metric, m_text, v_text)
            .map_err(|(message, help)| error(v_range.clone(), message, help))?;
        if let Some((message, help)) = value::impossible(&metric, op, limit) {
            return Err(error(v_range, message, help));
        }
        Ok(Assertion {
            text: text.to_string(),
            scope,
            metric,
            op,
            limit,
            window,
            phase,
            turn,
        })
    }
}

#[cfg(test)]
mod tests;
