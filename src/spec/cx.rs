//! The context of converting one spec file: where errors point, name resolution for
//! templates, and small helpers shared by the conversions.

use std::cell::RefCell;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::raw::S;
use super::{Context, Diagnostic};
use crate::data::DataSource;
use crate::template::{Resolver, TemplateError};
use crate::units::{DURATION_HELP, parse_duration};

/// Location context while converting one file.
pub(super) struct Cx<'a> {
    /// The path shown in messages.
    pub path: &'a Path,
    /// The source.
    pub text: &'a str,
    /// Outside references.
    pub env: &'a Context,
    /// Data sources converted so far.
    pub data: Vec<DataSource>,
    /// Values read from the environment.
    pub secrets: RefCell<Vec<String>>,
    /// Variables flow steps capture (`{{user.NAME}}`), in file order.
    pub user_vars: Vec<String>,
}

pub(super) type R<T> = Result<T, Diagnostic>;

impl Cx<'_> {
    pub fn err(
        &self,
        span: Range<usize>,
        message: impl Into<String>,
        help: impl Into<Option<String>>,
    ) -> Diagnostic {
        Diagnostic::at(self.path, self.text, span, message, help.into())
    }

    /// A duration value; errors name the key and say what a duration looks like.
    pub fn duration(&self, v: &S<String>, key: &str) -> R<Duration> {
        parse_duration(v.get_ref()).map_err(|e| {
            self.err(
                v.span(),
                format!("`{key}`: {e}"),
                Some(format!("{DURATION_HELP}, e.g. {key} = \"20s\"")),
            )
        })
    }

    /// A duration that must be longer than zero.
    pub fn positive(&self, v: &S<String>, key: &str) -> R<Duration> {
        let d = self.duration(v, key)?;
        if d.is_zero() {
            return Err(self.err(v.span(), format!("`{key}` must be longer than zero"), None));
        }
        Ok(d)
    }

    /// The span of `inner` (a byte range of the parsed string `parsed`) inside the string
    /// value at `value_span`. When the source text differs from the parsed string (escapes,
    /// line continuations) offsets cannot be mapped and the whole value is pointed at.
    pub fn inner_span(
        &self,
        value_span: Range<usize>,
        parsed: &str,
        inner: Range<usize>,
    ) -> Range<usize> {
        let Some(raw) = self.text.get(value_span.clone()) else {
            return value_span;
        };
        let quote = if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
            3
        } else {
            1
        };
        if raw.len() < 2 * quote {
            return value_span;
        }
        let mut content = &raw[quote..raw.len() - quote];
        let mut start = value_span.start + quote;
        // TOML drops a newline right after the opening delimiter of a multi-line string.
        if quote == 3 {
            for nl in ["\r\n", "\n"] {
                if let Some(rest) = content.strip_prefix(nl) {
                    content = rest;
                    start += nl.len();
                    break;
                }
            }
        }
        if content != parsed || inner.end > content.len() {
            return value_span;
        }
        start + inner.start..start + inner.end
    }

    /// A template error inside string value `v`.
    pub fn template_err(&self, v: &S<String>, e: TemplateError) -> Diagnostic {
        self.err(
            self.inner_span(v.span(), v.get_ref(), e.range),
            e.message,
            e.help,
        )
    }
}

impl Resolver for Cx<'_> {
    fn user(&self, name: &str) -> Result<usize, String> {
        match self.user_vars.iter().position(|v| v == name) {
            Some(i) => Ok(self.data.len() + i),
            None if self.user_vars.is_empty() => Err(format!(
                "`{{{{user.{name}}}}}` is a flow variable, but no [[flow]] step captures it; add e.g. capture = {{ {name} = {{ json = \"/{name}\" }} }} to a step"
            )),
            None => Err(format!(
                "variables flow steps capture: {}",
                self.user_vars.join(", ")
            )),
        }
    }

    fn source(&self, name: &str) -> Result<usize, String> {
        self.data.iter().position(|d| d.name == name).ok_or_else(|| {
            if self.data.is_empty() {
                "this spec has no [data] section; add one, e.g. [data] query = { file = \"queries.txt\" }".into()
            } else {
                let names: Vec<&str> = self.data.iter().map(|d| d.name.as_str()).collect();
                let mut help = format!("variables from [data]: {}; environment values: {{{{env:NAME}}}}", names.join(", "));
                if let Some(close) = closest(name, names.iter().copied()) {
                    help = format!("did you mean `{close}`? {help}");
                }
                help
            }
        })
    }

    fn field(&self, index: usize, field: &str) -> Result<(), String> {
        let source = &self.data[index];
        let Some(i) = source.rows.iter().position(|row| row.get(field).is_none()) else {
            return Ok(());
        };
        let row = &source.rows[i];
        let fields = match row {
            Value::Object(map) => format!(
                "it has {}",
                map.keys()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Value::String(_) => {
                "it is a string, not a JSON object (use {{NAME}} for the whole value)".into()
            }
            _ => "it is not a JSON object".into(),
        };
        let place = match source.lines.get(i) {
            Some(line) => format!("line {line} of data `{}`", source.name),
            None => format!("value {} of data `{}`", i + 1, source.name),
        };
        Err(format!("{place} has no field `{field}`: {fields}"))
    }

    fn env(&self, name: &str) -> Result<String, String> {
        let value = self.env.var(name).ok_or_else(|| format!("environment variable `{name}` is not set (set it where the tests run, e.g. `{name}=… cargo test --test perf`)"))?;
        if !value.is_empty() {
            self.secrets.borrow_mut().push(value.clone());
        }
        Ok(value)
    }
}

/// The longest name of a request, data source, scenario or component: names make test names,
/// file names and report rows.
pub(super) const MAX_NAME: usize = 64;

/// Names of requests, data sources and scenarios: letters, digits, `-` and `_`, at most
/// [`MAX_NAME`] of them.
pub(super) fn check_name(cx: &Cx, name: &S<String>, what: &str) -> R<()> {
    let n = name.get_ref();
    let length = n.chars().count();
    if length > MAX_NAME {
        return Err(cx.err(
            name.span(),
            format!("the {what} name is {length} characters long; names are at most {MAX_NAME}"),
            Some("a short name: it appears in test names, file names and every report".into()),
        ));
    }
    if n.is_empty()
        || !n
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(cx.err(
            name.span(),
            format!("invalid {what} name {n:?}"),
            Some(
                "names use letters, digits, `-` and `_` (they appear in test names and assertions)"
                    .into(),
            ),
        ));
    }
    Ok(())
}

/// TOML values (for JSON bodies and inline data) as JSON; datetimes become strings.
pub(super) fn toml_to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

/// The candidate closest to `word` (edit distance at most a third of its length, and at most
/// 3), for "did you mean" hints.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|&(d, c)| d <= limit && c != word)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
/// neighbours each cost one.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names() {
        assert_eq!(
            closest("thnk-time", ["model", "users", "think-time"]),
            Some("think-time")
        );
        assert_eq!(closest("usrs", ["model", "users"]), Some("users"));
        assert_eq!(closest("zzz", ["model", "users"]), None);
        assert_eq!(closest("POTS", ["GET", "POST"]), Some("POST"));
    }
}
