//! Where and how connections are opened: TCP to the target's address (Nagle off), then TLS
//! when the target is https, each step timed as its own phase. One [`Transport`] per run,
//! shared by every user: it holds the TLS configuration (and so the session cache that lets
//! later handshakes resume) and, for HTTP/2, the shared connections.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::h2::H2Pool;
use super::response::Phases;
use super::tls;
use crate::measure::ErrorKind;
use crate::spec::{HttpVersion, Protocol};

/// How a run reaches its target.
pub(crate) struct Transport {
    addr: SocketAddr,
    tls: Option<Tls>,
    h2: Option<H2Pool>,
}

/// What a TLS connection is opened with: the configuration (its session cache shared by
/// every connection) and the server name to verify.
#[derive(Clone)]
pub(crate) struct Tls {
    /// The rustls configuration.
    pub config: Arc<ClientConfig>,
    /// The name verified and sent (SNI).
    pub name: ServerName<'static>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("name", &self.name).finish()
    }
}

impl Tls {
    /// Opens TLS over `tcp`.
    pub async fn connect(&self, tcp: TcpStream) -> io::Result<TlsStream<TcpStream>> {
        TlsConnector::from(self.config.clone())
            .connect(self.name.clone(), tcp)
            .await
    }
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("addr", &self.addr)
            .field("tls", &self.tls.is_some())
            .field("http2", &self.h2.is_some())
            .finish()
    }
}

/// Why a connection could not be opened: the kind counted, and words for people (the
/// readiness probe shows them).
#[derive(Debug)]
pub(crate) struct ConnectError {
    /// The kind counted.
    pub kind: ErrorKind,
    /// What happened.
    pub why: String,
}

impl Transport {
    /// A transport to `addr` speaking `protocol`; `host` is the server name verified when the
    /// spec names none. Fails when the TLS setup cannot be built (unreadable CA file).
    pub fn new(addr: SocketAddr, host: &str, protocol: &Protocol) -> Result<Transport, String> {
        let http2 = protocol.http == HttpVersion::Http2;
        let tls = match &protocol.tls {
            None => None,
            Some(spec) => {
                let alpn: &[u8] = if http2 { b"h2" } else { b"http/1.1" };
                Some(Tls {
                    config: tls::client_config(spec, alpn)?,
                    name: tls::server_name(spec, host)?,
                })
            }
        };
        Ok(Transport {
            addr,
            tls,
            h2: http2.then(H2Pool::new),
        })
    }

    /// The shared HTTP/2 connections, when the target speaks HTTP/2.
    pub(super) fn h2(&self) -> Option<&H2Pool> {
        self.h2.as_ref()
    }

    /// The target's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The TLS setup for a side exchange in HTTP/1.1 with the target (its `/metrics`): the
    /// target's own (CA, server name, `insecure`), asking for `http/1.1` by ALPN even where
    /// the load speaks HTTP/2; `None` for `http://`.
    pub fn tls_for_http1(&self) -> Option<Tls> {
        self.tls.as_ref().map(|t| {
            let mut config = (*t.config).clone();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            // Its own session cache: tickets from a scrape before the load would otherwise let
            // the load's first handshakes resume, and change its `tls` figures.
            config.resumption = rustls::client::Resumption::default();
            Tls {
                config: Arc::new(config),
                name: t.name.clone(),
            }
        })
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// Opens a connection, timing the TCP and TLS handshakes into `phases`.
    pub(super) async fn connect(&self, phases: &mut Phases) -> Result<Stream, ConnectError> {
        let start = Instant::now();
        let tcp = TcpStream::connect(self.addr)
            .await
            .map_err(|e| ConnectError {
                kind: ErrorKind::Connect,
                why: format!("connecting to {}: {e}", self.addr),
            })?;
        // Nagle plus delayed ACK would add ~40 ms stalls to small requests.
        tcp.set_nodelay(true).map_err(|e| ConnectError {
            kind: ErrorKind::Connect,
            why: e.to_string(),
        })?;
        let connected = Instant::now();
        phases.connect = Some(connected - start);
        let Some(tls) = &self.tls else {
            return Ok(Stream::Plain(tcp));
        };
        let stream = tls.connect(tcp).await.map_err(|e| ConnectError {
            kind: ErrorKind::Tls,
            why: format!("TLS handshake with {}: {e}", self.addr),
        })?;
        phases.tls = Some(connected.elapsed());
        let session = stream.get_ref().1;
        phases.resumed = session.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
        if self.h2.is_some() && session.alpn_protocol() != Some(b"h2") {
            return Err(ConnectError {
                kind: ErrorKind::Tls,
                why: format!(
                    "the server at {} did not agree to HTTP/2 (ALPN h2): it does not speak HTTP/2 over TLS; remove http = \"2\"",
                    self.addr
                ),
            });
        }
        Ok(Stream::Tls(Box::new(stream)))
    }
}

/// An open connection: plain TCP or TLS over TCP.
pub(crate) enum Stream {
    /// `http://`.
    Plain(TcpStream),
    /// `https://`.
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
