//! `[defaults]` and `[[request]]` into validated requests.

use std::collections::HashSet;
use std::time::Duration;

use super::convert::{Cx, R, check_name, toml_to_json};
use super::raw::{RawExpect, RawRequest, RawSpec, S};
use super::{Body, Defaults, Expect, Request, StatusMatch};
use crate::template::{Escape, Template};
use crate::units::parse_bytes;

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

pub(super) fn convert_requests(cx: &Cx, raw: &RawSpec) -> R<(Defaults, Vec<Request>)> {
    let defaults = convert_defaults(cx, raw)?;
    if raw.request.is_empty() {
        return Err(cx.err(0..0, "the spec has no requests", Some(
            "add at least one [[request]] with `name` and `path`, e.g.\n[[request]]\nname = \"health\"\npath = \"/health\"".into(),
        )));
    }
    let mut seen = HashSet::new();
    let mut requests = Vec::new();
    for r in &raw.request {
        let name = &r.get_ref().name;
        if !seen.insert(name.get_ref().clone()) {
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
        defaults.timeout = positive(cx, t, "timeout")?;
    }
    if let Some(m) = &d.max_body {
        let bytes = parse_bytes(m.get_ref())
            .map_err(|e| cx.err(m.span(), format!("`max-body`: {e}"), None))?;
        if bytes < 1.0 {
            return Err(cx.err(m.span(), "`max-body` must be at least 1 byte", None));
        }
        defaults.max_body = bytes as u64;
    }
    defaults.headers = headers(cx, &d.headers)?;
    Ok(defaults)
}

fn positive(cx: &Cx, v: &S<String>, key: &str) -> R<Duration> {
    let d = cx.duration(v, key)?;
    if d.is_zero() {
        return Err(cx.err(v.span(), format!("`{key}` must be longer than zero"), None));
    }
    Ok(d)
}

fn headers(cx: &Cx, raw: &indexmap::IndexMap<S<String>, S<String>>) -> R<Vec<(String, Template)>> {
    raw.iter()
        .map(|(k, v)| {
            if http::HeaderName::from_bytes(k.get_ref().as_bytes()).is_err() {
                return Err(cx.err(
                    k.span(),
                    format!("invalid header name {:?}", k.get_ref()),
                    Some("header names are tokens such as `x-api-key`".into()),
                ));
            }
            let t = Template::compile(v.get_ref(), Escape::Text, cx)
                .map_err(|e| cx.template_err(v.span(), e))?;
            if t.is_static() && http::HeaderValue::from_str(&t.render_string(&[])).is_err() {
                return Err(cx.err(
                    v.span(),
                    "invalid header value",
                    Some("header values are visible ASCII without line breaks".into()),
                ));
            }
            Ok((k.get_ref().to_ascii_lowercase(), t))
        })
        .collect()
}

fn convert_request(cx: &Cx, r: &RawRequest, defaults: &Defaults) -> R<Request> {
    check_name(cx, &r.name, "request")?;
    let name = r.name.get_ref();
    if RESERVED.contains(&name.as_str()) || crate::assertion::Stat::parse(name).is_some() {
        return Err(cx.err(
            r.name.span(),
            format!("`{name}` is reserved: it names a metric"),
            Some("pick another request name, e.g. `get-{name}`".into()),
        ));
    }
    let method =
        match &r.method {
            None => http::Method::GET,
            Some(m) => {
                let text = m.get_ref();
                let valid = !text.is_empty() && text.chars().all(|c| c.is_ascii_uppercase());
                match http::Method::from_bytes(text.as_bytes()) {
                    Ok(method) if valid => method,
                    _ => return Err(cx.err(
                        m.span(),
                        format!("invalid method {text:?}"),
                        Some(
                            "methods are upper case: GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"
                                .into(),
                        ),
                    )),
                }
            }
        };
    if !r.path.get_ref().starts_with('/') {
        return Err(cx.err(
            r.path.span(),
            "`path` must start with `/`",
            Some("e.g. path = \"/search\"; the host comes from [target]".into()),
        ));
    }
    if r.path.get_ref().contains(['?', '#']) {
        return Err(cx.err(
            r.path.span(),
            "`path` may not contain `?` or `#`",
            Some("put query parameters in `query = { q = \"...\" }`".into()),
        ));
    }
    let path = Template::compile(r.path.get_ref(), Escape::Path, cx)
        .map_err(|e| cx.template_err(r.path.span(), e))?;
    let query = r
        .query
        .iter()
        .map(|(k, v)| {
            let text = match v.get_ref() {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => {
                    v.get_ref().to_string()
                }
                _ => {
                    return Err(cx.err(
                        v.span(),
                        "query values are strings, numbers or booleans",
                        None,
                    ));
                }
            };
            let t = Template::compile(&text, Escape::Query, cx)
                .map_err(|e| cx.template_err(v.span(), e))?;
            Ok((k.get_ref().clone(), t))
        })
        .collect::<R<Vec<_>>>()?;
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
                .map_err(|e| cx.err(j.span(), e.message, e.help))?,
        ),
        (None, Some(b)) => Body::Raw(
            Template::compile(b.get_ref(), Escape::Text, cx)
                .map_err(|e| cx.template_err(b.span(), e))?,
        ),
        (None, None) => Body::Empty,
    };
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
        Some(t) => positive(cx, t, "timeout")?,
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

fn convert_expect(cx: &Cx, e: &RawExpect) -> R<Expect> {
    const HELP: &str = "status = 200, status = [200, 204] or status = \"2xx\"";
    let status = match &e.status {
        None => StatusMatch::Class(2),
        Some(s) => {
            let code = |v: &toml::Value| match v {
                toml::Value::Integer(i) if (100..=599).contains(i) => Ok(*i as u16),
                _ => Err(cx.err(
                    s.span(),
                    format!("invalid status {v}"),
                    Some(format!("status codes are 100 to 599: {HELP}")),
                )),
            };
            match s.get_ref() {
                toml::Value::String(class) => match class.as_bytes() {
                    [c @ b'1'..=b'5', b'x', b'x'] => StatusMatch::Class(u16::from(c - b'0')),
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
                other => StatusMatch::Codes(vec![code(other)?]),
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
