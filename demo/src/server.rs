//! Accept loop, per-connection HTTP/1.1, routing, body limits.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_LENGTH, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::cli::Options;
use crate::metrics::{Route as RouteName, RouteLabels};
use crate::respond::{ApiError, ResBody};
use crate::state::AppState;
use crate::{chat, handlers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Health,
    Embed,
    Search,
    Chat,
    Work,
    Metrics,
}

impl Route {
    fn of(path: &str) -> Option<Self> {
        match path {
            "/health" => Some(Self::Health),
            "/embed" => Some(Self::Embed),
            "/search" => Some(Self::Search),
            "/v1/chat/completions" => Some(Self::Chat),
            "/work" => Some(Self::Work),
            "/metrics" => Some(Self::Metrics),
            _ => None,
        }
    }

    /// The one method the route accepts.
    fn method(self) -> &'static str {
        if matches!(self, Self::Health | Self::Work | Self::Metrics) {
            "GET"
        } else {
            "POST"
        }
    }
}

/// Serves HTTP on `listener` until `shutdown` completes, then stops accepting and returns
/// (open connections are left to the caller: the binary simply exits).
///
/// The corpus is built in the background; until it is ready `/health` answers 503.
pub async fn serve(
    listener: TcpListener,
    opts: &Options,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let state = Arc::new(AppState::new(opts));
    let builder = Arc::clone(&state);
    tokio::task::spawn_blocking(move || {
        let t0 = Instant::now();
        builder.build_corpus();
        eprintln!(
            "perfspec-demo corpus ready: {} docs x {} dims in {:.0} ms",
            builder.corpus_size,
            builder.embedder.dim(),
            t0.elapsed().as_secs_f64() * 1000.0
        );
    });

    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Typically EMFILE under load: back off instead of spinning.
                    eprintln!("perfspec-demo: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Latency benchmarks must not wait on Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(Arc::clone(&state), req));
            // Errors here are client-side (reset, malformed request): nothing to do.
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(
    state: Arc<AppState>,
    req: Request<Incoming>,
) -> Result<Response<ResBody>, Infallible> {
    // Chat schedules tokens from the request's arrival.
    let start = tokio::time::Instant::now();
    let path = req.uri().path().to_string();
    let counted = Route::of(&path).filter(|r| *r != Route::Metrics);
    if counted.is_some() {
        state.metrics.in_flight.inc();
    }
    let res = route(&state, req, start)
        .await
        .unwrap_or_else(ApiError::into_response);
    if counted.is_some() {
        state.metrics.in_flight.dec();
        let m = &state.metrics;
        let status = format!("{}xx", res.status().as_u16() / 100);
        m.requests
            .get_or_create(&RouteLabels {
                route: path.clone(),
                status,
            })
            .inc();
        m.duration
            .get_or_create(&RouteName { route: path })
            .observe(start.elapsed().as_secs_f64());
    }
    Ok(res)
}

async fn route(
    state: &AppState,
    req: Request<Incoming>,
    start: tokio::time::Instant,
) -> Result<Response<ResBody>, ApiError> {
    if let Some(res) = state
        .items
        .handle(req.method(), req.uri().path(), req.headers())
    {
        return Ok(res);
    }
    let Some(route) = Route::of(req.uri().path()) else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not found"));
    };
    if req.method().as_str() != route.method() {
        let mut res =
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed").into_response();
        res.headers_mut()
            .insert(ALLOW, HeaderValue::from_static(route.method()));
        return Ok(res);
    }
    if route == Route::Health {
        return Ok(handlers::health(state));
    }
    if route == Route::Work {
        return work(state).await;
    }
    if route == Route::Metrics {
        let mut res = Response::new(crate::respond::full(state.metrics.render()));
        res.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
        );
        return Ok(res);
    }
    let Some(corpus) = state.corpus.get() else {
        return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "starting"));
    };
    let body = read_body(req, state.max_body).await?;
    match route {
        Route::Embed => handlers::embed(state, &body),
        Route::Search => handlers::search(state, corpus, &body),
        Route::Chat => chat::completions(state, corpus, &body, start).await,
        Route::Health | Route::Metrics => Ok(handlers::health(state)),
        Route::Work => work(state).await,
    }
}

/// `GET /work`: waits for a worker of the pool, answers when its work is done; 503 when the
/// pool's queue is full.
async fn work(state: &AppState) -> Result<Response<ResBody>, ApiError> {
    match state.pool.admit(tokio::time::Instant::now()) {
        Ok(done) => {
            tokio::time::sleep_until(done).await;
            Ok(crate::respond::json(
                StatusCode::OK,
                &serde_json::json!({ "status": "done" }),
            ))
        }
        Err(crate::pool::Full) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the pool's queue is full",
        )),
    }
}

/// Reads the whole body, refusing (413) anything over `max` bytes, whether announced by
/// Content-Length or discovered while reading a chunked body.
async fn read_body(req: Request<Incoming>, max: usize) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body exceeds {max} bytes"),
        )
    };
    let announced = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    match Limited::new(req.into_body(), max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(too_large()),
        Err(e) => Err(ApiError::bad_request(format!(
            "failed to read request body: {e}"
        ))),
    }
}
