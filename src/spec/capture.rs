//! What a flow step captures from a response (`capture = { NAME = { … } }`): a JSON pointer
//! into the body, a header, a regular expression on the body, or the assembled text of a
//! streamed reply.

use super::Request;
use super::cx::{Cx, R, check_name};
use super::flow::json_pointer;
use super::raw::{RawCapture, S};

/// Where a capture reads.
#[derive(Debug, Clone, PartialEq)]
pub enum CaptureFrom {
    /// A JSON pointer (RFC 6901) into the JSON body: `json = "/token"`.
    Json(String),
    /// A response header (lower case): `header = "Location"`.
    Header(String),
    /// A regular expression on the body: its first group, or the whole match without one:
    /// `regex = "id=(\\d+)"`.
    Regex(Pattern),
    /// The text of a streamed reply (content deltas joined): `stream = "text"`.
    StreamText,
}

/// A compiled regular expression (compared by its text).
#[derive(Debug, Clone)]
pub struct Pattern(pub regex::Regex);

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Pattern {
    /// The first group of the first match in `text`, or the whole match without groups.
    pub fn find<'t>(&self, text: &'t str) -> Option<&'t str> {
        let c = self.0.captures(text)?;
        c.get(1).or_else(|| c.get(0)).map(|m| m.as_str())
    }
}

const CAPTURE_HELP: &str = "capture = { token = { json = \"/token\" } }, { next = { header = \"Location\" } }, { id = { regex = \"id=(\\\\d+)\" } } or { reply = { stream = \"text\" } }";

pub(super) fn convert_capture(
    cx: &Cx,
    var: &S<String>,
    c: &S<RawCapture>,
    request: &Request,
) -> R<CaptureFrom> {
    check_name(cx, var, "capture")?;
    let raw = c.get_ref();
    let given = [
        raw.json.is_some(),
        raw.header.is_some(),
        raw.regex.is_some(),
        raw.stream.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(cx.err(
            c.span(),
            format!(
                "capture `{}` needs exactly one of `json`, `header`, `regex` and `stream`",
                var.get_ref()
            ),
            Some(CAPTURE_HELP.into()),
        ));
    }
    if let Some(p) = &raw.json {
        json_pointer(cx, p)?;
        return Ok(CaptureFrom::Json(p.get_ref().clone()));
    }
    if let Some(h) = &raw.header {
        let name = h.get_ref().to_ascii_lowercase();
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(cx.err(
                h.span(),
                format!("invalid header name {:?}", h.get_ref()),
                Some("header names are tokens such as `location` (no spaces or colons)".into()),
            ));
        }
        return Ok(CaptureFrom::Header(name));
    }
    if let Some(r) = &raw.regex {
        return match regex::Regex::new(r.get_ref()) {
            Ok(re) => Ok(CaptureFrom::Regex(Pattern(re))),
            Err(e) => {
                let text = e.to_string();
                let why = text.lines().last().unwrap_or(&text).trim();
                Err(cx.err(
                    r.span(),
                    format!("invalid regular expression: {}", why.trim_start_matches("error: ")),
                    Some("the syntax is Rust's `regex` crate's; the first group is captured, e.g. regex = \"id=(\\\\d+)\"".into()),
                ))
            }
        };
    }
    let stream = raw.stream.as_ref().expect("exactly one is given");
    if stream.get_ref() != "text" {
        return Err(cx.err(
            stream.span(),
            format!("unknown stream capture {:?}", stream.get_ref()),
            Some("stream = \"text\" captures the reply's text".into()),
        ));
    }
    if request.stream.is_none() {
        return Err(cx.err(
            stream.span(),
            format!(
                "request `{}` does not stream: there is no reply text to capture",
                request.name
            ),
            Some("add stream = \"sse\" to the request, or capture with `json` or `regex`".into()),
        ));
    }
    Ok(CaptureFrom::StreamText)
}
