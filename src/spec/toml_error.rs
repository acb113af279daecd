//! TOML and schema errors from the parser, reworded for people: keys instead of "fields",
//! lists and tables instead of sequences and maps, the key named, a "did you mean", an example.

use std::ops::Range;
use std::path::Path;

use super::Diagnostic;
use super::cx::closest;
use crate::units::DURATION_HELP;

/// Keys that belong inside `load = { … }`.
const LOAD_KEYS: &[&str] = &[
    "model",
    "users",
    "ramp-up",
    "think-time",
    "rate",
    "max-users",
    "stages",
    "arrivals",
];
/// How deep the TOML reader (toml 1.x) nests arrays, inline tables and dotted keys.
const NESTING_LIMIT: u32 = 80;

/// Keys whose values are durations.
const DURATION_KEYS: &[&str] = &[
    "timeout",
    "ready-timeout",
    "stop-timeout",
    "warmup",
    "duration",
    "graceful-stop",
    "ramp-up",
    "think-time",
];

/// The diagnostic for a parse or schema error.
pub(super) fn diagnostic(path: &Path, text: &str, e: &toml::de::Error) -> Diagnostic {
    let span = e
        .span()
        .or_else(|| {
            (e.message() == "recursion limit")
                .then(|| long_key(text))
                .flatten()
        })
        .unwrap_or(0..0);
    let (message, help) = reword(e.message(), text, &span);
    Diagnostic::at(path, text, span, message, help)
}

/// The first key (or table header) with more parts than the TOML reader takes: the parser
/// reports that limit without a location.
fn long_key(text: &str) -> Option<Range<usize>> {
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let key = line.split('=').next().unwrap_or("").trim_end();
        let lead = key.len() - key.trim_start().len();
        if key.matches('.').count() + 1 >= NESTING_LIMIT as usize {
            return Some(start + lead..start + key.len());
        }
        start += line.len();
    }
    None
}

fn backticked(s: &str) -> Vec<&str> {
    s.split('`').skip(1).step_by(2).collect()
}

fn reword(raw: &str, text: &str, span: &Range<usize>) -> (String, Option<String>) {
    let missing = raw.starts_with("missing field");
    let place = context(text, span.start, missing);
    let header = header_before(text, span.start);
    let within = place
        .as_deref()
        .map_or(String::new(), |p| format!(" in {p}"));
    if let Some(rest) = raw.strip_prefix("unknown field ") {
        let names = backticked(rest);
        let (unknown, expected) = names.split_first().map_or(("", &[][..]), |(u, e)| (*u, e));
        let message = format!("unknown key `{unknown}`{}", within);
        if header == Some("[scenario]") {
            return (
                message,
                Some("scenarios are named: write [scenario.NAME], e.g. [scenario.steady]".into()),
            );
        }
        let keys = format!("keys here: {}", expected.join(", "));
        let help = if expected.contains(&"load") && LOAD_KEYS.contains(&unknown) {
            format!(
                "`{unknown}` belongs inside `load`, e.g. load = {{ model = \"closed\", users = 5 }}"
            )
        } else if let Some(dashed) = Some(unknown.replace('_', "-"))
            .filter(|d| d != unknown && expected.contains(&d.as_str()))
        {
            format!("keys are written with dashes: `{dashed}`")
        } else if let Some(close) = closest(unknown, expected.iter().copied()) {
            format!("did you mean `{close}`? {keys}")
        } else {
            keys
        };
        return (message, Some(help));
    }
    if raw.starts_with("cannot recurse further") || raw == "recursion limit" {
        return (
            format!("nested more than {NESTING_LIMIT} levels deep"),
            Some(format!(
                "the TOML reader stops at {NESTING_LIMIT} levels of arrays, inline tables or dotted keys; a spec needs a few: flatten the value, or send a deep JSON document as a `body` string with a `content-type = \"application/json\"` header"
            )),
        );
    }
    if let Some(rest) = raw.strip_prefix("missing field ") {
        let key = backticked(rest).first().copied().unwrap_or("");
        let example = match key {
            "target" => {
                "add a [target] table with `command = [...]` or `url = \"http://127.0.0.1:8080\"`"
            }
            "load" => "e.g. load = { model = \"closed\", users = 5 }",
            "model" => "e.g. model = \"closed\"",
            "path" => "e.g. path = \"/search\"",
            "name" => "e.g. name = \"search\"",
            _ => "",
        };
        let message = format!("missing key `{key}`{}", within);
        return (message, (!example.is_empty()).then(|| example.to_string()));
    }
    if let Some(rest) = raw.strip_prefix("invalid type: ") {
        let (found, expected) = rest
            .split_once(", expected ")
            .unwrap_or((rest, "something else"));
        let found = plain_found(found);
        let expected = plain_expected(expected);
        if expected == "a list"
            && text
                .get(span.clone())
                .is_some_and(|t| t.starts_with("[request]"))
        {
            return (
                "`request` is a list of tables".into(),
                Some("write [[request]] (double brackets) for each request".into()),
            );
        }
        let key = key_before(text, span.start);
        let message = match key {
            Some(k) => format!("`{k}` must be {expected}, not {found}"),
            None => format!("expected {expected}, found {found}"),
        };
        let help = key.and_then(|k| example(k, &expected));
        return (message, help);
    }
    if raw.starts_with("duplicate key") {
        let key = key_at(text, span.start);
        return (
            key.map_or_else(|| raw.to_string(), |k| format!("duplicate key `{k}`")),
            Some("each key may be set once per table; remove one of them".into()),
        );
    }
    (raw.to_string(), None)
}

/// Serde's name for the expected type, in plain English.
fn plain_expected(s: &str) -> String {
    match s.trim() {
        "i64" | "u64" | "i32" | "u32" | "an integer" => "a whole number".into(),
        "a sequence" => "a list".into(),
        "a map" | "struct" => "a table".into(),
        "a boolean" => "true or false".into(),
        other => other.to_string(),
    }
}

/// Serde's description of the value found (`integer `20``), in plain English.
fn plain_found(s: &str) -> String {
    let s = s.trim();
    for (rust, plain) in [
        ("integer", "the number"),
        ("floating point", "the number"),
        ("string", "the string"),
        ("boolean", ""),
    ] {
        if let Some(rest) = s.strip_prefix(rust) {
            return format!("{plain}{rest}").trim().to_string();
        }
    }
    match s {
        "sequence" => "a list".into(),
        "map" => "a table".into(),
        other => other.to_string(),
    }
}

fn example(key: &str, expected: &str) -> Option<String> {
    if DURATION_KEYS.contains(&key) {
        return Some(format!("{DURATION_HELP}, e.g. {key} = \"20s\""));
    }
    Some(match (key, expected) {
        ("assert", _) => "assert = [\"p95 < 300ms\", \"error-rate < 1%\"]".into(),
        ("command", _) => "command = [\"{bin:my-service}\", \"--port\", \"{port}\"]".into(),
        (_, "a whole number") => format!("e.g. {key} = 5"),
        (_, "the string" | "a string") => format!("e.g. {key} = \"…\" (in quotes)"),
        _ => return None,
    })
}

/// Where a problem at `pos` is, for the message: the inline table (`load`), the table
/// (`[scenario.steady]`), or nothing at the top level. A missing key points at its table.
fn context(text: &str, pos: usize, missing: bool) -> Option<String> {
    if let Some(key) = inline_table_key(text, pos) {
        return Some(format!("`{key}`"));
    }
    if missing {
        let line = text.get(pos..)?.lines().next().unwrap_or("").trim();
        if line.starts_with('[') {
            return Some(line.to_string());
        }
        if let Some(key) = key_before(text, pos) {
            return Some(format!("`{key}`"));
        }
    }
    header_before(text, pos).map(str::to_string)
}

/// The key of the inline table (`load = { … }`) that `pos` is inside, on the same line.
fn inline_table_key(text: &str, pos: usize) -> Option<&str> {
    let before = text.get(..pos)?;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let mut depth = 0i32;
    for (i, c) in before[line_start..].char_indices().rev() {
        match c {
            '}' => depth += 1,
            '{' if depth == 0 => return key_before(text, line_start + i),
            '{' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// The table header (`[scenario.steady]`) a position is under; `None` at the top level or
/// inside a header line itself.
fn header_before(text: &str, pos: usize) -> Option<&str> {
    let before = text.get(..pos)?;
    let (complete, current) = before.rsplit_once('\n').unwrap_or(("", before));
    if current.trim_start().starts_with('[') {
        return None;
    }
    complete
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
}

/// The key of a `key = VALUE` whose value starts at `pos`.
fn key_before(text: &str, pos: usize) -> Option<&str> {
    let before = text.get(..pos)?;
    let line = &before[before.rfind('\n').map_or(0, |i| i + 1)..];
    let line = line.trim_end().strip_suffix('=')?.trim_end();
    // The key starts after the last character that cannot be in a bare key; that character
    // may be several bytes long (`é={` used to slice inside it; found by fuzzing).
    let start = line
        .char_indices()
        .rev()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let key = &line[start..];
    (!key.is_empty()).then_some(key)
}

/// The key that starts at `pos`.
fn key_at(text: &str, pos: usize) -> Option<&str> {
    let rest = text.get(pos..)?;
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Context, Spec};

    #[test]
    fn key_before_a_multibyte_character() {
        assert_eq!(key_before("é=", 3), None);
        assert_eq!(key_before("éx = ", 5), Some("x"));
        assert_eq!(key_before("  users =", 9), Some("users"));
        // The whole spec: a TOML error right after a non-ASCII key renders without panicking.
        let e = Spec::parse("é={", Path::new("x.toml"), &Context::default()).unwrap_err();
        assert!(e.to_string().contains("x.toml:1:"), "{e}");
    }

    #[test]
    fn the_nesting_limit_is_the_toml_readers() {
        let nested = |depth: usize| {
            let text = format!("x = {}{}", "[".repeat(depth), "]".repeat(depth));
            toml::from_str::<toml::Table>(&text)
                .map(drop)
                .map_err(|e| diagnostic(Path::new("x.toml"), &text, &e).message)
        };
        assert_eq!(nested(NESTING_LIMIT as usize), Ok(()));
        assert_eq!(
            nested(NESTING_LIMIT as usize + 1),
            Err(format!("nested more than {NESTING_LIMIT} levels deep"))
        );
    }
}
