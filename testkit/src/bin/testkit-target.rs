//! A target process for perfspec's lifecycle tests. Serves `GET /health` and `/` on
//! 127.0.0.1:PORT and misbehaves on request:
//!
//! ```text
//! testkit-target --port N [--exit CODE] [--health STATUS] [--crash-after-ms MS]
//!                [--ignore-sigterm] [--fork-daemon] [--pid-file PATH] [--delay-ms MS]
//!                [--echo-credentials] [--issue-tokens] [--print-env NAME]…
//!                [--leak-kib N] [--churn-kib N] [--tls DIR] [--h2]
//!                [--daemonize] [--exit-after-daemonize] [--log-requests]
//! ```
//!
//! `--tls DIR` serves HTTPS with `DIR/cert.pem` and `DIR/key.pem` (HTTP/2 or HTTP/1.1 by
//! ALPN); `--h2` serves HTTP/2 with prior knowledge (h2c) over plain TCP.
//!
//! `--log-requests` prints a line for each request to `/` (so a test knows load arrived).
//! `--echo-credentials` prints the `authorization` and `cookie` headers it receives;
//! `--issue-tokens` answers `POST /login` with `{"token": "…"}`, a new token each time.
//!
//! `--daemonize` forks a daemon the classic way (fork, `setsid`, fork again): the daemon, in a
//! session and process group of its own, appends its pid to the pid file and serves the port;
//! the started process waits forever, or exits once the daemon runs with
//! `--exit-after-daemonize`.
//!
//! `--leak-kib N` keeps N KiB per request (`/`) in memory it never frees: a leak.
//! `--churn-kib N` allocates N KiB per request, touches every page and frees it: the same
//! allocation traffic, no leak.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use testkit::{Server, TestCert, text};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| -> Option<String> {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let has = |flag: &str| args.iter().any(|a| a == flag);
    eprintln!("testkit-target starting with {args:?}");
    if let Some(code) = value("--exit") {
        eprintln!("testkit-target: exiting at once as asked");
        std::process::exit(code.parse().unwrap_or(1));
    }
    if has("--ignore-sigterm") {
        // SAFETY: setting a signal disposition to SIG_IGN.
        unsafe {
            libc::signal(libc::SIGTERM, libc::SIG_IGN);
        }
    }
    let mut pids = vec![std::process::id()];
    if has("--fork-daemon") {
        // A child in our process group that would outlive us if only we were killed.
        let child = std::process::Command::new("sleep")
            .arg("300")
            .spawn()
            .expect("spawn sleep");
        pids.push(child.id());
        std::mem::forget(child);
    }
    if let Some(path) = value("--pid-file") {
        let mut f = std::fs::File::create(path).expect("pid file");
        for p in &pids {
            writeln!(f, "{p}").expect("write pid");
        }
    }
    if has("--daemonize") {
        daemonize(value("--pid-file"), has("--exit-after-daemonize"));
    }
    let port: u16 = value("--port").and_then(|p| p.parse().ok()).unwrap_or(0);
    let cert = value("--tls").map(|dir| {
        let dir = std::path::Path::new(&dir);
        TestCert::read_from(&dir.join("cert.pem"), &dir.join("key.pem"))
            .expect("--tls DIR holds cert.pem and key.pem")
    });
    if has("--canned") {
        // The fastest server we can write: answer every request head with the same bytes,
        // so a benchmark measures the generator, not the server.
        let server = match &cert {
            Some(cert) => Server::tls_on(port, 1, cert, |tls, _| canned(tls)),
            None => Server::tcp_on(port, 1, canned),
        };
        eprintln!("testkit-target listening on {} (canned)", server.url());
        loop {
            std::thread::park();
        }
    }
    let health: u16 = value("--health")
        .and_then(|p| p.parse().ok())
        .unwrap_or(200);
    let delay = Duration::from_millis(
        value("--delay-ms")
            .and_then(|p| p.parse().ok())
            .unwrap_or(0),
    );
    let kib = |flag| {
        value(flag)
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0)
    };
    let (leak, churn) = (kib("--leak-kib") * 1024, kib("--churn-kib") * 1024);
    let echo = has("--echo-credentials");
    // `POST /login` answers {"token": "…"}, a new token each time (a login for flows).
    let issue_tokens = has("--issue-tokens");
    let log_requests = has("--log-requests");
    for (i, _) in args.iter().enumerate().filter(|(_, a)| *a == "--print-env") {
        let name = args.get(i + 1).cloned().unwrap_or_default();
        eprintln!(
            "testkit-target: {name}={}",
            std::env::var(&name).unwrap_or_default()
        );
    }
    let handler = move |req: testkit::Request<hyper::body::Incoming>| async move {
        if req.uri().path() == "/health" {
            return text(health, "health");
        }
        if log_requests {
            eprintln!("testkit-target: served {}", req.uri().path());
        }
        if issue_tokens && req.uri().path() == "/login" {
            static LOGINS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = LOGINS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let token = format!("tok-{}-{n}-issued-secret", std::process::id());
            return text(200, format!(r#"{{"token": "{token}"}}"#));
        }
        if echo {
            for name in ["authorization", "cookie"] {
                if let Some(v) = req.headers().get(name) {
                    eprintln!("testkit-target: {name}: {}", v.to_str().unwrap_or("?"));
                }
            }
        }
        if leak > 0 {
            LEAKED
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(touched(leak));
        }
        if churn > 0 {
            std::hint::black_box(touched(churn));
        }
        tokio::time::sleep(delay).await;
        text(200, "ok")
    };
    let server = match (&cert, has("--h2")) {
        (Some(cert), _) => Server::https_on(port, 1, cert, handler),
        (None, true) => Server::h2c_on(port, 1, handler),
        (None, false) => Server::http_on(port, 1, handler),
    };
    eprintln!("testkit-target listening on {}", server.url());
    match value("--crash-after-ms").and_then(|m| m.parse().ok()) {
        Some(ms) => {
            std::thread::sleep(Duration::from_millis(ms));
            eprintln!("testkit-target: crashing as asked");
            std::process::exit(3);
        }
        None => loop {
            std::thread::park();
        },
    }
}

/// Memory kept forever by `--leak-kib`.
static LEAKED: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// `bytes` of heap with every page written, so they count in the resident set.
fn touched(bytes: usize) -> Vec<u8> {
    let mut v = Vec::<u8>::with_capacity(bytes);
    v.resize(bytes, 1);
    v
}

/// Reads request heads (no bodies) and answers each with a fixed 200 response.
async fn canned<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(mut stream: S) {
    const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
    let mut buf = vec![0u8; 64 * 1024];
    let mut pending = 0usize;
    let mut out = Vec::with_capacity(64 * 1024);
    loop {
        let n = match stream.read(&mut buf[pending..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let end = pending + n;
        let mut start = 0;
        while let Some(i) = buf[start..end].windows(4).position(|w| w == b"\r\n\r\n") {
            out.extend_from_slice(RESPONSE);
            start += i + 4;
        }
        buf.copy_within(start..end, 0);
        pending = end - start;
        if pending == buf.len() {
            return;
        }
        if !out.is_empty() {
            if stream.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
    }
}

/// Forks a daemon (fork, `setsid`, fork) that returns from here and goes on to serve; the
/// started process never returns: it waits, or exits with 0 once the daemon has written its pid.
fn daemonize(pid_file: Option<String>, exit: bool) {
    let mut fds = [0; 2];
    // SAFETY: single-threaded so far (no runtime yet): fork, setsid and pipe are safe to call.
    unsafe {
        assert_eq!(libc::pipe(fds.as_mut_ptr()), 0, "pipe");
        match libc::fork() {
            -1 => panic!("fork failed"),
            0 => {
                libc::setsid();
                match libc::fork() {
                    -1 => libc::_exit(1),
                    0 => {}
                    _ => libc::_exit(0),
                }
                if let Some(path) = pid_file {
                    let mut f = std::fs::OpenOptions::new()
                        .append(true)
                        .create(true)
                        .open(path)
                        .expect("pid file");
                    writeln!(f, "{}", std::process::id()).expect("write pid");
                }
                eprintln!("testkit-target: daemon {} running", std::process::id());
                libc::write(fds[1], b"!".as_ptr().cast(), 1);
                libc::close(fds[0]);
                libc::close(fds[1]);
            }
            _ => {
                libc::close(fds[1]);
                let mut byte = 0u8;
                libc::read(fds[0], (&mut byte as *mut u8).cast(), 1);
                if exit {
                    eprintln!("testkit-target: daemonised, exiting");
                    std::process::exit(0);
                }
                loop {
                    std::thread::park();
                }
            }
        }
    }
}
