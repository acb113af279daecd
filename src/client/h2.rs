//! HTTP/2 through hyper's client: users are streams over shared connections. User `u` sends
//! over connection `u / USERS_PER_CONNECTION`, opened by the first of its users that needs it
//! (that request carries the connect and TLS phases) and reopened when the server closes it.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::{self, SendRequest};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::time::Instant;

use super::response::Reading;
use super::transport::{ConnectError, Transport};
use crate::measure::ErrorKind;

/// Users that share one connection, each with at most one stream open. 100 is the smallest
/// `SETTINGS_MAX_CONCURRENT_STREAMS` common servers announce (nginx and hyper allow more),
/// so a user never queues behind another for a stream.
pub(crate) const USERS_PER_CONNECTION: u64 = 100;

type Sender = SendRequest<Full<Bytes>>;

/// One shared connection, opened on demand.
pub(super) type Slot = Arc<tokio::sync::Mutex<Option<Sender>>>;

/// The shared connections of a run.
#[derive(Default)]
pub(crate) struct H2Pool {
    slots: Mutex<Vec<Slot>>,
}

impl H2Pool {
    pub fn new() -> H2Pool {
        H2Pool::default()
    }

    /// The connection user `u` sends over.
    pub fn slot(&self, u: u64) -> Slot {
        let i = (u / USERS_PER_CONNECTION) as usize;
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        while slots.len() <= i {
            slots.push(Slot::default());
        }
        slots[i].clone()
    }
}

/// A sender on the slot's connection: the open one, or a new one (its handshakes timed into
/// `reading`'s phases). `connecting` is set while a connection is being opened.
pub(super) async fn sender(
    transport: &Transport,
    slot: &Slot,
    reading: &mut Reading<'_>,
    connecting: &mut bool,
) -> Result<Sender, ConnectError> {
    // Waiting for another user to open the shared connection is connecting too.
    *connecting = true;
    let mut held = slot.lock().await;
    if let Some(s) = held.as_ref().filter(|s| !s.is_closed()) {
        *connecting = false;
        return Ok(s.clone());
    }
    let stream = transport.connect(reading.phases()).await?;
    let (sender, conn) = http2::Builder::new(TokioExecutor::new())
        .handshake(TokioIo::new(stream))
        .await
        .map_err(|e| ConnectError {
            kind: ErrorKind::Connect,
            why: format!("HTTP/2 handshake: {e}"),
        })?;
    tokio::spawn(async move {
        // Ends when every sender is gone or the peer closes; errors surface on the senders.
        let _ = conn.await;
    });
    *connecting = false;
    *held = Some(sender.clone());
    Ok(sender)
}

/// Sends `request` as one stream and reads the response into `reading`.
pub(super) async fn exchange(
    mut sender: Sender,
    request: http::Request<Full<Bytes>>,
    t0: Instant,
    reading: &mut Reading<'_>,
) -> Result<(), ErrorKind> {
    sender.ready().await.map_err(classify)?;
    let resp = sender.send_request(request).await.map_err(classify)?;
    let first = Instant::now();
    reading.phases().ttfb = Some(first - t0);
    reading.status(resp.status().as_u16());
    for (name, value) in resp.headers() {
        reading.header(name.as_str().as_bytes(), value.as_bytes());
    }
    reading.body_starts();
    let mut body = resp.into_body();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(classify)?;
        if let Some(data) = frame.data_ref() {
            reading.data(data, Instant::now())?;
        }
    }
    reading.phases().transfer = Some(first.elapsed());
    Ok(())
}

fn classify(e: hyper::Error) -> ErrorKind {
    if e.is_parse() || e.is_parse_status() {
        ErrorKind::Malformed
    } else {
        ErrorKind::Closed
    }
}
