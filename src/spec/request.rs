//! `[defaults]` and `[[request]]` into validated requests.

use std::time::Duration;

use super::cx::{Cx, R, check_name, closest, toml_to_json};
use super::expect::{convert_expect, headers};
use super::raw::{RawRequest, RawSpec, S};
use super::{Body, Defaults, Expect, Request, StatusMatch, StreamSpec};
use crate::template::{Escape, Template, TemplateError};
use crate::units::{BYTES_HELP, parse_bytes};

/// Words that are metrics or statistics: a request with such a name would make assertions
/// ambiguous.
const RESERVED: &[&str] = &[
    "all",
    "latency",
    "error-rate",
    "errors",
    "throughput",
    "requests",
    "min",
    "mean",
    "avg",
    "stdev",
    "max",
    "median",
];
/// Methods a request may use.
const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE",
];

/// `component`: the target is an in-process component, whose requests are only an input.
pub(super) fn convert_requests(
    cx: &Cx,
    raw: &RawSpec,
    component: bool,
) -> R<(Defaults, Vec<Request>)> {
    let defaults = convert_defaults(cx, raw)?;
    if raw.request.is_empty() {
        return Err(cx.err(0..0, "the spec has no requests", Some(
            "add at least one [[request]] with `name` and `path`, e.g. [[request]] name = \"health\" path = \"/health\"".into(),
        )));
    }
    let mut requests: Vec<Request> = Vec::new();
    for r in &raw.request {
        let name = &r.get_ref().name;
        if requests.iter().any(|q| q.name == *name.get_ref()) {
            return Err(cx.err(
                name.span(),
                format!("duplicate request name `{}`", name.get_ref()),
                Some(
                    "each request needs its own name (it scopes assertions such as `search.p99`)"
                        .into(),
                ),
            ));
        }
        if component {
            component_only(cx, r.get_ref())?;
        }
        requests.push(convert_request(cx, r.get_ref(), &defaults, component)?);
    }
    Ok((defaults, requests))
}

fn convert_defaults(cx: &Cx, raw: &RawSpec) -> R<Defaults> {
    let mut defaults = Defaults {
        timeout: Duration::from_secs(10),
        headers: Vec::new(),
        max_body: 10 * 1024 * 1024,
    };
    let Some(d) = &raw.defaults else {
        return Ok(defaults);
    };
    let d = d.get_ref();
    if let Some(t) = &d.timeout {
        defaults.timeout = cx.positive(t, "timeout")?;
    }
    if let Some(m) = &d.max_body {
        let bytes = parse_bytes(m.get_ref()).map_err(|e| {
            cx.err(
                m.span(),
                format!("`max-body`: {e}"),
                Some(format!("{BYTES_HELP}, e.g. max-body = \"10MiB\"")),
            )
        })?;
        if bytes < 1.0 {
            return Err(cx.err(m.span(), "`max-body` must be at least 1 byte", None));
        }
        defaults.max_body = bytes as u64;
    }
    defaults.headers = headers(cx, &d.headers)?;
    Ok(defaults)
}

fn convert_method(cx: &Cx, m: &S<String>) -> R<http::Method> {
    let text = m.get_ref();
    if METHODS.contains(&text.as_str()) {
        return Ok(http::Method::from_bytes(text.as_bytes()).expect("listed methods are valid"));
    }
    let hint = if METHODS.contains(&text.to_ascii_uppercase().as_str()) {
        format!("methods are upper case: `{}`; ", text.to_ascii_uppercase())
    } else {
        closest(text, METHODS.iter().copied())
            .map_or(String::new(), |c| format!("did you mean `{c}`? "))
    };
    Err(cx.err(
        m.span(),
        format!("unknown method {text:?}"),
        Some(format!("{hint}methods: {}", METHODS.join(", "))),
    ))
}

fn convert_path(cx: &Cx, p: &S<String>) -> R<Template> {
    let text = p.get_ref();
    if !text.starts_with('/') {
        return Err(cx.err(
            p.span(),
            "`path` must start with `/`",
            Some("e.g. path = \"/search\"; the host comes from [target]".into()),
        ));
    }
    if text.contains(['?', '#']) {
        return Err(cx.err(
            p.span(),
            "`path` may not contain `?` or `#`",
            Some("put query parameters in `query = { q = \"...\" }`".into()),
        ));
    }
    let t = Template::compile(text, Escape::Path, cx).map_err(|e| cx.template_err(p, e))?;
    if text
        .replace("{{", "")
        .replace("}}", "")
        .contains(['{', '}'])
    {
        return Err(cx.err(
            p.span(),
            format!("`path` {text:?} has single braces"),
            Some(
                "single braces are sent as written: variables are {{name}} with double braces"
                    .into(),
            ),
        ));
    }
    // Literal text is sent as written: it must already be a valid path.
    if http::uri::PathAndQuery::try_from(t.render_string(&[]).as_str()).is_err() {
        return Err(cx.err(
            p.span(),
            format!("`path` {text:?} is not a valid URL path"),
            Some(
                "percent-encode spaces and special characters in the path (a space is %20)".into(),
            ),
        ));
    }
    Ok(t)
}

fn convert_request(cx: &Cx, r: &RawRequest, defaults: &Defaults, component: bool) -> R<Request> {
    check_name(cx, &r.name, "request")?;
    let name = r.name.get_ref();
    if RESERVED.contains(&name.as_str())
        || crate::assertion::Stat::parse(name).is_some()
        || crate::assertion::Source::parse(name).is_some()
    {
        return Err(cx.err(
            r.name.span(),
            format!("`{name}` is reserved: it names a metric"),
            Some(format!("pick another request name, e.g. `get-{name}`")),
        ));
    }
    let method = match &r.method {
        None => http::Method::GET,
        Some(m) => convert_method(cx, m)?,
    };
    let path = match &r.path {
        Some(p) => convert_path(cx, p)?,
        // Component requests have no path (checked by `component_only`).
        None if component => Template::literal("/"),
        None => {
            return Err(cx.err(
                r.name.span(),
                format!("request `{name}` has no `path`"),
                Some("e.g. path = \"/search\"; the host comes from [target]".into()),
            ));
        }
    };
    let mut query = Vec::new();
    for (k, v) in &r.query {
        if k.get_ref().is_empty() || k.get_ref().contains("{{") {
            return Err(cx.err(k.span(), format!("invalid query key {:?}", k.get_ref()), Some("query keys are fixed text; variables go in values, e.g. query = { q = \"{{query}}\" }".into())));
        }
        let text = match v.get_ref() {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => {
                v.get_ref().to_string()
            }
            _ => {
                return Err(cx.err(
                    v.span(),
                    format!(
                        "query value `{}` must be a string, number or boolean",
                        k.get_ref()
                    ),
                    Some(format!("e.g. {} = \"{{{{query}}}}\"", k.get_ref())),
                ));
            }
        };
        let t = Template::compile(&text, Escape::Query, cx)
            .map_err(|e| cx.err(v.span(), e.message, e.help))?;
        query.push((k.get_ref().clone(), t));
    }
    let mut headers = defaults.headers.clone();
    for (k, v) in self::headers(cx, &r.headers)? {
        headers.retain(|(existing, _)| *existing != k);
        headers.push((k, v));
    }
    let body = match (&r.json, &r.body) {
        (Some(_), Some(b)) => {
            return Err(cx.err(
                b.span(),
                "a request has both `json` and `body`",
                Some("use `json` for a JSON body or `body` for raw text".into()),
            ));
        }
        (Some(j), None) => Body::Json(
            Template::compile_json(&toml_to_json(j.get_ref()), cx)
                .map_err(|e| json_err(cx, j, e))?,
        ),
        (None, Some(b)) => Body::Raw(
            Template::compile(b.get_ref(), Escape::Text, cx).map_err(|e| cx.template_err(b, e))?,
        ),
        (None, None) => Body::Empty,
    };
    if method == http::Method::HEAD
        && let Some(span) = r
            .json
            .as_ref()
            .map(S::span)
            .or(r.body.as_ref().map(S::span))
    {
        return Err(cx.err(
            span,
            "a HEAD request has no body",
            Some("remove the body or use another method".into()),
        ));
    }
    let weight = convert_weight(cx, &r.weight, "request")?;
    let timeout = match &r.timeout {
        Some(t) => cx.positive(t, "timeout")?,
        None => defaults.timeout,
    };
    let expect = match &r.expect {
        Some(e) => convert_expect(cx, e.get_ref())?,
        None => Expect {
            status: StatusMatch::Class(2),
            body_contains: None,
            json: Vec::new(),
        },
    };
    let stream = match (&r.stream, &r.stream_end) {
        (None, Some(e)) => {
            return Err(cx.err(
                e.span(),
                "`stream-end` applies to streamed requests",
                Some("add stream = \"sse\"".into()),
            ));
        }
        (None, None) => None,
        (Some(kind), end) => {
            if kind.get_ref() != "sse" {
                return Err(cx.err(kind.span(), format!("unknown stream {:?}", kind.get_ref()), Some("stream = \"sse\" reads the response as server-sent events (text/event-stream), e.g. LLM tokens".into())));
            }
            let end = match end.as_ref().map(|e| e.get_ref().as_str()) {
                None => Some("[DONE]".to_string()),
                Some("close") => None,
                Some("") => return Err(cx.err(end.as_ref().map_or(kind.span(), S::span), "`stream-end` is empty", Some("the data of the last event (\"[DONE]\", the default) or \"close\" (the end of the body)".into()))),
                Some(marker) => Some(marker.to_string()),
            };
            Some(StreamSpec { end })
        }
    };
    Ok(Request {
        name: name.clone(),
        method,
        path,
        query,
        headers,
        body,
        weight,
        timeout,
        expect,
        stream,
    })
}

/// A template error in a JSON body: point at the placeholder in the source when it can be found.
/// A request's or flow's (`what`) share of the mix: 1 when not given.
pub(super) fn convert_weight(cx: &Cx, w: &Option<S<i64>>, what: &str) -> R<u32> {
    match w {
        None => Ok(1),
        Some(w) if *w.get_ref() == 0 => Err(cx.err(
            w.span(),
            format!("`weight` 0 means this {what} is never sent"),
            Some(format!(
                "give it a weight of at least 1, or remove the {what}"
            )),
        )),
        Some(w) if !(1..=1_000_000).contains(w.get_ref()) => Err(cx.err(
            w.span(),
            format!(
                "`weight` must be between 1 and 1000000, not {}",
                w.get_ref()
            ),
            None,
        )),
        Some(w) => Ok(*w.get_ref() as u32),
    }
}

fn json_err(cx: &Cx, j: &S<toml::Value>, e: TemplateError) -> crate::spec::Diagnostic {
    let source = cx.text.get(j.span()).unwrap_or("");
    let placeholder = e
        .message
        .split('`')
        .nth(1)
        .map(|name| format!("{{{{{name}"));
    let span = placeholder
        .and_then(|p| source.find(&p))
        .map(|at| {
            let start = j.span().start + at;
            let end = source[at..]
                .find("}}")
                .map_or(start + 2, |i| j.span().start + at + i + 2);
            start..end
        })
        .unwrap_or(j.span());
    cx.err(span, e.message, e.help)
}

/// A component takes its input from `json` (or `body`); HTTP keys mean nothing to it.
fn component_only(cx: &Cx, r: &RawRequest) -> R<()> {
    let http_keys = [
        ("path", r.path.as_ref().map(S::span)),
        ("method", r.method.as_ref().map(S::span)),
        ("query", r.query.first().map(|(k, _)| k.span())),
        ("headers", r.headers.first().map(|(k, _)| k.span())),
        ("stream", r.stream.as_ref().map(S::span)),
    ];
    for (key, span) in http_keys {
        if let Some(span) = span {
            return Err(cx.err(span, format!("`{key}` applies to HTTP targets, not components"), Some(
                "a component request is its input: json = { … } (or body = \"…\"), with `name`, `weight` and `timeout`".into(),
            )));
        }
    }
    if r.expect
        .as_ref()
        .is_some_and(|e| e.get_ref().status.is_some())
    {
        return Err(cx.err(
            r.expect.as_ref().map_or(0..0, S::span),
            "`expect.status` applies to HTTP targets",
            Some("a component succeeds when it returns Ok".into()),
        ));
    }
    Ok(())
}
