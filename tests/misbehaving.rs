//! Services that misbehave below and above HTTP: never answer, answer without end, close
//! mid-response, speak garbage, stall the TCP handshake. Every scenario ends on time with its
//! errors counted by kind, and the generator's memory stays bounded.

mod common;

use std::time::{Duration, Instant};

use common::{measured, run, scratch, spec};
use perfspec::measure::ErrorKind;
use testkit::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn scenario(url: &str, extra: &str) -> String {
    // `url` may carry extra [target] lines after it.
    format!(
        "[target]\nurl = {url}\n[defaults]\ntimeout = \"300ms\"\nmax-body = \"1MiB\"\n[[request]]\nname = \"r\"\npath = \"/\"\n{extra}\n[scenario.s]\nload = {{ model = \"closed\", users = 4 }}\nduration = \"1s\"\n"
    )
}

/// Runs the scenario and checks it ended on time: duration + timeout + slack for a busy machine.
fn run_on_time(name: &str, url: &str, extra: &str) -> perfspec::measure::Measurement {
    run_target_on_time(name, &format!("\"{url}\""), extra)
}

/// [`run_on_time`] with the `url = …` line given whole (to add target keys after it).
fn run_target_on_time(name: &str, target: &str, extra: &str) -> perfspec::measure::Measurement {
    let dir = scratch(name);
    let s = spec(&dir, name, &scenario(target, extra));
    let t = Instant::now();
    let report = run(&dir, &s, "s");
    let took = t.elapsed();
    assert!(
        took < Duration::from_millis(1300 + 1500),
        "{name} took {took:?}"
    );
    measured(&report).measurement.clone()
}

fn kinds(m: &perfspec::measure::Measurement) -> Vec<ErrorKind> {
    m.requests[0].errors.keys().copied().collect()
}

/// Reads what the client sends and never answers.
async fn silent(mut stream: tokio::net::TcpStream) {
    let mut buf = [0u8; 4096];
    while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
}

#[test]
fn a_server_that_never_answers_times_out() {
    let server = Server::tcp(1, silent);
    let m = run_on_time("silent", &server.url(), "");
    assert_eq!(kinds(&m), vec![ErrorKind::Timeout]);
    assert!(
        m.requests[0].error_count() >= 4,
        "{:?}",
        m.requests[0].errors
    );
    assert_eq!(m.requests[0].ok, 0);
}

/// Answers every request head with `head`, then writes `body` forever (or until the client
/// goes away).
fn endless(head: &'static str, chunk: &'static [u8]) -> Server {
    Server::tcp(2, move |mut stream| async move {
        let mut buf = [0u8; 4096];
        if !matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {
            return;
        }
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        while stream.write_all(chunk).await.is_ok() {}
    })
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[test]
fn huge_and_endless_bodies_are_capped_with_bounded_memory() {
    static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];
    let gib = endless(
        "HTTP/1.1 200 OK\r\ncontent-length: 1073741824\r\n\r\n",
        &ZEROS,
    );
    // Well-formed 16 KiB chunks, forever.
    let chunk: &'static [u8] = Box::leak(
        format!("4000\r\n{}\r\n", "A".repeat(0x4000))
            .into_bytes()
            .into_boxed_slice(),
    );
    let chunked = endless(
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
        chunk,
    );
    let before = rss_kib();
    // body-contains makes the client keep the body: it still keeps at most `max-body`.
    let m = run_on_time(
        "gib",
        &gib.url(),
        "expect = { body-contains = \"never there\" }",
    );
    assert_eq!(kinds(&m), vec![ErrorKind::BodyTooLarge]);
    let m = run_on_time(
        "chunked",
        &chunked.url(),
        "expect = { body-contains = \"never there\" }",
    );
    assert_eq!(kinds(&m), vec![ErrorKind::BodyTooLarge]);
    let grew = rss_kib().saturating_sub(before);
    assert!(
        grew < 200 * 1024,
        "the generator's RSS grew by {grew} KiB while servers offered unbounded bodies"
    );
}

#[test]
fn an_endless_event_stream_is_capped_too() {
    static EVENT: &[u8] = b"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n";
    let server = endless(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n",
        EVENT,
    );
    let m = run_on_time("endless-sse", &server.url(), "stream = \"sse\"");
    // It ends by the cap, or by the timeout when parsing small events is slower: never later.
    // (On a busy machine both server threads can be busy writing endless streams while the
    // next connection waits past its deadline: a `connect` error, beside the point here.)
    let k = kinds(&m);
    assert!(
        k.iter()
            .any(|k| matches!(k, ErrorKind::BodyTooLarge | ErrorKind::Timeout))
            && k.iter().all(|k| matches!(
                k,
                ErrorKind::BodyTooLarge | ErrorKind::Timeout | ErrorKind::Connect
            )),
        "{k:?}"
    );
    assert_eq!(m.requests[0].ok, 0);
}

#[test]
fn a_connection_closed_mid_response_is_counted_as_closed() {
    let server = Server::tcp(1, |mut stream| async move {
        let mut buf = [0u8; 4096];
        if matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten..")
                .await;
        }
    });
    let m = run_on_time("closed", &server.url(), "");
    assert_eq!(kinds(&m), vec![ErrorKind::Closed]);
}

#[test]
fn garbage_instead_of_http_is_malformed() {
    let server = Server::tcp(1, |mut stream| async move {
        let mut buf = [0u8; 4096];
        if matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {
            let _ = stream
                .write_all(b"HELLO THERE, THIS IS NOT HTTP\r\n\r\n")
                .await;
        }
    });
    let m = run_on_time("garbage", &server.url(), "");
    assert_eq!(kinds(&m), vec![ErrorKind::Malformed]);
}

#[test]
fn a_stalled_handshake_is_a_connect_error() {
    use std::io::{Read, Write};
    use std::os::fd::FromRawFd;
    // A listener with a backlog of 0 that answers the readiness probe and then never accepts
    // again: before answering, it fills its one-slot accept queue, so every later connection
    // stalls in the handshake.
    // SAFETY: plain socket calls on a socket this test owns; the fd goes to a TcpListener.
    let listener = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(
            libc::bind(fd, &addr as *const _ as *const libc::sockaddr, len),
            0
        );
        assert_eq!(libc::listen(fd, 0), 0);
        std::net::TcpListener::from_raw_fd(fd)
    };
    let addr = listener.local_addr().unwrap();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let (mut probe, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = probe.read(&mut buf);
        let filler = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500));
        let _ =
            probe.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        drop(probe);
        // Keep the listener and the filler until the test is done.
        let _ = done_rx.recv();
        drop((filler, listener));
    });
    let dir = scratch("stall");
    let text = scenario(&format!("http://{addr}"), "")
        .replace(
            "[defaults]",
            "[defaults]
",
        )
        .replace("url = ", "ready = \"/health\"\nurl = ");
    let m = run_on_time("stall", &format!("http://{addr}"), "");
    let _ = (dir, text);
    let _ = done_tx.send(());
    server.join().unwrap();
    assert_eq!(
        kinds(&m),
        vec![ErrorKind::Connect],
        "{:?}",
        m.requests[0].errors
    );
}
