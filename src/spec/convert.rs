//! Raw TOML structs to validated types. The first problem found is reported with its location
//! and what would be valid.

use std::cell::RefCell;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::raw::{RawData, RawLoad, RawScenario, RawSpec, RawTarget, S};
use super::request::convert_requests;
use super::{
    ArgPart, Closed, CommandTarget, Context, Diagnostic, Load, Readiness, Scenario, Spec, Target,
    Think, UrlTarget,
};
use crate::assertion::Assertion;
use crate::data::{self, DataSource, Format, Pick};
use crate::template::{Resolver, TemplateError};
use crate::units::parse_duration;

/// Location context while converting one file.
pub(super) struct Cx<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    pub env: &'a Context,
    pub data: Vec<DataSource>,
    pub secrets: RefCell<Vec<String>>,
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

    pub fn duration(&self, v: &S<String>, key: &str) -> R<Duration> {
        parse_duration(v.get_ref()).map_err(|e| self.err(v.span(), format!("`{key}`: {e}"), None))
    }

    /// The span of a sub-range of a string value's content (skipping its opening quote).
    pub fn inner_span(&self, value_span: Range<usize>, inner: Range<usize>) -> Range<usize> {
        let rest = &self.text[value_span.start.min(self.text.len())..];
        let quote = if rest.starts_with("\"\"\"") || rest.starts_with("'''") {
            3
        } else {
            1
        };
        let start = (value_span.start + quote + inner.start).min(value_span.end);
        let end = (value_span.start + quote + inner.end)
            .min(value_span.end)
            .max(start);
        start..end
    }

    pub fn template_err(&self, v: Range<usize>, e: TemplateError) -> Diagnostic {
        self.err(self.inner_span(v, e.range), e.message, e.help)
    }
}

impl Resolver for Cx<'_> {
    fn source(&self, name: &str) -> Result<usize, String> {
        self.data.iter().position(|d| d.name == name).ok_or_else(|| {
            if self.data.is_empty() {
                "this spec has no [data] section; add one, e.g. [data] query = { file = \"queries.txt\" }".into()
            } else {
                let names: Vec<&str> = self.data.iter().map(|d| d.name.as_str()).collect();
                format!("variables from [data]: {}; environment values: {{{{env:NAME}}}}", names.join(", "))
            }
        })
    }

    fn field(&self, index: usize, field: &str) -> Result<(), String> {
        let source = &self.data[index];
        match source.rows.iter().position(|row| row.get(field).is_none()) {
            None => Ok(()),
            Some(i) => Err(format!(
                "row {} of data `{}` has no field `{field}`",
                i + 1,
                source.name
            )),
        }
    }

    fn env(&self, name: &str) -> Result<String, String> {
        let value = match &self.env.env {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        };
        let value = value.ok_or_else(|| format!("environment variable `{name}` is not set"))?;
        if !value.is_empty() {
            self.secrets.borrow_mut().push(value.clone());
        }
        Ok(value)
    }
}

pub(super) fn convert(text: &str, real_path: &Path, env: &Context) -> R<Spec> {
    let path = env.display_path.as_deref().unwrap_or(real_path);
    let raw: RawSpec = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        Diagnostic::at(
            path,
            text,
            span,
            e.message().to_string(),
            toml_help(e.message()),
        )
    })?;
    let mut cx = Cx {
        path,
        text,
        env,
        data: Vec::new(),
        secrets: RefCell::new(Vec::new()),
    };
    let name = real_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = real_path.parent().unwrap_or(Path::new("."));
    for (key, value) in &raw.data {
        let source = convert_data(&cx, key, value, dir)?;
        cx.data.push(source);
    }
    let target = convert_target(&cx, &raw.target, dir)?;
    let (defaults, requests) = convert_requests(&cx, &raw)?;
    if raw.scenario.is_empty() {
        return Err(cx.err(0..0, "the spec has no scenarios", Some(
            "add one, e.g. [scenario.steady] with load = { model = \"closed\", users = 5 } and duration = \"20s\"".into(),
        )));
    }
    let names: Vec<&str> = requests.iter().map(|r| r.name.as_str()).collect();
    let mut scenarios = Vec::new();
    for (key, value) in &raw.scenario {
        scenarios.push(convert_scenario(&cx, key, value, &names)?);
    }
    let secrets = cx.secrets.into_inner();
    Ok(Spec {
        name,
        path: path.to_path_buf(),
        source: Arc::from(text),
        target,
        defaults,
        requests,
        data: cx.data,
        scenarios,
        secrets,
    })
}

fn toml_help(message: &str) -> Option<String> {
    if message.starts_with("unknown field") {
        return Some("check the spelling; the keys this table accepts are listed above (see the spec reference in the README)".into());
    }
    if message.starts_with("missing field `target`") {
        return Some(
            "add a [target] table with `command = [...]` or `url = \"http://127.0.0.1:8080\"`"
                .into(),
        );
    }
    None
}

/// Names of requests, data sources and scenarios: letters, digits, `-` and `_`.
pub(super) fn check_name(cx: &Cx, name: &S<String>, what: &str) -> R<()> {
    let n = name.get_ref();
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

fn convert_data(cx: &Cx, key: &S<String>, raw: &S<RawData>, dir: &Path) -> R<DataSource> {
    check_name(cx, key, "data")?;
    let d = raw.get_ref();
    let rows = match (&d.file, &d.values) {
        (Some(file), None) => {
            let format = match &d.format {
                None if file.get_ref().ends_with(".jsonl") || file.get_ref().ends_with(".ndjson") => Format::Jsonl,
                None => Format::Lines,
                Some(f) => match f.get_ref().as_str() {
                    "lines" => Format::Lines,
                    "jsonl" => Format::Jsonl,
                    other => return Err(cx.err(f.span(), format!("unknown data format {other:?}"), Some("formats: \"lines\" (one value per line) or \"jsonl\" (one JSON value per line)".into()))),
                },
            };
            data::load_file(&dir.join(file.get_ref()), format).map_err(|e| {
                cx.err(
                    file.span(),
                    e,
                    Some("paths are relative to the spec's folder".into()),
                )
            })?
        }
        (None, Some(values)) if !values.get_ref().is_empty() => {
            values.get_ref().iter().map(toml_to_json).collect()
        }
        (None, Some(values)) => {
            return Err(cx.err(
                values.span(),
                "`values` is empty",
                Some("give at least one value".into()),
            ));
        }
        (Some(_), Some(v)) => {
            return Err(cx.err(
                v.span(),
                "data source has both `file` and `values`",
                Some("use one of them".into()),
            ));
        }
        (None, None) => {
            return Err(cx.err(
                raw.span(),
                format!("data `{}` has neither `file` nor `values`", key.get_ref()),
                Some("e.g. { file = \"queries.txt\" } or { values = [\"a\", \"b\"] }".into()),
            ));
        }
    };
    let seed = match &d.seed {
        Some(s) if *s.get_ref() < 0 => {
            return Err(cx.err(s.span(), "`seed` must not be negative", None));
        }
        Some(s) => *s.get_ref() as u64,
        None => 1,
    };
    let pick = match d.pick.as_ref().map(|p| (p.get_ref().as_str(), p.span())) {
        None | Some(("round-robin", _)) => Pick::RoundRobin,
        Some(("random", _)) => Pick::Random { seed },
        Some((other, span)) => {
            return Err(cx.err(
                span,
                format!("unknown pick {other:?}"),
                Some("pick = \"round-robin\" (default) or \"random\" (seeded by `seed`)".into()),
            ));
        }
    };
    Ok(DataSource {
        name: key.get_ref().clone(),
        rows: rows.into(),
        pick,
    })
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

fn convert_target(cx: &Cx, raw: &S<RawTarget>, dir: &Path) -> R<Target> {
    let t = raw.get_ref();
    let ready = Readiness {
        path: match &t.ready {
            Some(p) if !p.get_ref().starts_with('/') => {
                return Err(cx.err(
                    p.span(),
                    "`ready` must be a path starting with `/`",
                    Some("e.g. ready = \"/health\"".into()),
                ));
            }
            Some(p) => Some(p.get_ref().clone()),
            None => None,
        },
        timeout: match &t.ready_timeout {
            Some(v) => cx.duration(v, "ready-timeout")?,
            None => Duration::from_secs(30),
        },
    };
    match (&t.command, &t.url) {
        (Some(cmd), None) => {
            if let Some(a) = &t.allow_remote {
                return Err(cx.err(a.span(), "`allow-remote` applies to `url` targets", Some("a started command is always reached on 127.0.0.1".into())));
            }
            if cmd.get_ref().is_empty() {
                return Err(cx.err(cmd.span(), "`command` is empty", Some("e.g. command = [\"{bin:my-service}\", \"--port\", \"{port}\"]".into())));
            }
            let argv = cmd.get_ref().iter().map(|a| arg_parts(cx, a)).collect::<R<Vec<_>>>()?;
            let env = t.env.iter().map(|(k, v)| Ok((k.get_ref().clone(), arg_parts(cx, v)?))).collect::<R<Vec<_>>>()?;
            let cwd = match &t.cwd {
                Some(c) => dir.join(c.get_ref()),
                None => dir.to_path_buf(),
            };
            let stop_timeout = match &t.stop_timeout {
                Some(v) => cx.duration(v, "stop-timeout")?,
                None => Duration::from_secs(5),
            };
            Ok(Target::Command(CommandTarget { argv, env, cwd, ready, stop_timeout }))
        }
        (None, Some(url)) => {
            for (key, span) in [("env", t.env.first().map(|(k, _)| k.span())), ("cwd", t.cwd.as_ref().map(S::span)), ("stop-timeout", t.stop_timeout.as_ref().map(S::span))] {
                if let Some(span) = span {
                    return Err(cx.err(span, format!("`{key}` applies to `command` targets"), Some("a `url` target is already running; perfspec does not start it".into())));
                }
            }
            let allow_remote = t.allow_remote.as_ref().is_some_and(|a| *a.get_ref());
            let (host, port, base_path) = parse_url(url.get_ref()).map_err(|e| cx.err(url.span(), e, Some("e.g. url = \"http://127.0.0.1:8080\"".into())))?;
            if !allow_remote && !is_loopback_host(&host) {
                return Err(cx.err(url.span(), format!("`{host}` is not a loopback address: perfspec only loads 127.0.0.0/8, ::1 and localhost by default"), Some(
                    "to load a remote service on purpose add `allow-remote = true` to [target] (or set PERFSPEC_ALLOW_REMOTE=1)".into(),
                )));
            }
            Ok(Target::Url(UrlTarget { host, port, base_path, allow_remote, ready }))
        }
        (Some(cmd), Some(url)) => Err(cx.err(url.span().start.min(cmd.span().start)..url.span().end.max(cmd.span().end), "[target] has both `command` and `url`", Some("use `command` to start the service, or `url` to reach one that runs already".into()))),
        (None, None) => Err(cx.err(raw.span(), "[target] needs `command` or `url`", Some(
            "e.g. command = [\"{bin:my-service}\", \"--port\", \"{port}\"] or url = \"http://127.0.0.1:8080\"".into(),
        ))),
    }
}

/// Splits an argument into text, `{port}` and `{bin:NAME}`.
fn arg_parts(cx: &Cx, arg: &S<String>) -> R<Vec<ArgPart>> {
    let text = arg.get_ref();
    let mut parts = Vec::new();
    let mut rest = 0;
    while let Some(open) = text[rest..].find('{').map(|i| rest + i) {
        let Some(close) = text[open..].find('}').map(|i| open + i) else {
            break;
        };
        let inner = &text[open + 1..close];
        let looks_like_placeholder = !inner.is_empty()
            && inner
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_' | '.'));
        if !looks_like_placeholder {
            // Braces that are not placeholders (JSON in an argument) stay as written.
            parts.push(ArgPart::Lit(text[rest..=open].to_string()));
            rest = open + 1;
            continue;
        }
        if open > rest {
            parts.push(ArgPart::Lit(text[rest..open].to_string()));
        }
        let span = cx.inner_span(arg.span(), open..close + 1);
        match inner.split_once(':') {
            None if inner == "port" => parts.push(ArgPart::Port),
            Some(("bin", name)) if !name.is_empty() => parts.push(ArgPart::Bin { name: name.to_string(), span }),
            _ => return Err(cx.err(span, format!("unknown placeholder `{{{inner}}}`"), Some("placeholders in a command are {port} (a free port) and {bin:NAME} (a binary of this workspace)".into()))),
        }
        rest = close + 1;
    }
    if rest < text.len() {
        parts.push(ArgPart::Lit(text[rest..].to_string()));
    }
    Ok(parts)
}

/// `http://host[:port][/base]` into its parts.
fn parse_url(url: &str) -> Result<(String, u16, String), String> {
    let rest = match url.split_once("://") {
        Some(("http", rest)) => rest,
        Some(("https", _)) => {
            return Err(format!(
                "`{url}`: https is not supported; perfspec speaks HTTP/1.1 over plain TCP to loopback services"
            ));
        }
        _ => return Err(format!("`{url}` is not an http:// URL")),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("`{url}`: unclosed `[` in the host"))?;
        (h.to_string(), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(format!("`{url}` has no host"));
    }
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| format!("`{url}`: port `{p}` is not a number from 1 to 65535"))?,
        None => 80,
    };
    if port == 0 {
        return Err(format!("`{url}`: port 0 cannot be reached"));
    }
    if path.contains(['?', '#']) {
        return Err(format!(
            "`{url}`: the base URL may not have a query or fragment"
        ));
    }
    Ok((host, port, path.trim_end_matches('/').to_string()))
}

/// Loopback by name or address: `localhost`, 127.0.0.0/8, ::1.
pub fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn convert_scenario(
    cx: &Cx,
    key: &S<String>,
    raw: &S<RawScenario>,
    requests: &[&str],
) -> R<Scenario> {
    check_name(cx, key, "scenario")?;
    let s = raw.get_ref();
    let load = convert_load(cx, &s.load)?;
    let warmup = match &s.warmup {
        Some(v) => cx.duration(v, "warmup")?,
        None => Duration::ZERO,
    };
    let iterations = match &s.iterations {
        Some(v) if *v.get_ref() < 1 => {
            return Err(cx.err(v.span(), "`iterations` must be at least 1", None));
        }
        Some(v) => Some(*v.get_ref() as u64),
        None => None,
    };
    let duration = match (&s.duration, iterations) {
        (Some(v), _) => {
            let d = cx.duration(v, "duration")?;
            if d.is_zero() {
                return Err(cx.err(v.span(), "`duration` must be longer than zero", None));
            }
            d
        }
        // Iterations alone still get a time bound: every load loop stops by itself.
        (None, Some(_)) => Duration::from_secs(600),
        (None, None) => {
            return Err(cx.err(
                key.span(),
                format!(
                    "scenario `{}` needs `duration` or `iterations`",
                    key.get_ref()
                ),
                Some("e.g. duration = \"20s\" (measured time after the warm-up)".into()),
            ));
        }
    };
    let graceful_stop = match &s.graceful_stop {
        Some(v) => cx.duration(v, "graceful-stop")?,
        None => Duration::from_secs(5),
    };
    let mut assertions = Vec::new();
    for a in &s.assert {
        let parsed = Assertion::parse(a.get_ref(), requests)
            .map_err(|e| cx.err(cx.inner_span(a.span(), e.range), e.message, e.help))?;
        assertions.push(parsed);
    }
    Ok(Scenario {
        name: key.get_ref().clone(),
        load,
        warmup,
        duration,
        iterations,
        graceful_stop,
        ignore: s.ignore,
        assertions,
    })
}

fn convert_load(cx: &Cx, raw: &S<RawLoad>) -> R<Load> {
    let l = raw.get_ref();
    match l.model.get_ref().as_str() {
        "closed" => {
            let users = match &l.users {
                None => {
                    return Err(cx.err(
                        raw.span(),
                        "the closed model needs `users`",
                        Some("e.g. load = { model = \"closed\", users = 10 }".into()),
                    ));
                }
                Some(u) if !(1..=100_000).contains(u.get_ref()) => {
                    return Err(cx.err(
                        u.span(),
                        format!("`users` must be between 1 and 100000, not {}", u.get_ref()),
                        None,
                    ));
                }
                Some(u) => *u.get_ref() as u32,
            };
            let ramp_up = match &l.ramp_up {
                Some(v) => cx.duration(v, "ramp-up")?,
                None => Duration::ZERO,
            };
            let think = match &l.think_time {
                None => Think::Fixed(Duration::ZERO),
                Some(v) => parse_think(v.get_ref()).map_err(|e| {
                    cx.err(
                        v.span(),
                        format!("`think-time`: {e}"),
                        Some("a duration (\"200ms\") or a range (\"100ms..500ms\")".into()),
                    )
                })?,
            };
            Ok(Load::Closed(Closed {
                users,
                ramp_up,
                think,
            }))
        }
        other => Err(cx.err(
            l.model.span(),
            format!("unknown load model {other:?}"),
            Some("models: \"closed\" (users that wait for each response)".into()),
        )),
    }
}

fn parse_think(text: &str) -> Result<Think, String> {
    match text.split_once("..") {
        None => Ok(Think::Fixed(parse_duration(text)?)),
        Some((a, b)) => {
            let (a, b) = (parse_duration(a.trim())?, parse_duration(b.trim())?);
            if a > b {
                return Err(format!("range {text:?} runs backwards"));
            }
            Ok(Think::Uniform(a, b))
        }
    }
}
