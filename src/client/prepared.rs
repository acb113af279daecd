//! A spec request compiled for sending: static parts built once, templates rendered per call.

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
    /// Timeout of one call.
    pub timeout: Duration,
    /// What success looks like.
    pub expect: Expect,
    /// Read the response as an event stream.
    pub stream: Option<StreamSpec>,
    method: Method,
    base_path: String,
    path: Template,
    query: Vec<(String, Template)>,
    headers: HeaderMap,
    dynamic_headers: Vec<(HeaderName, Template)>,
    body: Option<Template>,
    static_uri: Option<Uri>,
    static_body: Option<Bytes>,
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
        let mut p = Prepared {
            name: r.name.clone(),
            sources,
            timeout: r.timeout,
            expect: r.expect.clone(),
            stream: r.stream.clone(),
            method: r.method.clone(),
            base_path: base_path.to_string(),
            path: r.path.clone(),
            query: r.query.clone(),
            headers,
            dynamic_headers,
            body,
            static_uri: None,
            static_body: None,
        };
        if p.path.is_static() && p.query.iter().all(|(_, t)| t.is_static()) {
            p.static_uri = p.uri(&[]).ok();
        }
        if let Some(b) = p.body.as_ref().filter(|b| b.is_static()) {
            p.static_body = Some(Bytes::from(b.render_string(&[])));
        }
        p
    }

    fn uri(&self, rows: &[Option<&Value>]) -> Result<Uri, BuildError> {
        let mut s = String::with_capacity(64);
        s.push_str(&self.base_path);
        self.path.render(rows, &mut s);
        for (i, (k, v)) in self.query.iter().enumerate() {
            s.push(if i == 0 { '?' } else { '&' });
            s.push_str(&crate::template::percent_encode(k, false));
            s.push('=');
            v.render(rows, &mut s);
        }
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
