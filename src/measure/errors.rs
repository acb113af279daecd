//! The error taxonomy: every failed request is counted under exactly one kind.

use serde::Serialize;

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The TCP connection could not be established: refused, or not accepted within the
    /// request timeout.
    Connect,
    /// The TLS handshake failed: certificate not trusted or not for the server name, no
    /// common protocol, or the server refused HTTP/2 (ALPN).
    Tls,
    /// No complete response within the request timeout.
    Timeout,
    /// The connection closed or reset before the response was complete.
    Closed,
    /// The server sent something that is not valid HTTP.
    Malformed,
    /// A status the request did not expect, by class.
    #[serde(rename = "http-1xx")]
    Http1xx,
    /// See [`ErrorKind::Http1xx`].
    #[serde(rename = "http-2xx")]
    Http2xx,
    /// See [`ErrorKind::Http1xx`].
    #[serde(rename = "http-3xx")]
    Http3xx,
    /// 429 Too Many Requests: rate limited, counted apart from other 4xx (its `Retry-After`
    /// is recorded).
    RateLimited,
    /// See [`ErrorKind::Http1xx`].
    #[serde(rename = "http-4xx")]
    Http4xx,
    /// See [`ErrorKind::Http1xx`].
    #[serde(rename = "http-5xx")]
    Http5xx,
    /// The status was right but the body did not contain the expected text.
    Expectation,
    /// A flow step's capture found nothing in the response (no such JSON pointer or header):
    /// counted for that step, and the flow's later steps of that iteration are not sent.
    CaptureMissing,
    /// The body was larger than the configured cap.
    BodyTooLarge,
    /// The request could not be built from the template (for example an invalid header value
    /// from a data row).
    InvalidRequest,
    /// A stream ended before its end event (`[DONE]`).
    StreamIncomplete,
    /// A stream sent something that is not a valid event (or was not an event stream).
    StreamMalformed,
    /// A stream carried an error event from the server.
    StreamError,
    /// An in-process component returned an error or panicked.
    Component,
}

impl ErrorKind {
    /// Every kind, in report order.
    pub const ALL: [ErrorKind; 19] = [
        ErrorKind::Connect,
        ErrorKind::Tls,
        ErrorKind::Timeout,
        ErrorKind::Closed,
        ErrorKind::Malformed,
        ErrorKind::Http1xx,
        ErrorKind::Http2xx,
        ErrorKind::Http3xx,
        ErrorKind::RateLimited,
        ErrorKind::Http4xx,
        ErrorKind::Http5xx,
        ErrorKind::Expectation,
        ErrorKind::CaptureMissing,
        ErrorKind::BodyTooLarge,
        ErrorKind::InvalidRequest,
        ErrorKind::StreamIncomplete,
        ErrorKind::StreamMalformed,
        ErrorKind::StreamError,
        ErrorKind::Component,
    ];

    /// The kind for an unexpected status code: its class, 429 apart.
    pub fn for_status(code: u16) -> ErrorKind {
        if code == 429 {
            return ErrorKind::RateLimited;
        }
        match code / 100 {
            1 => ErrorKind::Http1xx,
            2 => ErrorKind::Http2xx,
            3 => ErrorKind::Http3xx,
            4 => ErrorKind::Http4xx,
            _ => ErrorKind::Http5xx,
        }
    }

    /// The name used in reports and JSON.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Tls => "tls",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Closed => "closed",
            ErrorKind::Malformed => "malformed",
            ErrorKind::Http1xx => "http-1xx",
            ErrorKind::Http2xx => "http-2xx",
            ErrorKind::Http3xx => "http-3xx",
            ErrorKind::RateLimited => "rate-limited",
            ErrorKind::Http4xx => "http-4xx",
            ErrorKind::Http5xx => "http-5xx",
            ErrorKind::Expectation => "expectation",
            ErrorKind::CaptureMissing => "capture-missing",
            ErrorKind::BodyTooLarge => "body-too-large",
            ErrorKind::InvalidRequest => "invalid-request",
            ErrorKind::StreamIncomplete => "stream-incomplete",
            ErrorKind::StreamMalformed => "stream-malformed",
            ErrorKind::StreamError => "stream-error",
            ErrorKind::Component => "component",
        }
    }

    /// Whether the kind is an unexpected status (the breakdown then names the codes).
    pub fn is_status(self) -> bool {
        matches!(
            self,
            ErrorKind::Http1xx
                | ErrorKind::Http2xx
                | ErrorKind::Http3xx
                | ErrorKind::RateLimited
                | ErrorKind::Http4xx
                | ErrorKind::Http5xx
        )
    }

    pub(crate) fn index(self) -> usize {
        ErrorKind::ALL
            .iter()
            .position(|&k| k == self)
            .expect("every kind is in ALL")
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
