//! One user's HTTP/1.1 connection: raw `hyper::client::conn::http1` over a keep-alive TCP
//! connection with Nagle off, re-established when the server closes it. No pool, no retries:
//! every failure is counted, never hidden.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use tokio::time::Instant;

use super::sse::{self, SseReader, StreamTiming};
use crate::measure::ErrorKind;
use crate::spec::{Expect, StreamSpec};

/// What a successful exchange returns.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    /// Body bytes read.
    pub bytes: u64,
    /// Stream timing and stage timings, when there were any.
    pub detail: Detail,
}

/// What a response told besides its status and size.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Detail {
    /// The timing of a streamed response.
    pub stream: Option<StreamTiming>,
    /// Stage timings from `Server-Timing` (name, µs).
    pub stages: Vec<(String, u64)>,
}

/// A user's connection to one address.
pub(crate) struct HttpUser {
    addr: SocketAddr,
    max_body: u64,
    conn: Option<SendRequest<Full<Bytes>>>,
    /// Set while a connection is being established: a timeout then is a connect failure.
    connecting: bool,
}

impl HttpUser {
    /// A user that will connect to `addr` on its first request.
    pub fn new(addr: SocketAddr, max_body: u64) -> HttpUser {
        HttpUser {
            addr,
            max_body,
            conn: None,
            connecting: false,
        }
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, ErrorKind> {
        let stream = TcpStream::connect(self.addr)
            .await
            .map_err(|_| ErrorKind::Connect)?;
        // Nagle plus delayed ACK would add ~40 ms stalls to small requests.
        stream.set_nodelay(true).map_err(|_| ErrorKind::Connect)?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|_| ErrorKind::Connect)?;
        tokio::spawn(async move {
            // Ends when the sender is dropped or the peer closes; errors surface on the sender.
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// A connection ready to send: the kept-alive one, or a new one if the server closed it.
    async fn ready(&mut self) -> Result<SendRequest<Full<Bytes>>, ErrorKind> {
        self.connecting = false;
        if let Some(mut sender) = self.conn.take() {
            // A kept-alive connection the server closed while idle is not a failed request.
            if sender.ready().await.is_ok() {
                return Ok(sender);
            }
        }
        self.connecting = true;
        let mut sender = self.connect().await?;
        sender.ready().await.map_err(|_| ErrorKind::Connect)?;
        self.connecting = false;
        Ok(sender)
    }

    /// Whether the last exchange was cut off while connecting (its future was dropped then).
    pub fn was_connecting(&self) -> bool {
        self.connecting
    }

    /// Sends `req` and reads the whole response. The connection is kept only after a clean
    /// exchange: if this future is dropped (timeout) or fails, the next call reconnects.
    pub async fn send(
        &mut self,
        req: http::Request<Full<Bytes>>,
        expect: &Expect,
        stream: Option<&StreamSpec>,
    ) -> Result<Received, ErrorKind> {
        let mut sender = self.ready().await?;
        let resp = sender.send_request(req).await.map_err(classify)?;
        let status = resp.status().as_u16();
        let ok_status = expect.status.accepts(status);
        let mut detail = Detail::default();
        for value in resp.headers().get_all("server-timing") {
            if let Ok(v) = value.to_str() {
                sse::server_timing(v, &mut detail.stages);
            }
        }
        // A stream is read as events only when the status is right and it is one.
        let event_stream = resp
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let mut reader = stream
            .filter(|_| ok_status && event_stream)
            .map(|s| SseReader::new(s.end.clone()));
        let keep = expect.body_contains.is_some();
        let mut body = resp.into_body();
        let mut bytes = 0u64;
        let mut kept = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(classify)?;
            if let Some(data) = frame.data_ref() {
                bytes += data.len() as u64;
                if bytes > self.max_body {
                    return Err(ErrorKind::BodyTooLarge);
                }
                if keep {
                    kept.extend_from_slice(data);
                }
                if let Some(r) = &mut reader {
                    r.feed(data, Instant::now())?;
                }
            }
        }
        self.conn = Some(sender);
        if !ok_status {
            return Err(ErrorKind::for_status(status));
        }
        if stream.is_some() {
            match reader {
                Some(r) => detail.stream = Some(r.finish(Instant::now())?),
                None => return Err(ErrorKind::StreamMalformed),
            }
        }
        if let Some(needle) = &expect.body_contains
            && !contains(&kept, needle.as_bytes())
        {
            return Err(ErrorKind::Expectation);
        }
        Ok(Received { bytes, detail })
    }
}

fn classify(e: hyper::Error) -> ErrorKind {
    if e.is_parse() || e.is_parse_status() {
        ErrorKind::Malformed
    } else {
        ErrorKind::Closed
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}
