//! The HTTP/1.1 hot path's pieces without a socket: request bytes as prepared, response heads
//! as parsed.

use std::time::Duration;

use super::h1::{Framing, Head, parse_head};
use super::prepared::{Prepared, RequestBuf};
use super::response::Reading;
use crate::spec::{Body, Expect, Request, StatusMatch};
use crate::template::Template;

fn expect() -> Expect {
    Expect {
        status: StatusMatch::Class(2),
        body_contains: None,
        json: Vec::new(),
    }
}

#[test]
fn a_static_request_is_written_as_prepared() {
    let get = Prepared::get("/health", "127.0.0.1:8080", Duration::from_secs(1));
    let mut buf = RequestBuf::default();
    assert_eq!(
        get.h1_bytes(&[], &mut buf).unwrap(),
        b"GET /health HTTP/1.1\r\nhost: 127.0.0.1:8080\r\n\r\n"
    );
    let post = Request {
        name: "p".into(),
        method: http::Method::POST,
        path: Template::literal("/x"),
        query: vec![("q".into(), Template::literal("a%20b"))],
        headers: vec![("x-k".into(), Template::literal("v"))],
        body: Body::Json(Template::literal("{\"a\":1}")),
        weight: 1,
        timeout: Duration::from_secs(1),
        expect: expect(),
        stream: None,
    };
    let post = Prepared::new(&post, "h", "/base");
    let bytes = post.h1_bytes(&[], &mut buf).unwrap();
    assert_eq!(
        std::str::from_utf8(bytes).unwrap(),
        "POST /base/x?q=a%20b HTTP/1.1\r\nhost: h\r\ncontent-type: application/json\r\nx-k: v\r\ncontent-length: 7\r\n\r\n{\"a\":1}"
    );
    assert!(!post.idempotent && !post.head);
}

fn head(bytes: &[u8], head_request: bool) -> (Head, Option<u16>, Vec<(String, u64)>) {
    let e = expect();
    let mut reading = Reading::new(&e, None, 1 << 20, false);
    let h = parse_head(bytes, head_request, &mut reading).unwrap_or(Head::Partial);
    let x = reading.fail(crate::measure::ErrorKind::Closed);
    (h, x.detail.status, x.detail.stages)
}

#[test]
fn response_heads_give_framing_and_reuse() {
    let (h, status, stages) = head(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer-Timing: db;dur=2\r\n\r\nhello",
        false,
    );
    assert_eq!(h, Head::Final((63, Framing::Length(5), true)));
    assert_eq!((status, stages), (Some(200), vec![("db".into(), 2000)]));
    let (h, ..) = head(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n",
        false,
    );
    assert!(
        matches!(h, Head::Final((_, Framing::Chunked, false))),
        "{h:?}"
    );
    let (h, ..) = head(
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
        false,
    );
    assert!(matches!(h, Head::Final((_, Framing::Empty, true))), "{h:?}");
    let (h, ..) = head(b"HTTP/1.0 200 OK\r\n\r\n", false);
    assert!(
        matches!(h, Head::Final((_, Framing::UntilClose, false))),
        "{h:?}"
    );
    let (h, ..) = head(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", true);
    assert!(
        matches!(h, Head::Final((_, Framing::Empty, true))),
        "a HEAD response has no body: {h:?}"
    );
    let (h, status, _) = head(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200", false);
    assert_eq!((h, status), (Head::Interim(25), None));
    assert_eq!(
        head(b"HTTP/1.1 200 OK\r\nContent-Le", false).0,
        Head::Partial
    );
}

#[test]
fn conflicting_lengths_are_malformed() {
    let e = expect();
    let mut reading = Reading::new(&e, None, 1 << 20, false);
    assert!(
        parse_head(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            false,
            &mut reading
        )
        .is_err()
    );
    assert!(parse_head(b"NOT HTTP\r\n\r\n", false, &mut reading).is_err());
}
