//! One HTTP/1.1 exchange with a deadline, for the scraper (GET `/metrics`, over TLS when
//! the target is https) and the result push (POST to a remote-write receiver): hyper's
//! client connection over a fresh TCP connection. Neither is on the load path, so one
//! connection per exchange is enough.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;

use crate::client::Tls;

/// The largest response body read (a `/metrics` of tens of thousands of series).
pub(crate) const MAX_BODY: usize = 64 * 1024 * 1024;

/// A response: status, `Content-Type`, body.
#[derive(Debug)]
pub(crate) struct Response {
    /// The status code.
    pub status: http::StatusCode,
    /// The `Content-Type` header, when sent.
    pub content_type: Option<String>,
    /// The body.
    pub body: Bytes,
}

/// Sends `req` to `addr` (over TLS with `tls`) and reads the whole response within `timeout`;
/// the error says what went wrong in words.
pub(crate) async fn exchange(
    addr: SocketAddr,
    tls: Option<&Tls>,
    req: http::Request<Full<Bytes>>,
    timeout: Duration,
) -> Result<Response, String> {
    let work = async {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let _ = stream.set_nodelay(true);
        match tls {
            None => over(stream, addr, req).await,
            Some(tls) => {
                let stream = tls
                    .connect(stream)
                    .await
                    .map_err(|e| format!("TLS handshake with {addr} failed: {e}"))?;
                over(stream, addr, req).await
            }
        }
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(format!("no complete answer from {addr} within {timeout:?}")),
    }
}

/// The HTTP/1.1 exchange over an open connection.
async fn over<S>(
    stream: S,
    addr: SocketAddr,
    req: http::Request<Full<Bytes>>,
) -> Result<Response, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake with {addr} failed: {e}"))?;
    let driver = tokio::spawn(conn);
    let res = sender
        .send_request(req)
        .await
        .map_err(|e| format!("no HTTP response from {addr}: {e}"))?;
    let status = res.status();
    let content_type = res
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = Limited::new(res.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| format!("reading the response body from {addr} failed: {e}"))?
        .to_bytes();
    driver.abort();
    Ok(Response {
        status,
        content_type,
        body,
    })
}

/// A GET of `path` with the Host header `host`.
pub(crate) fn get(path: &str, host: &str) -> Result<http::Request<Full<Bytes>>, String> {
    http::Request::get(path)
        .header(http::header::HOST, host)
        .header(
            http::header::ACCEPT,
            "text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5,*/*;q=0.1",
        )
        .body(Full::new(Bytes::new()))
        .map_err(|e| format!("cannot build GET {path}: {e}"))
}
