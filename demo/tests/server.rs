//! Starts the service in-process on an ephemeral port and talks HTTP/1.1 to it over
//! keep-alive connections. Timing assertions are one-sided ("not earlier than") so the
//! test holds on a loaded machine.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use perfspec_demo::{Options, serve};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

const TTFT_MS: u64 = 60;
const MAX_TOKENS: usize = 12;

struct Server {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

async fn start(args: &[&str]) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let opts = Options::parse_from(std::iter::once("perfspec-demo").chain(args.iter().copied()));
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        serve(listener, &opts, async {
            let _ = stopped.await;
        })
        .await
    });
    Server { addr, _stop: stop }
}

async fn connect(addr: SocketAddr) -> SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    sender
}

fn request(method: &str, path: &str, body: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

async fn call(
    c: &mut SendRequest<Full<Bytes>>,
    method: &str,
    path: &str,
    body: &str,
) -> (StatusCode, HeaderMap, Value) {
    c.ready().await.unwrap();
    let res = c.send_request(request(method, path, body)).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes)));
    (parts.status, parts.headers, json)
}

async fn wait_ready(c: &mut SendRequest<Full<Bytes>>) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (status, _, body) = call(c, "GET", "/health", "").await;
        if status == StatusCode::OK {
            return body;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["status"], "starting");
        assert!(Instant::now() < deadline, "corpus never became ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_over_keep_alive() {
    let server = start(&["--corpus", "2000", "--dim", "128", "--max-body", "16384"]).await;
    let mut c = connect(server.addr).await;
    let health = wait_ready(&mut c).await;
    assert_eq!(
        health,
        serde_json::json!({"status": "ok", "corpus": 2000, "dim": 128})
    );

    // Many requests on the same connection.
    for _ in 0..20 {
        let (status, headers, body) = call(
            &mut c,
            "POST",
            "/search",
            r#"{"query":"vector index latency"}"#,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let timing = headers["server-timing"].to_str().unwrap();
        assert!(
            timing.starts_with("embed;dur=") && timing.contains(", search;dur="),
            "{timing}"
        );
        let results = body["results"].as_array().unwrap();
        assert_eq!(results.len(), 5);
        let scores: Vec<f64> = results
            .iter()
            .map(|r| r["score"].as_f64().unwrap())
            .collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
        assert!(results[0]["title"].as_str().unwrap().split(' ').count() == 6);
    }
    let (_, _, body) = call(&mut c, "POST", "/search", r#"{"query":"x","top_k":17}"#).await;
    assert_eq!(body["results"].as_array().unwrap().len(), 17);

    let (status, headers, body) = call(&mut c, "POST", "/embed", r#"{"text":"hello world"}"#).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["server-timing"]
            .to_str()
            .unwrap()
            .starts_with("embed;dur=")
    );
    assert_eq!(body["dim"], 128);
    let norm: f64 = body["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap().powi(2))
        .sum();
    assert!((norm - 1.0).abs() < 1e-3);
    let (_, _, body) = call(&mut c, "POST", "/embed", r#"{"texts":["a","b c",""]}"#).await;
    assert_eq!(body["embeddings"].as_array().unwrap().len(), 3);

    let (status, _, body) = call(
        &mut c,
        "POST",
        "/v1/chat/completions",
        r#"{"model":"m","messages":[{"role":"user","content":"a b c"}],"max_tokens":5}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "m");
    assert_eq!(
        body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .count(),
        5
    );
    assert_eq!(
        body["usage"],
        serde_json::json!({"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8})
    );

    // Errors answer JSON and keep the connection usable.
    let cases = [
        ("GET", "/nope", "", StatusCode::NOT_FOUND),
        ("GET", "/search", "", StatusCode::METHOD_NOT_ALLOWED),
        ("POST", "/health", "", StatusCode::METHOD_NOT_ALLOWED),
        ("POST", "/search", "{", StatusCode::BAD_REQUEST),
        (
            "POST",
            "/search",
            r#"{"query":"a","top-k":1000}"#,
            StatusCode::BAD_REQUEST,
        ),
        ("POST", "/embed", r#"{"text":[1]}"#, StatusCode::BAD_REQUEST),
        (
            "POST",
            "/v1/chat/completions",
            r#"{"messages":[],"max_tokens":1}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            "/v1/chat/completions",
            r#"{"messages":[{"role":"user"}],"max_tokens":1e99}"#,
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (method, path, body, expected) in cases {
        let (status, _, json) = call(&mut c, method, path, body).await;
        assert_eq!(status, expected, "{method} {path} {body}");
        assert!(json["error"].is_string());
    }
    let (status, _, _) = call(&mut c, "GET", "/health", "").await;
    assert_eq!(status, StatusCode::OK);

    // Oversized bodies: 413 (on a fresh connection, since the server may close this one).
    let mut c2 = connect(server.addr).await;
    let big = format!(r#"{{"text":"{}"}}"#, "a".repeat(32 << 10));
    let (status, _, json) = call(&mut c2, "POST", "/embed", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(json["error"].is_string());

    // A chunked body (no Content-Length) is cut off while reading, with raw HTTP/1.1.
    let mut raw = TcpStream::connect(server.addr).await.unwrap();
    let head = "POST /embed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    raw.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("{:x}\r\n{}\r\n", 8192, "a".repeat(8192));
    for _ in 0..3 {
        raw.write_all(chunk.as_bytes()).await.unwrap();
    }
    let mut response = vec![0u8; 1024];
    let n = raw.read(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response[..n]);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_chat() {
    let ttft = TTFT_MS.to_string();
    let server = start(&[
        "--corpus",
        "500",
        "--dim",
        "64",
        "--ttft",
        &ttft,
        "--token-delay",
        "5",
    ])
    .await;
    let mut c = connect(server.addr).await;
    wait_ready(&mut c).await;

    for _ in 0..2 {
        let body = format!(
            r#"{{"model":"demo","messages":[{{"role":"system","content":"be brief"}},{{"role":"user","content":"what is a btree index"}}],
                "max_tokens":{MAX_TOKENS},"stream":true,"stream_options":{{"include_usage":true}}}}"#
        );
        c.ready().await.unwrap();
        let sent = Instant::now();
        let res = c
            .send_request(request("POST", "/v1/chat/completions", &body))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        assert_eq!(res.headers()["cache-control"], "no-cache");
        assert!(
            res.headers()["server-timing"]
                .to_str()
                .unwrap()
                .starts_with("retrieve;dur=")
        );

        let mut body = res.into_body();
        let mut buf = String::new();
        let mut events: Vec<(Instant, String)> = Vec::new();
        while let Some(frame) = body.frame().await {
            let now = Instant::now();
            if let Ok(data) = frame.unwrap().into_data() {
                buf.push_str(std::str::from_utf8(&data).unwrap());
            }
            while let Some(end) = buf.find("\n\n") {
                let event = buf[..end]
                    .strip_prefix("data: ")
                    .expect("data event")
                    .to_owned();
                buf.drain(..end + 2);
                events.push((now, event));
            }
        }
        assert!(buf.is_empty());
        assert_eq!(events.last().unwrap().1, "[DONE]");

        let chunks: Vec<(Instant, Value)> = events[..events.len() - 1]
            .iter()
            .map(|(t, e)| (*t, serde_json::from_str(e).unwrap()))
            .collect();
        assert!(
            chunks
                .iter()
                .all(|(_, c)| c["object"] == "chat.completion.chunk" && c["model"] == "demo")
        );
        assert_eq!(chunks[0].1["choices"][0]["delta"]["role"], "assistant");
        let content: Vec<&(Instant, Value)> = chunks
            .iter()
            .filter(|(_, c)| {
                c["choices"][0]["delta"]["content"]
                    .as_str()
                    .is_some_and(|s| !s.is_empty())
            })
            .collect();
        assert_eq!(content.len(), MAX_TOKENS);
        assert!(
            content[0].0 - sent >= Duration::from_millis(TTFT_MS),
            "first token after {:?}",
            content[0].0 - sent
        );
        let finish = &chunks[chunks.len() - 2].1;
        assert_eq!(finish["choices"][0]["finish_reason"], "length");
        let usage = &chunks[chunks.len() - 1].1;
        assert_eq!(usage["choices"], serde_json::json!([]));
        assert_eq!(usage["usage"]["completion_tokens"], MAX_TOKENS);
        assert_eq!(usage["usage"]["prompt_tokens"], 2 + 5);
    }
}
