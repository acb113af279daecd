//! Request templates: strings with `{{name}}` / `{{name.field}}` placeholders filled from the
//! spec's `[data]` sources, compiled once and rendered per request without re-parsing.
//!
//! `{{env:NAME}}` takes a value from the environment when the spec is loaded; such values are
//! secrets and are remembered so reports can redact them.

use serde_json::Value;

/// How a substituted value is escaped for the place it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// Inserted as is (headers, raw bodies).
    Text,
    /// Inside a JSON string: JSON-escaped, without quotes.
    JsonString,
    /// A whole JSON string leaf that was only the placeholder: the value goes in as JSON
    /// (a string is quoted, an array or number is inserted raw).
    JsonValue,
    /// A URL path: percent-encoded except unreserved characters and `/`.
    Path,
    /// A query value: percent-encoded except unreserved characters.
    Query,
}

/// A reference to one value of the row drawn for this request.
#[derive(Debug, Clone, PartialEq)]
pub struct VarRef {
    /// Index of the data source in the spec.
    pub source: usize,
    /// Field of a JSON object row, if any.
    pub field: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(String),
    Var(VarRef, Escape),
    /// A per-user variable (`{{user.NAME}}`, set by a capture): the index of its value in the
    /// rows given to `render`, after the data sources.
    User(usize, Escape),
}

/// A compiled template.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Template {
    parts: Vec<Part>,
}

/// A placeholder problem, with the byte range inside the template text.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError {
    /// Byte range of the placeholder in the compiled text.
    pub range: std::ops::Range<usize>,
    /// What is wrong.
    pub message: String,
    /// What would be valid.
    pub help: Option<String>,
}

/// Resolves names while compiling: data source names to indices, environment variables to
/// values.
pub trait Resolver {
    /// Index of the data source called `name`, or a list of the valid names.
    fn source(&self, name: &str) -> Result<usize, String>;
    /// Checks that rows of source `index` all have `field`.
    fn field(&self, index: usize, field: &str) -> Result<(), String>;
    /// The value of environment variable `name` (remembered as a secret).
    fn env(&self, name: &str) -> Result<String, String>;
    /// Where the value of user variable `name` (`{{user.NAME}}`, set by a flow's capture) is
    /// in the rows given to `render`: after the data sources. Without flows there are none.
    fn user(&self, name: &str) -> Result<usize, String> {
        Err(format!(
            "`{{{{user.{name}}}}}` is a flow variable, but no flow step captures `{name}`; add e.g. capture = {{ {name} = {{ json = \"/{name}\" }} }} to a [[flow]] step"
        ))
    }
}

impl Template {
    /// A template with no placeholders.
    pub fn literal(text: impl Into<String>) -> Template {
        let text = text.into();
        let parts = if text.is_empty() {
            vec![]
        } else {
            vec![Part::Lit(text)]
        };
        Template { parts }
    }

    /// Compiles `text`; literal text is kept as written, values are escaped with `escape`.
    pub fn compile(
        text: &str,
        escape: Escape,
        r: &dyn Resolver,
    ) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = 0;
        while let Some(open) = text[rest..].find("{{").map(|i| rest + i) {
            let close = text[open..]
                .find("}}")
                .map(|i| open + i)
                .ok_or_else(|| TemplateError {
                    range: open..text.len(),
                    message: "unclosed placeholder: `{{` without `}}`".into(),
                    help: Some(
                        "write placeholders as {{name}}, {{name.field}} or {{env:NAME}}".into(),
                    ),
                })?;
            if open > rest {
                parts.push(Part::Lit(text[rest..open].to_string()));
            }
            let inner = text[open + 2..close].trim();
            let range = open..close + 2;
            let err = |message: String| TemplateError {
                range: range.clone(),
                message,
                help: None,
            };
            if let Some(var) = inner.strip_prefix("env:") {
                let value = r.env(var.trim()).map_err(err)?;
                parts.push(Part::Lit(escape_value(&Value::String(value), escape)));
            } else if let Some(var) = inner.strip_prefix("user.")
                // A data source named `user` keeps its meaning (specs written before flows).
                && r.source("user").is_err()
            {
                let index = r.user(var.trim()).map_err(|help| TemplateError {
                    range: range.clone(),
                    message: format!("unknown user variable `{}`", var.trim()),
                    help: Some(help),
                })?;
                parts.push(Part::User(index, escape));
            } else {
                let (name, field) = match inner.split_once('.') {
                    Some((n, f)) => (n, Some(f.to_string())),
                    None => (inner, None),
                };
                if name.is_empty() {
                    return Err(TemplateError {
                        range,
                        message: "empty placeholder `{{}}`".into(),
                        help: Some("write {{name}} with a name from [data]".into()),
                    });
                }
                let source = r.source(name).map_err(|help| TemplateError {
                    range: range.clone(),
                    message: format!("unknown variable `{name}`"),
                    help: Some(help),
                })?;
                if let Some(f) = &field {
                    r.field(source, f).map_err(err)?;
                }
                parts.push(Part::Var(VarRef { source, field }, escape));
            }
            rest = close + 2;
        }
        if rest < text.len() {
            parts.push(Part::Lit(text[rest..].to_string()));
        }
        Ok(Template { parts }.merged())
    }

    /// Compiles a JSON body: string leaves may hold placeholders; a leaf that is exactly one
    /// placeholder is replaced by the value as JSON.
    pub fn compile_json(value: &Value, r: &dyn Resolver) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        json_parts(value, r, &mut parts)?;
        Ok(Template { parts }.merged())
    }

    fn merged(self) -> Template {
        let mut parts: Vec<Part> = Vec::with_capacity(self.parts.len());
        for part in self.parts {
            match (parts.last_mut(), part) {
                (Some(Part::Lit(a)), Part::Lit(b)) => a.push_str(&b),
                (_, p) => parts.push(p),
            }
        }
        Template { parts }
    }

    /// True when rendering needs no row.
    pub fn is_static(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Lit(_)))
    }

    /// The data sources this template reads.
    pub fn sources(&self) -> impl Iterator<Item = usize> + '_ {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v, _) => Some(v.source),
            Part::Lit(_) | Part::User(..) => None,
        })
    }

    /// The user variables this template reads (their indices in the rows).
    pub fn user_vars(&self) -> impl Iterator<Item = usize> + '_ {
        self.parts.iter().filter_map(|p| match p {
            Part::User(i, _) => Some(*i),
            Part::Lit(_) | Part::Var(..) => None,
        })
    }

    /// Renders with `rows[source]` as the current row of each source.
    pub fn render(&self, rows: &[Option<&Value>], out: &mut String) {
        for part in &self.parts {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Var(var, escape) => {
                    let row = rows.get(var.source).copied().flatten();
                    let value = match (row, &var.field) {
                        (Some(row), Some(f)) => row.get(f).unwrap_or(&Value::Null),
                        (Some(row), None) => row,
                        (None, _) => &Value::Null,
                    };
                    out.push_str(&escape_value(value, *escape));
                }
                Part::User(i, escape) => {
                    let value = rows.get(*i).copied().flatten().unwrap_or(&Value::Null);
                    out.push_str(&escape_value(value, *escape));
                }
            }
        }
    }

    /// Renders into a new string.
    pub fn render_string(&self, rows: &[Option<&Value>]) -> String {
        let mut out = String::new();
        self.render(rows, &mut out);
        out
    }
}

fn json_parts(value: &Value, r: &dyn Resolver, parts: &mut Vec<Part>) -> Result<(), TemplateError> {
    match value {
        Value::String(s) if s.contains("{{") => {
            let t = s.trim();
            // Exactly one placeholder: it opens the leaf and its `}}` is the leaf's end. Checking
            // only the ends took "{{q}} }}" for one placeholder and rendered `"value" }}`, which
            // is not JSON (found by fuzzing).
            let single = t.starts_with("{{") && t.find("}}") == Some(t.len() - 2);
            if single && t == s {
                let compiled = Template::compile(s, Escape::JsonValue, r)?;
                parts.extend(compiled.parts);
            } else {
                parts.push(Part::Lit("\"".into()));
                let compiled = Template::compile(s, Escape::JsonString, r)?;
                for p in compiled.parts {
                    parts.push(match p {
                        Part::Lit(l) => Part::Lit(json_escape(&l)),
                        var => var,
                    });
                }
                parts.push(Part::Lit("\"".into()));
            }
        }
        Value::Array(items) => {
            parts.push(Part::Lit("[".into()));
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    parts.push(Part::Lit(",".into()));
                }
                json_parts(item, r, parts)?;
            }
            parts.push(Part::Lit("]".into()));
        }
        Value::Object(map) => {
            parts.push(Part::Lit("{".into()));
            for (i, (k, v)) in map.iter().enumerate() {
                let sep = if i > 0 { "," } else { "" };
                parts.push(Part::Lit(format!("{sep}{}:", Value::String(k.clone()))));
                json_parts(v, r, parts)?;
            }
            parts.push(Part::Lit("}".into()));
        }
        scalar => parts.push(Part::Lit(scalar.to_string())),
    }
    Ok(())
}

fn json_escape(s: &str) -> String {
    let quoted = Value::String(s.to_string()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

fn escape_value(value: &Value, escape: Escape) -> String {
    let text = match value {
        Value::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
        Value::Null => std::borrow::Cow::Borrowed(""),
        other => std::borrow::Cow::Owned(other.to_string()),
    };
    match escape {
        Escape::Text => text.into_owned(),
        Escape::JsonString => json_escape(&text),
        Escape::JsonValue => value.to_string(),
        Escape::Path => percent_encode(&text, true),
        Escape::Query => percent_encode(&text, false),
    }
}

/// Percent-encodes all but unreserved characters (and `/` when `keep_slash`).
pub(crate) fn percent_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && b == b'/');
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests;
