//! TLS that goes wrong: no handshake, a plain-HTTP answer to the ClientHello, a response cut
//! short without its close. Each is counted by its kind, and the run goes on.

use perfspec::measure::ErrorKind;
use testkit::{Server, TestCert};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{kinds, measure, spec_text};

#[test]
fn tls_that_fails_or_is_cut_short_is_counted_by_kind() {
    let cert = TestCert::localhost();
    let insecure = "tls = { insecure = true }";
    // A server that closes every connection before any handshake, and one that answers the
    // ClientHello in plain HTTP: both are TLS failures, and the run goes on.
    let closes = Server::tcp(1, |_| async {});
    let plain = Server::tcp(1, |mut stream| async move {
        let _ = stream
            .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
            .await;
    });
    for (name, server) in [("tls-closes", &closes), ("tls-plain", &plain)] {
        let url = server.url().replacen("http://", "https://", 1);
        let m = measure(
            name,
            &spec_text(
                &format!("url = \"{url}\"\n{insecure}"),
                "users = 1, think-time = \"20ms\"",
                "",
            ),
            &[],
        );
        let r = &m.requests[0];
        assert_eq!(kinds(&m), vec![ErrorKind::Tls], "{name}");
        assert!(
            r.ok == 0 && r.errors[&ErrorKind::Tls] >= 5,
            "{name}: {:?}",
            r.errors
        );
    }
    // A response whose connection ends (no close_notify) before its body did: cut short.
    let cut = Server::tls_on(0, 1, &cert, |mut tls, _| async move {
        let mut buf = [0u8; 4096];
        if tls.read(&mut buf).await.is_ok_and(|n| n > 0) {
            let _ = tls
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nok")
                .await;
            let _ = tls.flush().await;
        }
    });
    let m = measure(
        "tls-cut",
        &spec_text(
            &format!("url = \"{}\"\n{insecure}", cut.url()),
            "users = 1, think-time = \"20ms\"",
            "",
        ),
        &[],
    );
    assert_eq!(kinds(&m), vec![ErrorKind::Closed]);
    assert!(m.requests[0].ok == 0, "{:?}", m.requests[0]);
}
