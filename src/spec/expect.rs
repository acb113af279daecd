//! Headers and `expect`: what a request sends besides its body, and what success looks like.

use super::cx::{Cx, R};
use super::raw::{RawExpect, S};
use super::{Expect, StatusMatch};
use crate::template::{Escape, Template};

/// Whether a header carries credentials: its value is redacted in every artifact.
pub(crate) fn sensitive(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie" | "x-api-key" | "api-key"
    ) || n.contains("token")
        || n.contains("secret")
}

/// Headers perfspec sets itself.
const MANAGED_HEADERS: &[&str] = &["host", "content-length", "transfer-encoding", "connection"];

pub(super) fn headers(
    cx: &Cx,
    raw: &indexmap::IndexMap<S<String>, S<String>>,
) -> R<Vec<(String, Template)>> {
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
        if sensitive(&name) {
            // The literal text of a credential header is a secret too: reports redact it.
            let literal = v.get_ref().trim();
            let value = literal.split_once(' ').map_or(literal, |(scheme, rest)| {
                if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("basic") {
                    rest
                } else {
                    literal
                }
            });
            if !value.contains("{{") && !value.is_empty() {
                cx.secrets.borrow_mut().push(value.to_string());
            }
        }
        out.push((name, t));
    }
    Ok(out)
}

pub(super) fn convert_expect(cx: &Cx, e: &RawExpect) -> R<Expect> {
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
        Some(b) => Some(body_text(cx, b)?),
        None => None,
    };
    let mut json = Vec::new();
    for (pointer, value) in &e.json {
        super::flow::json_pointer(cx, pointer)?;
        json.push((
            pointer.get_ref().clone(),
            super::cx::toml_to_json(value.get_ref()),
        ));
    }
    Ok(Expect {
        status,
        body_contains,
        json,
    })
}

/// The text of `body-contains`: `{{env:NAME}}` is filled in when the spec loads (and redacted
/// like every environment value). Data variables are refused: the text is one for every
/// response, whatever row its request drew.
fn body_text(cx: &Cx, b: &S<String>) -> R<String> {
    let text = b.get_ref();
    let t = Template::compile(text, Escape::Text, cx).map_err(|e| cx.template_err(b, e))?;
    if !t.is_static() {
        let open = text.find("{{").unwrap_or(0);
        let close = text[open..].find("}}").map_or(text.len(), |i| open + i + 2);
        return Err(cx.err(
            cx.inner_span(b.span(), text, open..close),
            "`body-contains` cannot use data variables",
            Some("it is one text checked against every response; {{env:NAME}} works (filled in when the spec loads)".into()),
        ));
    }
    Ok(t.render_string(&[]))
}
