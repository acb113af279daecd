//! How the client speaks to its target: HTTPS (rustls) with a certificate generated at test
//! time, session resumption and keep-alive reuse, HTTP/2 (h2c and ALPN over TLS) with users
//! as streams over shared connections, connection phases in results, 429s counted apart, and
//! the HTTP/1.1 framings the hot path parses itself. Every server is real, on 127.0.0.1:0.

mod common;
#[path = "protocols/tls_failures.rs"]
mod tls_failures;

use common::{measured, run, scratch, spec};
use perfspec::assertion::Outcome;
use perfspec::measure::{ErrorKind, Measurement};
use testkit::{Response, Server, TestCert, text};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A one-request spec against `target_lines` (`url = …` and more [target] keys).
fn spec_text(target_lines: &str, load: &str, extra: &str) -> String {
    format!(
        "[target]\n{target_lines}\n[[request]]\nname = \"r\"\npath = \"/\"\n[scenario.s]\nload = {{ model = \"closed\", {load} }}\nduration = \"1s\"\n{extra}\n"
    )
}

fn measure(name: &str, text: &str, files: &[(&str, &str)]) -> Measurement {
    let dir = scratch(name);
    for (file, content) in files {
        std::fs::write(dir.join(file), content).unwrap();
    }
    let s = spec(&dir, name, text);
    measured(&run(&dir, &s, "s")).measurement.clone()
}

fn kinds(m: &Measurement) -> Vec<ErrorKind> {
    m.requests[0].errors.keys().copied().collect()
}

#[test]
fn https_resumes_sessions_and_times_the_handshake() {
    let cert = TestCert::localhost();
    // `connection: close` makes every request open a connection: all but the first few
    // handshakes can resume a session.
    let server = Server::https(1, &cert, |_| async {
        let mut r = text(200, "ok");
        r.headers_mut()
            .insert("connection", "close".parse().unwrap());
        r
    });
    let m = measure(
        "https-resume",
        &spec_text(
            &format!("url = \"{}\"\ntls = {{ ca = \"ca.pem\" }}", server.url()),
            "users = 2, think-time = \"20ms\"",
            "assert = [\"tls.max < 1s\", \"connect.max < 1s\", \"ttfb.p50 < 1s\"]",
        ),
        &[("ca.pem", &cert.cert_pem)],
    );
    let r = &m.requests[0];
    assert!(
        r.ok >= 10 && r.errors.is_empty(),
        "{} ok, {:?}",
        r.ok,
        r.errors
    );
    let p = &r.phases;
    assert_eq!(
        p.connect.len(),
        r.ok,
        "one connection per request (the server closes them)"
    );
    assert_eq!(p.tls.len(), r.ok);
    assert!(
        p.resumed > 0 && p.resumed < p.tls.len() + 1,
        "resumed {} of {}",
        p.resumed,
        p.tls.len()
    );
    assert_eq!(p.ttfb.len(), r.ok);
    assert!(
        p.ttfb.min() >= p.tls.min(),
        "ttfb includes the handshakes of the request that opened the connection"
    );
}

#[test]
fn https_keep_alive_reuses_one_connection_per_user() {
    let cert = TestCert::localhost();
    let server = Server::https(1, &cert, |_| async { text(200, "ok") });
    let dir = scratch("https-keepalive");
    std::fs::write(dir.join("ca.pem"), &cert.cert_pem).unwrap();
    let s = spec(
        &dir,
        "ka",
        &spec_text(
            &format!("url = \"{}\"\ntls = {{ ca = \"ca.pem\" }}", server.url()),
            "users = 3",
            "warmup = \"300ms\"\nassert = [\"connect.p50 < 1s\", \"ttfb.p99 < 1s\"]",
        ),
    );
    let report = run(&dir, &s, "s");
    let m = &measured(&report).measurement;
    let r = &m.requests[0];
    assert!(
        r.ok > 100 && r.errors.is_empty(),
        "{} ok, {:?}",
        r.ok,
        r.errors
    );
    // Three users, three connections, opened in the warm-up; the readiness check made one more.
    assert_eq!(
        server.connections(),
        4,
        "keep-alive: no connection per request"
    );
    assert!(
        r.phases.connect.is_empty(),
        "no connection opened in the measured window"
    );
    let checks = &measured(&report).verdict.checks();
    assert!(
        matches!(&checks[0].outcome, Outcome::Inconclusive(why) if why.contains("kept-alive")),
        "{:?}",
        checks[0].outcome
    );
    assert_eq!(checks[1].outcome, Outcome::Pass, "{:?}", checks[1]);
    // The result file says the same.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/results/ka/s.json")).unwrap())
            .unwrap();
    let phases = &json["requests"][0]["phases"];
    assert_eq!(phases["connections"], 0);
    assert!(
        phases["connect"].is_null() && phases["ttfb"]["p99_us"].is_number(),
        "{phases}"
    );
}

#[test]
fn certificates_are_verified_unless_insecure() {
    let cert = TestCert::for_names(&["localhost"]);
    let server = Server::https(1, &cert, |_| async { text(200, "ok") });
    let files = [("ca.pem", cert.cert_pem.as_str())];
    let url = server.url();
    // 127.0.0.1 is not a name in the certificate.
    let m = measure(
        "tls-name",
        &spec_text(
            &format!("url = \"{url}\"\ntls = {{ ca = \"ca.pem\" }}"),
            "users = 1",
            "",
        ),
        &files,
    );
    assert_eq!(kinds(&m), vec![ErrorKind::Tls]);
    let m = measure(
        "tls-server-name",
        &spec_text(
            &format!("url = \"{url}\"\ntls = {{ ca = \"ca.pem\", server-name = \"localhost\" }}"),
            "users = 1",
            "",
        ),
        &files,
    );
    assert!(m.requests[0].ok > 0 && m.requests[0].errors.is_empty());
    // Without `ca` the system's roots do not know this certificate.
    let m = measure(
        "tls-untrusted",
        &spec_text(&format!("url = \"{url}\""), "users = 1", ""),
        &[],
    );
    assert_eq!(kinds(&m), vec![ErrorKind::Tls]);
    let m = measure(
        "tls-insecure",
        &spec_text(
            &format!("url = \"{url}\"\ntls = {{ insecure = true }}"),
            "users = 1",
            "",
        ),
        &[],
    );
    assert!(m.requests[0].ok > 0 && m.requests[0].errors.is_empty());
}

/// A handler that answers 200 over HTTP/2 only.
async fn h2_only(req: testkit::Request<hyper::body::Incoming>) -> Response<testkit::Body> {
    if req.version() == http::Version::HTTP_2 {
        text(200, "ok")
    } else {
        text(505, "HTTP/2 only")
    }
}

#[test]
fn http2_users_are_streams_over_shared_connections() {
    let server = Server::h2c(1, h2_only);
    let m = measure(
        "h2c",
        &spec_text(
            &format!("url = \"{}\"\nhttp = \"2\"", server.url()),
            "users = 150, think-time = \"20ms\"",
            "",
        ),
        &[],
    );
    let r = &m.requests[0];
    assert!(
        r.ok > 150 && r.errors.is_empty(),
        "{} ok, {:?}",
        r.ok,
        r.errors
    );
    // 150 users: 100 per connection, so two connections (and one for the readiness check).
    assert_eq!(r.phases.connect.len(), 2);
    assert_eq!(server.connections(), 3);
}

#[test]
fn http2_over_tls_is_agreed_by_alpn() {
    let cert = TestCert::localhost();
    let server = Server::https(1, &cert, h2_only);
    let m = measure(
        "h2-tls",
        &spec_text(
            &format!(
                "url = \"{}\"\nhttp = \"2\"\ntls = {{ ca = \"ca.pem\" }}\nready = \"/\"",
                server.url()
            ),
            "users = 4",
            "",
        ),
        &[("ca.pem", &cert.cert_pem)],
    );
    let r = &m.requests[0];
    assert!(
        r.ok > 10 && r.errors.is_empty(),
        "{} ok, {:?}",
        r.ok,
        r.errors
    );
    assert_eq!((r.phases.connect.len(), r.phases.tls.len()), (1, 1));
}

#[test]
fn rate_limiting_is_its_own_kind_and_codes_are_named() {
    let server = Server::http(1, |req| async move {
        match req.uri().path() {
            "/limited" => {
                let mut r = text(429, "slow down");
                r.headers_mut().insert("retry-after", "3".parse().unwrap());
                r
            }
            "/down" => text(503, "down"),
            _ => text(404, "nope"),
        }
    });
    let text = format!(
        "[target]\nurl = \"{}\"\n[[request]]\nname = \"limited\"\npath = \"/limited\"\n[[request]]\nname = \"down\"\npath = \"/down\"\n[scenario.s]\nload = {{ model = \"closed\", users = 2, think-time = \"10ms\" }}\nduration = \"1s\"\n",
        server.url()
    );
    let m = measure("rate-limited", &text, &[]);
    let (limited, down) = (&m.requests[0], &m.requests[1]);
    assert_eq!(kinds(&m), vec![ErrorKind::RateLimited]);
    let retry = limited
        .refusals
        .retry_after_s
        .as_ref()
        .expect("Retry-After recorded");
    assert_eq!(
        (retry.min(), retry.max(), retry.len()),
        (3, 3, limited.error_count())
    );
    assert_eq!(
        down.errors.keys().copied().collect::<Vec<_>>(),
        vec![ErrorKind::Http5xx]
    );
    let n = down.error_count();
    assert_eq!(
        down.error_breakdown(),
        vec![format!("http-5xx {n} (503 ×{n})")]
    );
    assert_eq!(
        limited.error_breakdown(),
        vec![format!(
            "rate-limited {} (Retry-After 3 s)",
            limited.error_count()
        )]
    );
}

/// A raw HTTP/1 server: reads each request head and answers with `reply` (then closes when
/// `close`).
fn raw(reply: &'static [u8], close: bool) -> Server {
    Server::tcp(1, move |mut stream| async move {
        let mut buf = vec![0u8; 8192];
        let mut have = 0;
        loop {
            match stream.read(&mut buf[have..]).await {
                Ok(0) | Err(_) => return,
                Ok(n) => have += n,
            }
            while let Some(end) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") {
                buf.copy_within(end + 4..have, 0);
                have -= end + 4;
                if stream.write_all(reply).await.is_err() {
                    return;
                }
                if close {
                    return;
                }
            }
        }
    })
}

#[test]
fn http1_framings_are_read_without_errors() {
    let cases: [(&str, &'static [u8], bool); 4] = [
        // An interim 100 before the answer, a chunked body with an extension and a trailer,
        // Server-Timing read from the head.
        ("chunked", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nserver-timing: db;dur=1.5\r\ntransfer-encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nx-t: 1\r\n\r\n", false),
        // HTTP/1.0 without a length: the body ends with the connection.
        ("until-close", b"HTTP/1.0 200 OK\r\n\r\nthe whole body", true),
        // The server closes after each answer without saying so: the next request finds its
        // kept-alive connection closed and opens another, with no error counted.
        ("silent-close", b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok", true),
        ("no-content", b"HTTP/1.1 204 No Content\r\n\r\n", false),
    ];
    for (name, reply, close) in cases {
        let server = raw(reply, close);
        let m = measure(
            name,
            &spec_text(
                &format!("url = \"{}\"", server.url()),
                "users = 2, think-time = \"5ms\"",
                "",
            ),
            &[],
        );
        let r = &m.requests[0];
        assert!(
            r.ok > 20 && r.errors.is_empty(),
            "{name}: {} ok, {:?}",
            r.ok,
            r.errors
        );
        if name == "chunked" {
            assert_eq!(r.bytes, 3 * r.ok);
            assert_eq!(r.stages["db"].max(), 1500);
        }
        if close {
            assert_eq!(
                r.phases.connect.len(),
                r.ok,
                "{name}: a connection per request"
            );
        }
    }
}

#[test]
fn a_command_target_serves_https() {
    let dir = scratch("https-command");
    TestCert::localhost().write_to(&dir.join("certs"));
    let text = spec_text(
        "command = [\"{bin:testkit-target}\", \"--port\", \"{port}\", \"--tls\", \"certs\"]\nready = \"/health\"\ntls = { ca = \"certs/cert.pem\" }",
        "users = 2",
        "",
    );
    let s = spec(&dir, "cmd", &text);
    let report = run(&dir, &s, "s");
    let r = &measured(&report).measurement.requests[0];
    assert!(
        r.ok > 10 && r.errors.is_empty(),
        "{} ok, {:?}",
        r.ok,
        r.errors
    );
    assert_eq!(r.phases.tls.len(), r.phases.connect.len());
}
