//! Response bodies, JSON responses, API errors and the Server-Timing header.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame};
use serde::Serialize;
use tokio::sync::mpsc;

/// `Server-Timing` (not among `http`'s predefined header names).
pub const SERVER_TIMING: HeaderName = HeaderName::from_static("server-timing");

/// The body type of every response: a full buffer or a channel-fed stream.
pub type ResBody = BoxBody<Bytes, Infallible>;

/// A fully buffered body.
pub fn full(bytes: impl Into<Bytes>) -> ResBody {
    Full::new(bytes.into()).boxed()
}

/// A JSON response with the given status.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<ResBody> {
    // Serialising our own plain structs cannot fail; fall back to a 500 rather than panic.
    let (status, body) = match serde_json::to_vec(value) {
        Ok(body) => (status, body),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            br#"{"error":"serialization failed"}"#.to_vec(),
        ),
    };
    let mut res = Response::new(full(body));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// An error answered to the client as `{"error": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Human-readable reason.
    pub message: String,
}

impl ApiError {
    /// An error with an arbitrary status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// The JSON error response.
    pub fn into_response(self) -> Response<ResBody> {
        #[derive(Serialize)]
        struct ErrorBody<'a> {
            error: &'a str,
        }
        json(
            self.status,
            &ErrorBody {
                error: &self.message,
            },
        )
    }
}

/// Parses a JSON request body, mapping syntax and type errors to 400.
pub fn parse_json<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))
}

/// `Server-Timing` value, e.g. `embed;dur=0.051, search;dur=1.732` (milliseconds).
pub fn server_timing(stages: &[(&str, Duration)]) -> HeaderValue {
    let mut s = String::new();
    for (i, (name, d)) in stages.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(s, "{sep}{name};dur={:.3}", d.as_secs_f64() * 1000.0);
    }
    // Stage names are fixed ASCII identifiers, so this cannot fail.
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A streaming body fed by a channel: each message becomes one data frame, and the body
/// ends when every sender is gone. Dropping the body (client gone) closes the channel,
/// which tells the producer to stop.
#[derive(Debug)]
pub struct ChannelBody {
    rx: mpsc::Receiver<Bytes>,
}

impl ChannelBody {
    /// A body and the sender that feeds it.
    pub fn channel(capacity: usize) -> (mpsc::Sender<Bytes>, Self) {
        let (tx, rx) = mpsc::channel(capacity);
        (tx, Self { rx })
    }
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.get_mut()
            .rx
            .poll_recv(cx)
            .map(|msg| msg.map(|bytes| Ok(Frame::data(bytes))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_timing_format() {
        let v = server_timing(&[
            ("embed", Duration::from_micros(51)),
            ("search", Duration::from_micros(1732)),
        ]);
        assert_eq!(v.to_str().unwrap(), "embed;dur=0.051, search;dur=1.732");
    }

    #[test]
    fn parse_errors_are_400() {
        #[derive(serde::Deserialize)]
        struct R {
            #[allow(dead_code)]
            n: u32,
        }
        for body in [
            &b"{"[..],
            b"[]",
            br#"{"n":"x"}"#,
            br#"{"n":1e400}"#,
            b"\xff",
        ] {
            let err = parse_json::<R>(body).err().unwrap();
            assert_eq!(err.status, StatusCode::BAD_REQUEST);
        }
    }
}
