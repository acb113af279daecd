//! A tiny service: `GET /health` and `GET /items`. `DOWNSTREAM_DELAY_MS` slows every
//! `/items` response down by that many milliseconds (how the example's test injects a
//! regression).

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{
    Request, Response, StatusCode, body::Incoming, server::conn::http1, service::service_fn,
};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let port: u16 = std::env::args()
        .skip_while(|a| a != "--port")
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let delay = std::env::var("DOWNSTREAM_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis);
    let listener = match TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("downstream-service: cannot bind 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let serve = service_fn(move |req| handle(req, delay));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), serve)
                .await;
        });
    }
}

async fn handle(
    req: Request<Incoming>,
    delay: Option<Duration>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = match req.uri().path() {
        "/health" => (StatusCode::OK, "ok".to_string()),
        "/items" => {
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            let items: Vec<String> = (1..=20).map(|i| format!("{{\"id\":{i}}}")).collect();
            (StatusCode::OK, format!("[{}]", items.join(",")))
        }
        _ => (StatusCode::NOT_FOUND, "not found".to_string()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    Ok(response)
}
