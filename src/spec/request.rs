//! `[defaults]` and `[[request]]` into validated requests.

use std::time::Duration;

use super::cx::{Cx, R, check_name, closest, toml_to_json};
use super::raw::{RawExpect, RawRequest, RawSpec, S};
use super::{Body, Defaults, Expect, Request, StatusMatch};
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
/// Headers perfspec sets itself.
const MANAGED_HEADERS: &[&str] = &["host", "content-length", "transfer-encoding", "connection"];

pub(super) fn convert_requests(cx: &Cx, raw: &RawSpec) -> R<(Defaults, Vec<Request>)> {
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
        requests.push(convert_request(cx, r.get_ref(), &defaults)?);
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

fn headers(cx: &Cx, raw: &indexmap::IndexMap<S<String>, S<String>>) -> R<Vec<(String, Template)>> {
    let mut out: Vec<(String, Template)> = Vec::new();
    for (k, v) in raw {
        let name = k.get_ref().to_ascii_lowercase();
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(cx.err(
                k.span(),
                format!("invalid header name {:?}", k.get_ref()),
                Some("header names are tokens such as `x-api-key` (no spaces or colons)".into()),
            ));
        }
        if MANAGED_HEADERS.contains(&name.as_str()) {
            return Err(cx.err(k.span(), format!("`{name}` is set by perfspec"), Some("the Host header comes from [target]; body length and connection handling from the request".into())));
        }
        if out.iter().any(|(n, _)| *n == name) {
            return Err(cx.err(
                k.span(),
                format!(
                    "header `{}` is set twice (header names ignore case)",
                    k.get_ref()
                ),
                Some("keep one of them".into()),
            ));
        }
        let t =
            Template::compile(v.get_ref(), Escape::Text, cx).map_err(|e| cx.template_err(v, e))?;
        if t.is_static() && http::HeaderValue::from_str(&t.render_string(&[])).is_err() {
            return Err(cx.err(
                v.span(),
                format!("invalid value for header `{}`", k.get_ref()),
                Some("header values are visible ASCII without line breaks".into()),
            ));
        }
        out.push((name, t));
    }
    Ok(out)
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

fn convert_request(cx: &Cx, r: &RawRequest, defaults: &Defaults) -> R<Request> {
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
    let path = convert_path(cx, &r.path)?;
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
    let weight = match &r.weight {
        None => 1,
        Some(w) if *w.get_ref() == 0 => {
            return Err(cx.err(
                w.span(),
                "`weight` 0 means this request is never sent",
                Some("give it a weight of at least 1, or remove the request".into()),
            ));
        }
        Some(w) if !(1..=1_000_000).contains(w.get_ref()) => {
            return Err(cx.err(
                w.span(),
                format!(
                    "`weight` must be between 1 and 1000000, not {}",
                    w.get_ref()
                ),
                None,
            ));
        }
        Some(w) => *w.get_ref() as u32,
    };
    let timeout = match &r.timeout {
        Some(t) => cx.positive(t, "timeout")?,
        None => defaults.timeout,
    };
    let expect = match &r.expect {
        Some(e) => convert_expect(cx, e.get_ref())?,
        None => Expect {
            status: StatusMatch::Class(2),
            body_contains: None,
        },
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
    })
}

/// A template error in a JSON body: point at the placeholder in the source when it can be found.
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

fn convert_expect(cx: &Cx, e: &RawExpect) -> R<Expect> {
    const HELP: &str = "status = 200, status = [200, 204] or status = \"2xx\" (classes 1xx to 5xx)";
    let status = match &e.status {
        None => StatusMatch::Class(2),
        Some(s) => {
            let code = |v: &toml::Value| match v {
                toml::Value::Integer(i) if (100..=599).contains(i) => Ok(*i as u16),
                toml::Value::Integer(i) => Err(cx.err(
                    s.span(),
                    format!("invalid status {i}"),
                    Some(format!("status codes are 100 to 599: {HELP}")),
                )),
                other => Err(cx.err(
                    s.span(),
                    format!("a status list holds codes only, not {other}"),
                    Some(
                        "e.g. status = [200, 204]; a class alone is written status = \"2xx\""
                            .into(),
                    ),
                )),
            };
            match s.get_ref() {
                toml::Value::String(class) => match class.as_bytes() {
                    [c @ b'1'..=b'5', b'x', b'x'] => StatusMatch::Class(u16::from(c - b'0')),
                    _ if class.parse::<u16>().is_ok() => {
                        return Err(cx.err(
                            s.span(),
                            format!("status codes are numbers: status = {class}"),
                            Some(HELP.into()),
                        ));
                    }
                    _ => {
                        return Err(cx.err(
                            s.span(),
                            format!("invalid status class {class:?}"),
                            Some(HELP.into()),
                        ));
                    }
                },
                toml::Value::Array(items) if !items.is_empty() => {
                    StatusMatch::Codes(items.iter().map(code).collect::<R<_>>()?)
                }
                toml::Value::Integer(_) => StatusMatch::Codes(vec![code(s.get_ref())?]),
                other => {
                    return Err(cx.err(
                        s.span(),
                        format!("invalid status {other}"),
                        Some(HELP.into()),
                    ));
                }
            }
        }
    };
    let body_contains = match &e.body_contains {
        Some(b) if b.get_ref().is_empty() => {
            return Err(cx.err(
                b.span(),
                "`body-contains` is empty",
                Some("give the text the body must contain".into()),
            ));
        }
        Some(b) => Some(b.get_ref().clone()),
        None => None,
    };
    Ok(Expect {
        status,
        body_contains,
    })
}
