//! The Prometheus text format (and OpenMetrics text) of a `/metrics` response, read with
//! nom-openmetrics into samples and the declared type of each family.
//!
//! Lines the format says to ignore (blank lines, free comments) and the descriptors perfspec
//! does not use (`# HELP`, `# UNIT`, OpenMetrics' `# EOF`) are dropped first: the parser is
//! strict and would refuse them. Anything else it cannot read makes the whole response an
//! error that names the line, so a body that is not the text format is never read as "no
//! metrics".

use std::collections::BTreeMap;

/// What a family is declared as (`# TYPE`); `Untyped` when no line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Only goes up, except when the service restarts.
    Counter,
    /// Goes up and down.
    Gauge,
    /// `_bucket`, `_sum` and `_count` series.
    Histogram,
    /// Quantile, `_sum` and `_count` series.
    Summary,
    /// No `# TYPE` line, or another type.
    Untyped,
}

impl Kind {
    /// `counter`, `gauge`, …
    pub fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::Summary => "summary",
            Kind::Untyped => "untyped",
        }
    }
}

/// One sample of a response: metric name, labels sorted by name, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The sample's name (`cache_hits_total`, `latency_seconds_bucket`).
    pub name: String,
    /// Its labels, sorted by name.
    pub labels: Vec<(String, String)>,
    /// Its value.
    pub value: f64,
}

/// A parsed response.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exposition {
    /// Every sample, in response order.
    pub samples: Vec<Sample>,
    /// Declared types by family name.
    pub types: BTreeMap<String, Kind>,
}

impl Exposition {
    /// The kind of sample `name`: its family's `# TYPE`, found by the name itself or with the
    /// suffix a type adds (`_total`, `_bucket`, `_sum`, `_count`, `_created`) removed.
    pub fn kind_of(&self, name: &str) -> Kind {
        kind_of(&self.types, name)
    }
}

/// The kind of sample `name` given the declared `types` (see [`Exposition::kind_of`]).
pub fn kind_of(types: &BTreeMap<String, Kind>, name: &str) -> Kind {
    if let Some(k) = types.get(name) {
        return *k;
    }
    for suffix in ["_total", "_bucket", "_sum", "_count", "_created"] {
        if let Some(k) = name.strip_suffix(suffix).and_then(|f| types.get(f)) {
            return match (suffix, k) {
                // `_sum` and `_count` of histograms and summaries only go up.
                ("_sum" | "_count", Kind::Histogram | Kind::Summary) => Kind::Counter,
                ("_created", _) => Kind::Gauge,
                _ => *k,
            };
        }
    }
    Kind::Untyped
}

/// Where a parse error points (the innermost error's input).
fn deepest<'a>(e: &nom::Err<nom_language::error::VerboseError<&'a str>>) -> Option<&'a str> {
    match e {
        nom::Err::Error(v) | nom::Err::Failure(v) => v.errors.first().map(|(i, _)| *i),
        nom::Err::Incomplete(_) => None,
    }
}

/// Parses a response body; the error names the first line that is not the text format.
pub fn parse(body: &str) -> Result<Exposition, String> {
    // Kept lines and their 1-based line numbers in the response.
    let mut kept = String::with_capacity(body.len() + 1);
    let mut lines: Vec<usize> = Vec::new();
    for (i, line) in body.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if let Some(comment) = t.strip_prefix('#') {
            if !comment.trim_start().starts_with("TYPE ") {
                continue;
            }
            kept.push_str("# ");
            kept.push_str(comment.trim_start());
        } else {
            kept.push_str(line);
        }
        kept.push('\n');
        lines.push(i + 1);
    }
    let families = match nom_openmetrics::parser::prometheus(&kept) {
        Ok((_, families)) => families,
        Err(e) => {
            // The whole parse stops at the family that failed; parsing that family alone
            // finds the line inside it.
            let rest = deepest(&e).unwrap_or("");
            let rest = match nom_openmetrics::parser::family(rest) {
                Err(inner) => deepest(&inner).unwrap_or(rest),
                Ok(_) => rest,
            };
            let at = kept.len() - rest.len();
            let index = kept[..at].matches('\n').count();
            let number = lines.get(index).copied().unwrap_or(body.lines().count());
            let text: String = body
                .lines()
                .nth(number.saturating_sub(1))
                .unwrap_or("")
                .chars()
                .take(120)
                .collect();
            return Err(format!(
                "line {number} is not in the Prometheus text format: {text:?}"
            ));
        }
    };
    let mut out = Exposition::default();
    for family in &families {
        for d in &family.descriptors {
            if let nom_openmetrics::MetricDescriptor::Type { metric, r#type } = d {
                use nom_openmetrics::MetricType as T;
                let kind = match r#type {
                    T::Counter => Kind::Counter,
                    T::Gauge => Kind::Gauge,
                    T::Histogram => Kind::Histogram,
                    T::Summary => Kind::Summary,
                    T::Unknown(s) if s.trim() == "histogram" => Kind::Histogram,
                    _ => Kind::Untyped,
                };
                out.types.insert((*metric).to_string(), kind);
            }
        }
        for s in &family.samples {
            let mut labels: Vec<(String, String)> = s
                .labels()
                .iter()
                .map(|l| (l.name.to_string(), l.value.clone()))
                .collect();
            labels.sort();
            out.samples.push(Sample {
                name: s.name().to_string(),
                labels,
                value: s.number(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_text_format_with_comments_escapes_and_types() {
        let body = "# HELP cache_hits_total Hits.\n# TYPE cache_hits_total counter\n\
            cache_hits_total 42\n\n# a free comment\n# TYPE db_pool_in_use gauge\n\
            db_pool_in_use{pool=\"main\",zone=\"a \\\"b\\\", c\"} 3.5\r\n\
            # TYPE latency_seconds histogram\nlatency_seconds_bucket{le=\"+Inf\"} 7\n\
            latency_seconds_sum 1.25\nlatency_seconds_count 7\nno_type 1";
        let e = parse(body).unwrap();
        assert_eq!(e.samples.len(), 6);
        assert_eq!(e.samples[1].name, "db_pool_in_use");
        assert_eq!(
            e.samples[1].labels,
            vec![
                ("pool".to_string(), "main".to_string()),
                ("zone".to_string(), "a \"b\", c".to_string())
            ]
        );
        assert_eq!(e.samples[1].value, 3.5);
        assert_eq!(e.kind_of("cache_hits_total"), Kind::Counter);
        assert_eq!(e.kind_of("db_pool_in_use"), Kind::Gauge);
        assert_eq!(e.kind_of("latency_seconds_count"), Kind::Counter);
        assert_eq!(e.kind_of("latency_seconds_bucket"), Kind::Histogram);
        assert_eq!(e.kind_of("no_type"), Kind::Untyped);
    }

    #[test]
    fn openmetrics_counters_and_eof_are_read() {
        let body = "# TYPE hits counter\nhits_total 3\nhits_created 1.7e9\n# EOF\n";
        let e = parse(body).unwrap();
        assert_eq!(e.kind_of("hits_total"), Kind::Counter);
        assert_eq!(e.samples[0].value, 3.0);
    }

    #[test]
    fn a_body_that_is_not_the_text_format_names_its_line() {
        let err = parse("<html>\n<body>Not found</body>\n").unwrap_err();
        assert!(err.contains("line 1 ") && err.contains("<html>"), "{err}");
        let err = parse("ok 1\n# TYPE x counter\nx{a=\"1\" 2\n").unwrap_err();
        assert!(err.starts_with("line 3 "), "{err}");
        let err = parse("{\"status\": \"ok\"}").unwrap_err();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn an_empty_body_has_no_samples() {
        assert!(parse("").unwrap().samples.is_empty());
        assert!(parse("# only comments\n").unwrap().samples.is_empty());
    }
}
