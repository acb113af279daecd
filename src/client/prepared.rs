//! A spec request compiled for sending: static parts built once, templates rendered per call.
//! For HTTP/1.1 the request bytes of a request without placeholders are built once and
//! written as they are; one with placeholders is rendered into the user's reusable buffers.

use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use http_body_util::Full;
use serde_json::Value;

use crate::spec::{Body, Expect, Request, StreamSpec};
use crate::template::Template;

/// A request ready to be sent to one endpoint.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// Name in reports.
    pub name: String,
    /// Data sources drawn for each call.
    pub sources: Vec<usize>,
    /// Whether a template reads user variables (`{{user.NAME}}`, set by flow captures).
    pub user_vars: bool,
    /// Timeout of one call.
    pub timeout: Duration,
    /// What success looks like.
    pub expect: Expect,
    /// Read the response as an event stream.
    pub stream: Option<StreamSpec>,
    /// Keep the response body (for whoever reads it after the exchange); off by default, so
    /// plain requests only count their bytes.
    pub retain_body: bool,
    /// Response headers kept (lower case), for flow captures; none by default.
    pub keep_headers: Vec<String>,
    /// Assemble the text of a streamed reply (a chat turn of a flow needs it); off by default.
    pub keep_text: bool,
    /// A HEAD request: its response has no body whatever its headers say.
    pub head: bool,
    /// Safe to send again (RFC 9110 §9.2.2): a request that found its kept-alive connection
    /// closed by the server is resent once on a new one.
    pub idempotent: bool,
    method: Method,
    host: String,
    base_path: String,
    path: Template,
    query: Vec<(String, Template)>,
    headers: HeaderMap,
    dynamic_headers: Vec<(HeaderName, Template)>,
    body: Option<Template>,
    static_uri: Option<Uri>,
    static_body: Option<Bytes>,
    /// The static header lines of HTTP/1.1 (`name: value\r\n`…), Host first.
    h1_headers: String,
    /// Whether a `content-length` line is written (a body, or a method that carries one).
    h1_length: bool,
    /// The whole HTTP/1.1 request, when nothing in it varies.
    h1_static: Option<Box<[u8]>>,
}

/// A user's buffers for rendering requests with placeholders, reused from one request to the
/// next.
#[derive(Debug, Default)]
pub(crate) struct RequestBuf {
    /// The request being assembled.
    head: Vec<u8>,
    /// One rendered template at a time.
    text: String,
}

/// Why a request could not be built (a data row produced an invalid URI or header).
#[derive(Debug)]
pub(crate) struct BuildError;

impl Prepared {
    /// Compiles `r` for an endpoint with `host` (the Host header) and a base path prefix.
    pub fn new(r: &Request, host: &str, base_path: &str) -> Prepared {
        let mut headers = HeaderMap::new();
        let mut dynamic_headers = Vec::new();
        if let Ok(h) = HeaderValue::from_str(host) {
            headers.insert(HOST, h);
        }
        if matches!(r.body, Body::Json(_)) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        for (name, value) in &r.headers {
            // Names and static values were validated with the spec.
            let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
                continue;
            };
            if value.is_static() {
                if let Ok(v) = HeaderValue::from_str(&value.render_string(&[])) {
                    headers.insert(name, v);
                }
            } else {
                headers.remove(&name);
                dynamic_headers.push((name, value.clone()));
            }
        }
        let body = match &r.body {
            Body::Empty => None,
            Body::Json(t) | Body::Raw(t) => Some(t.clone()),
        };
        let mut sources: Vec<usize> = r
            .path
            .sources()
            .chain(r.query.iter().flat_map(|(_, t)| t.sources()))
            .chain(dynamic_headers.iter().flat_map(|(_, t)| t.sources()))
            .chain(body.iter().flat_map(|t| t.sources()))
            .collect();
        sources.sort_unstable();
        sources.dedup();
        let user_vars = r.path.user_vars().next().is_some()
            || r.query.iter().any(|(_, t)| t.user_vars().next().is_some())
            || dynamic_headers
                .iter()
                .any(|(_, t)| t.user_vars().next().is_some())
            || body.iter().any(|t| t.user_vars().next().is_some());
        let mut p = Prepared {
            name: r.name.clone(),
            sources,
            user_vars,
            timeout: r.timeout,
            expect: r.expect.clone(),
            stream: r.stream.clone(),
            retain_body: false,
            keep_headers: Vec::new(),
            keep_text: false,
            head: r.method == Method::HEAD,
            idempotent: r.method.is_idempotent(),
            method: r.method.clone(),
            host: host.to_string(),
            base_path: base_path.to_string(),
            path: r.path.clone(),
            query: r.query.clone(),
            headers,
            dynamic_headers,
            body,
            static_uri: None,
            static_body: None,
            h1_headers: String::new(),
            h1_length: false,
            h1_static: None,
        };
        if p.path.is_static() && p.query.iter().all(|(_, t)| t.is_static()) {
            p.static_uri = p.uri(&[]).ok();
        }
        if let Some(b) = p.body.as_ref().filter(|b| b.is_static()) {
            p.static_body = Some(Bytes::from(b.render_string(&[])));
        }
        p.prepare_h1();
        p
    }

    /// A `GET path` to `host` (the readiness probe).
    pub fn get(path: &str, host: &str, timeout: Duration) -> Prepared {
        let request = Request {
            name: "ready".into(),
            method: Method::GET,
            path: Template::literal(path),
            query: Vec::new(),
            headers: Vec::new(),
            body: Body::Empty,
            weight: 1,
            timeout,
            expect: Expect {
                status: crate::spec::StatusMatch::Class(2),
                body_contains: None,
                json: Vec::new(),
            },
            stream: None,
        };
        Prepared::new(&request, host, "")
    }

    /// Builds what HTTP/1.1 writes the same way every time.
    fn prepare_h1(&mut self) {
        let mut lines = String::new();
        // Host first, as clients customarily send it.
        for (name, value) in std::iter::once(HOST)
            .filter_map(|h| Some((h.clone(), self.headers.get(&h)?)))
            .chain(
                self.headers
                    .iter()
                    .filter(|(n, _)| **n != HOST)
                    .map(|(n, v)| (n.clone(), v)),
            )
        {
            if let Ok(v) = value.to_str() {
                lines.push_str(name.as_str());
                lines.push_str(": ");
                lines.push_str(v);
                lines.push_str("\r\n");
            }
        }
        let framed = [
            http::header::CONTENT_LENGTH,
            http::header::TRANSFER_ENCODING,
        ]
        .iter()
        .any(|h| self.headers.contains_key(h) || self.dynamic_headers.iter().any(|(n, _)| n == h));
        let carries_body = !matches!(
            self.method,
            Method::GET
                | Method::HEAD
                | Method::DELETE
                | Method::OPTIONS
                | Method::TRACE
                | Method::CONNECT
        );
        self.h1_length = !framed && (self.body.is_some() || carries_body);
        self.h1_headers = lines;
        if self.static_uri.is_some()
            && self.dynamic_headers.is_empty()
            && (self.body.is_none() || self.static_body.is_some())
        {
            let mut buf = RequestBuf::default();
            if let Ok(bytes) = self.h1_bytes(&[], &mut buf) {
                self.h1_static = Some(bytes.into());
            }
        }
    }

    /// The HTTP/1.1 request for the drawn rows: the prepared bytes when nothing varies, else
    /// rendered into `buf`.
    pub fn h1_bytes<'a>(
        &'a self,
        rows: &[Option<&Value>],
        buf: &'a mut RequestBuf,
    ) -> Result<&'a [u8], BuildError> {
        if let Some(bytes) = &self.h1_static {
            return Ok(bytes);
        }
        let RequestBuf { head, text } = buf;
        head.clear();
        head.extend_from_slice(self.method.as_str().as_bytes());
        head.push(b' ');
        text.clear();
        match &self.static_uri {
            Some(u) => text.push_str(u.path_and_query().map_or("/", |p| p.as_str())),
            None => self.render_target(rows, text),
        }
        // What a URI may hold: visible ASCII (templates percent-encode their values).
        if !text.bytes().all(|b| (0x21..0x7f).contains(&b)) {
            return Err(BuildError);
        }
        head.extend_from_slice(text.as_bytes());
        head.extend_from_slice(b" HTTP/1.1\r\n");
        head.extend_from_slice(self.h1_headers.as_bytes());
        for (name, t) in &self.dynamic_headers {
            text.clear();
            t.render(rows, text);
            // What a header value may hold (as `HeaderValue::from_str`).
            if !text
                .bytes()
                .all(|b| (0x20..0x7f).contains(&b) || b == b'\t')
            {
                return Err(BuildError);
            }
            head.extend_from_slice(name.as_str().as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(text.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        text.clear();
        let payload: &[u8] = match (&self.static_body, &self.body) {
            (Some(b), _) => b,
            (None, Some(t)) => {
                t.render(rows, text);
                text.as_bytes()
            }
            (None, None) => &[],
        };
        if self.h1_length {
            head.extend_from_slice(b"content-length: ");
            head.extend_from_slice(itoa(payload.len(), &mut [0; 20]).as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"\r\n");
        head.extend_from_slice(payload);
        Ok(head)
    }

    /// The request for HTTP/2: an absolute URI (`scheme://host/path`) and no Host header
    /// (`:authority` says it).
    pub fn build_h2(
        &self,
        rows: &[Option<&Value>],
        scheme: &str,
    ) -> Result<http::Request<Full<Bytes>>, BuildError> {
        let mut req = self.build(rows)?;
        let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
        *req.uri_mut() =
            Uri::try_from(format!("{scheme}://{}{path}", self.host)).map_err(|_| BuildError)?;
        req.headers_mut().remove(HOST);
        Ok(req)
    }

    fn render_target(&self, rows: &[Option<&Value>], s: &mut String) {
        s.push_str(&self.base_path);
        self.path.render(rows, s);
        for (i, (k, v)) in self.query.iter().enumerate() {
            s.push(if i == 0 { '?' } else { '&' });
            s.push_str(&crate::template::percent_encode(k, false));
            s.push('=');
            v.render(rows, s);
        }
    }

    fn uri(&self, rows: &[Option<&Value>]) -> Result<Uri, BuildError> {
        let mut s = String::with_capacity(64);
        self.render_target(rows, &mut s);
        Uri::try_from(s).map_err(|_| BuildError)
    }

    /// Builds the HTTP request for the drawn rows.
    pub fn build(&self, rows: &[Option<&Value>]) -> Result<http::Request<Full<Bytes>>, BuildError> {
        let uri = match &self.static_uri {
            Some(u) => u.clone(),
            None => self.uri(rows)?,
        };
        let body = match (&self.static_body, &self.body) {
            (Some(b), _) => b.clone(),
            (None, Some(t)) => Bytes::from(t.render_string(rows)),
            (None, None) => Bytes::new(),
        };
        let mut req = http::Request::new(Full::new(body));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = uri;
        *req.headers_mut() = self.headers.clone();
        for (name, t) in &self.dynamic_headers {
            let v = HeaderValue::from_str(&t.render_string(rows)).map_err(|_| BuildError)?;
            req.headers_mut().insert(name.clone(), v);
        }
        Ok(req)
    }

    /// The body rendered as text (a component's input).
    pub fn body_text(&self, rows: &[Option<&Value>]) -> String {
        match (&self.static_body, &self.body) {
            (Some(b), _) => String::from_utf8_lossy(b).into_owned(),
            (None, Some(t)) => t.render_string(rows),
            (None, None) => String::new(),
        }
    }
}

/// `n` in decimal, without allocating.
fn itoa(mut n: usize, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}
