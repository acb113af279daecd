//! Reading `metric.NAME{LABEL="VALUE"}.FIGURE` (or a ratio of two) from an assertion's text,
//! with located problems.

use std::ops::Range;

use super::{Figure, Matcher, MetricRef, ScrapedMetric};

/// A problem, located in the text parsed: (range, message, help).
pub(in crate::assertion) type Problem = (Range<usize>, String, String);

const FIGURES: &str = "figures are delta and rate (counters) or mean, max, min, median, pN (p95, p99), stdev, last (gauges), e.g. metric.cache_hits_total.delta";

/// Whether `text` is written as a service metric (or a ratio of them).
pub(in crate::assertion) fn is_scraped(text: &str) -> bool {
    text.trim_start().starts_with("metric.")
}

/// Parses `metric.A.FIG` or `metric.A.FIG / metric.B.FIG`.
pub(in crate::assertion) fn parse(text: &str) -> Result<ScrapedMetric, Problem> {
    match split_ratio(text) {
        None => Ok(ScrapedMetric::One(one(text, 0)?)),
        Some(at) => {
            let (a, b) = (&text[..at], &text[at + 1..]);
            let b_start = at + 1 + (b.len() - b.trim_start().len());
            if !is_scraped(b) {
                return Err((
                    b_start..text.len(),
                    "both sides of a ratio are metrics of the service".into(),
                    "write metric.A.FIGURE / metric.B.FIGURE, e.g. metric.cache_hits_total.delta / metric.cache_lookups_total.delta > 80%".into(),
                ));
            }
            Ok(ScrapedMetric::Ratio(one(a, 0)?, one(b, at + 1)?))
        }
    }
}

/// The `/` of a ratio, outside braces and quotes.
fn split_ratio(text: &str) -> Option<usize> {
    let (mut depth, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '{' if !quoted => depth += 1,
            '}' if !quoted => depth -= 1,
            '/' if !quoted && depth == 0 => return Some(i),
            _ => {}
        }
    }
    None
}

/// One `metric.NAME{…}.FIGURE`; ranges are offset by `base`.
fn one(raw: &str, base: usize) -> Result<MetricRef, Problem> {
    let lead = raw.len() - raw.trim_start().len();
    let text = raw.trim();
    let start = base + lead;
    let whole = start..start + text.len().max(1);
    let Some(rest) = text.strip_prefix("metric.") else {
        return Err((
            whole,
            format!("`{text}` is not a metric of the service"),
            "write metric.NAME.FIGURE".into(),
        ));
    };
    let at = start + "metric.".len();
    let name_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(rest.len());
    let name = &rest[..name_len];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err((
            at..at + name_len.max(1),
            format!("`{text}` has no metric name after `metric.`"),
            "metric names are the service's, as its /metrics writes them: letters, digits, `_` and `:`, e.g. metric.cache_hits_total.delta".into(),
        ));
    }
    let mut pos = name_len;
    let mut matchers = Vec::new();
    if rest[pos..].starts_with('{') {
        let (m, len) = selector(&rest[pos..], at + pos)?;
        matchers = m;
        pos += len;
    }
    let tail = &rest[pos..];
    let Some(word) = tail.strip_prefix('.') else {
        let help = if tail.is_empty() {
            format!(
                "add a figure: `{text}.delta` for a counter, `{text}.max` for a gauge; {FIGURES}"
            )
        } else {
            format!("after the name (and labels) comes `.FIGURE`; {FIGURES}")
        };
        let range = if tail.is_empty() {
            start..start + text.len()
        } else {
            at + pos..start + text.len()
        };
        return Err((
            range,
            if tail.is_empty() {
                format!("`{text}` needs a figure")
            } else {
                format!("unexpected `{tail}` in `{text}`")
            },
            help,
        ));
    };
    let word_len = word.find(char::is_whitespace).unwrap_or(word.len());
    let (word, extra) = word.split_at(word_len);
    if !extra.trim().is_empty() {
        let from = at + pos + 1 + word_len + (extra.len() - extra.trim_start().len());
        return Err((
            from..start + text.len(),
            format!("unexpected `{}` in `{text}`", extra.trim()),
            "write one metric, or the ratio of two: metric.A.FIGURE / metric.B.FIGURE".into(),
        ));
    }
    let word_range = at + pos + 1..at + pos + 1 + word.len().max(1);
    let figure = Figure::parse(word).ok_or_else(|| {
        let words = [
            "delta", "rate", "last", "mean", "max", "min", "median", "p95", "p99", "stdev",
        ];
        let hint = crate::spec::closest_name(word, words)
            .map_or(String::new(), |c| format!("did you mean `{c}`? "));
        (
            word_range,
            format!("unknown figure `{word}` in `{text}`"),
            format!("{hint}{FIGURES}"),
        )
    })?;
    Ok(MetricRef {
        name: name.to_string(),
        matchers,
        figure,
    })
}

/// `{a="x",b!="y"}` at the start of `text`: the matchers and the length read.
fn selector(text: &str, at: usize) -> Result<(Vec<Matcher>, usize), Problem> {
    const HELP: &str = "label selectors are {LABEL=\"VALUE\"} or {LABEL!=\"VALUE\"}, separated by commas, e.g. metric.http_requests_total{route=\"/search\"}.delta";
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 1; // after `{`
    let mut out = Vec::new();
    let err = |from: usize, msg: String| {
        Err((
            at + from..at + text.len().max(from + 1),
            msg,
            HELP.to_string(),
        ))
    };
    loop {
        while i < chars.len() && chars[i].1 == ' ' {
            i += 1;
        }
        if i >= chars.len() {
            return err(0, "the label selector is not closed with `}`".into());
        }
        if chars[i].1 == '}' && (out.is_empty() || text[..chars[i].0].trim_end().ends_with(',')) {
            i += 1;
            break;
        }
        let label_start = i;
        while i < chars.len() && (chars[i].1.is_ascii_alphanumeric() || chars[i].1 == '_') {
            i += 1;
        }
        let label = &text[chars[label_start].0..chars.get(i).map_or(text.len(), |c| c.0)];
        if label.is_empty() || label.starts_with(|c: char| c.is_ascii_digit()) {
            return err(
                chars.get(label_start).map_or(0, |c| c.0),
                "expected a label name".into(),
            );
        }
        let negate = match (chars.get(i).map(|c| c.1), chars.get(i + 1).map(|c| c.1)) {
            (Some('!'), Some('=')) => {
                i += 2;
                true
            }
            (Some('='), Some('~')) | (Some('!'), Some('~')) => {
                return err(
                    chars[i].0,
                    "regular-expression matchers (=~, !~) are not supported".into(),
                );
            }
            (Some('='), _) => {
                i += 1;
                false
            }
            _ => {
                return err(
                    chars.get(i).map_or(text.len(), |c| c.0),
                    format!("expected `=` or `!=` after label `{label}`"),
                );
            }
        };
        if chars.get(i).map(|c| c.1) != Some('"') {
            return err(
                chars.get(i).map_or(text.len(), |c| c.0),
                format!("the value of label `{label}` must be in double quotes"),
            );
        }
        i += 1;
        let mut value = String::new();
        loop {
            match chars.get(i).map(|c| c.1) {
                None => {
                    return err(
                        0,
                        format!("the value of label `{label}` has no closing quote"),
                    );
                }
                Some('\\') => {
                    match chars.get(i + 1).map(|c| c.1) {
                        Some('n') => value.push('\n'),
                        Some(c) => value.push(c),
                        None => {
                            return err(
                                0,
                                format!("the value of label `{label}` has no closing quote"),
                            );
                        }
                    }
                    i += 2;
                }
                Some('"') => {
                    i += 1;
                    break;
                }
                Some(c) => {
                    value.push(c);
                    i += 1;
                }
            }
        }
        out.push(Matcher {
            label: label.to_string(),
            value,
            negate,
        });
        while i < chars.len() && chars[i].1 == ' ' {
            i += 1;
        }
        match chars.get(i).map(|c| c.1) {
            Some(',') => i += 1,
            Some('}') => {
                i += 1;
                break;
            }
            _ => {
                return err(
                    chars.get(i).map_or(text.len(), |c| c.0),
                    "expected `,` or `}` after a label matcher".into(),
                );
            }
        }
    }
    let len = chars.get(i).map_or(text.len(), |c| c.0);
    Ok((out, len))
}
