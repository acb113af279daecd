//! In-process HTTP servers for perfspec's own tests and benchmarks: real sockets on
//! `127.0.0.1:0`, each on its own runtime thread so synchronous tests can use them too.

mod tls;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

pub use http::{Request, Response, StatusCode};
pub use jsonschema::Validator;
pub use tls::TestCert;

/// The body type handlers answer with.
pub type Body = BoxBody<Bytes, std::io::Error>;

/// A body holding `bytes`.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed()
}

/// A response with `status` and a text body.
pub fn text(status: u16, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(full(body));
    *r.status_mut() = StatusCode::from_u16(status).expect("test code uses valid statuses");
    r
}

/// A running server; stops when dropped.
pub struct Server {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    scheme: &'static str,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// A request handler with its type erased: hyper's HTTP/1 and HTTP/2 servers are then
/// compiled once, here, not once per closure in every test crate that starts a server (at
/// opt-level 3 that was most of the suite's build time).
type Handler = Arc<dyn Fn(Request<Incoming>) -> BoxFuture<Response<Body>> + Send + Sync + 'static>;
/// A connection handler with its type erased (see [`Handler`]).
type Conn<S> = Arc<dyn Fn(S) -> BoxFuture<()> + Send + Sync + 'static>;
/// A TLS connection handler: the stream, and whether HTTP/2 was agreed (see [`Handler`]).
type TlsConn = Arc<
    dyn Fn(tokio_rustls::server::TlsStream<TcpStream>, bool) -> BoxFuture<()>
        + Send
        + Sync
        + 'static,
>;
type BoxFuture<T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'static>>;

fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    Arc::new(move |req| Box::pin(f(req)))
}

fn conn<S, F, Fut>(f: F) -> Conn<S>
where
    F: Fn(S) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |io| Box::pin(f(io)))
}

impl Server {
    /// Serves HTTP/1.1 with `handler` on `threads` runtime threads.
    pub fn http<F, Fut>(threads: usize, handler: F) -> Server
    where
        F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<Body>> + Send + 'static,
    {
        Server::http_on(0, threads, handler)
    }

    /// [`Server::http`] on a given port of 127.0.0.1 (0 picks a free one).
    pub fn http_on<F, Fut>(port: u16, threads: usize, f: F) -> Server
    where
        F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<Body>> + Send + 'static,
    {
        Server::plain(port, threads, false, handler(f))
    }

    /// Serves HTTPS with `cert`: HTTP/2 or HTTP/1.1, as the client's ALPN asks.
    pub fn https<F, Fut>(threads: usize, cert: &TestCert, handler: F) -> Server
    where
        F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<Body>> + Send + 'static,
    {
        Server::https_on(0, threads, cert, handler)
    }

    /// [`Server::https`] on a given port of 127.0.0.1 (0 picks a free one).
    pub fn https_on<F, Fut>(port: u16, threads: usize, cert: &TestCert, f: F) -> Server
    where
        F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<Body>> + Send + 'static,
    {
        let handler = handler(f);
        Server::tls(
            port,
            threads,
            cert,
            Arc::new(move |tls, h2| Box::pin(serve(tls, h2, handler.clone()))),
        )
    }

    /// Accepts TLS connections with `cert` (ALPN offers h2, then http/1.1) and hands each to
    /// `conn` with whether HTTP/2 was agreed.
    pub fn tls_on<F, Fut>(port: u16, threads: usize, cert: &TestCert, conn: F) -> Server
    where
        F: Fn(tokio_rustls::server::TlsStream<TcpStream>, bool) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Server::tls(
            port,
            threads,
            cert,
            Arc::new(move |tls, h2| Box::pin(conn(tls, h2))),
        )
    }

    fn tls(port: u16, threads: usize, cert: &TestCert, conn: TlsConn) -> Server {
        let acceptor = tokio_rustls::TlsAcceptor::from(cert.server_config(&[b"h2", b"http/1.1"]));
        let mut server = Server::tcp_dyn(
            port,
            threads,
            Arc::new(move |stream| {
                let (acceptor, conn) = (acceptor.clone(), conn.clone());
                Box::pin(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                    conn(tls, h2).await;
                })
            }),
        );
        server.scheme = "https";
        server
    }

    /// Serves HTTP/2 with prior knowledge (h2c) over plain TCP.
    pub fn h2c<F, Fut>(threads: usize, handler: F) -> Server
    where
        F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<Body>> + Send + 'static,
    {
        Server::h2c_on(0, threads, handler)
    }

    /// [`Server::h2c`] on a given port of 127.0.0.1 (0 picks a free one).
    pub fn h2c_on<F, Fut>(port: u16, threads: usize, f: F) -> Server
    where
        F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<Body>> + Send + 'static,
    {
        Server::plain(port, threads, true, handler(f))
    }

    fn plain(port: u16, threads: usize, h2: bool, handler: Handler) -> Server {
        Server::tcp_dyn(
            port,
            threads,
            Arc::new(move |stream| Box::pin(serve(stream, h2, handler.clone()))),
        )
    }

    /// Accepts TCP connections and hands each to `conn` (for servers that misbehave below
    /// HTTP: garbage, early close, stalls).
    pub fn tcp<F, Fut>(threads: usize, conn: F) -> Server
    where
        F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Server::tcp_on(0, threads, conn)
    }

    /// [`Server::tcp`] on a given port of 127.0.0.1 (0 picks a free one).
    pub fn tcp_on<F, Fut>(port: u16, threads: usize, f: F) -> Server
    where
        F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Server::tcp_dyn(port, threads, conn(f))
    }

    fn tcp_dyn(port: u16, threads: usize, conn: Conn<TcpStream>) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .enable_all()
            .build()
            .expect("a test runtime starts");
        let std_listener =
            std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind 127.0.0.1");
        std_listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = std_listener.local_addr().expect("bound address");
        let (stop, mut stopped) = oneshot::channel::<()>();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("tokio listener");
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            counter.fetch_add(1, Ordering::Relaxed);
                            let _ = stream.set_nodelay(true);
                            tokio::spawn(conn(stream));
                        }
                    }
                }
            });
            runtime.shutdown_background();
        });
        Server {
            addr,
            accepted,
            scheme: "http",
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (`https://` for [`Server::https`]).
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serves one connection with `handler`, over HTTP/2 or HTTP/1.1.
async fn serve<S>(io: S, h2: bool, handler: Handler)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| {
        let fut = handler(req);
        async move { Ok::<_, Infallible>(fut.await) }
    });
    let io = TokioIo::new(io);
    if h2 {
        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .serve_connection(io, service)
            .await;
    } else {
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(io, service)
            .await;
    }
}

/// A body fed by a channel: frames arrive when the sender sends them.
struct ChannelBody(tokio::sync::mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|b| b.map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

/// A `text/event-stream` response whose chunks are written at the given offsets from now
/// (absolute times, so delays do not add up). Use inside a handler.
pub fn sse(chunks: Vec<(std::time::Duration, String)>) -> Response<Body> {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let start = tokio::time::Instant::now();
    tokio::spawn(async move {
        for (at, chunk) in chunks {
            tokio::time::sleep_until(start + at).await;
            if tx.send(Bytes::from(chunk)).await.is_err() {
                return;
            }
        }
    });
    let mut r = Response::new(ChannelBody(rx).boxed());
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/event-stream"),
    );
    r
}

/// OpenAI-style chat-completion chunks: a role chunk, then `tokens` content chunks, the first
/// at `ttft` and then every `gap`, a finish chunk, a usage chunk when `usage`, and `[DONE]`.
pub fn chat_stream(
    ttft: std::time::Duration,
    gap: std::time::Duration,
    tokens: u32,
    usage: bool,
) -> Vec<(std::time::Duration, String)> {
    let chunk = |delta: &str| {
        format!(
            "data: {{\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":null}}]}}\n\n"
        )
    };
    let mut out = vec![(
        std::time::Duration::ZERO,
        chunk("{\"role\":\"assistant\",\"content\":\"\"}"),
    )];
    for i in 0..tokens {
        out.push((ttft + gap * i, chunk(&format!("{{\"content\":\"w{i} \"}}"))));
    }
    let end = ttft + gap * tokens.saturating_sub(1);
    out.push((
        end,
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}\n\n".into(),
    ));
    if usage {
        out.push((end, format!("data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":5,\"completion_tokens\":{tokens},\"total_tokens\":{}}}}}\n\n", tokens + 5)));
    }
    out.push((end, "data: [DONE]\n\n".into()));
    out
}

/// A validator (JSON Schema 2020-12, formats checked) for the schema in `path`.
pub fn schema_validator(path: &std::path::Path) -> Validator {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: serde_json::Value =
        serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{} is not a valid schema: {e}", path.display()))
}
