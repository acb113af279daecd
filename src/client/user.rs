//! One user's side of the target: its own keep-alive HTTP/1.1 connection (reopened when the
//! server closed it), or its stream slot on a shared HTTP/2 connection. No pool, no retries
//! beyond resending an idempotent request once when its kept-alive connection turns out to
//! have been closed while idle: every other failure is counted, never hidden.

use std::sync::Arc;

use serde_json::Value;
use tokio::time::Instant;

use super::h1::{Failed, H1};
use super::h2::{self, Slot};
use super::prepared::{Prepared, RequestBuf};
use super::response::{Exchange, Reading};
use super::transport::Transport;
use crate::measure::ErrorKind;

/// A user's connection to the target.
pub(crate) struct HttpUser {
    transport: Arc<Transport>,
    max_body: u64,
    conn: Option<H1>,
    slot: Option<Slot>,
    buf: RequestBuf,
    /// Set while a connection is being opened: a timeout then is a connect failure.
    connecting: bool,
    /// Why the last connection attempt failed, for the readiness probe.
    last_failure: Option<String>,
}

impl HttpUser {
    /// User `u` of `transport`; it connects on its first request.
    pub fn new(transport: Arc<Transport>, u: u64, max_body: u64) -> HttpUser {
        let slot = transport.h2().map(|pool| pool.slot(u));
        HttpUser {
            transport,
            max_body,
            conn: None,
            slot,
            buf: RequestBuf::default(),
            connecting: false,
            last_failure: None,
        }
    }

    /// Whether the last exchange was cut off while connecting (its future was dropped then).
    pub fn was_connecting(&self) -> bool {
        self.connecting
    }

    /// Sends `req` with the drawn `rows` and reads the whole response. A connection is kept
    /// only after a clean exchange: if this future is dropped (timeout) or fails, the next
    /// call reconnects.
    pub async fn send(&mut self, req: &Prepared, rows: &[Option<&Value>]) -> Exchange {
        let t0 = Instant::now();
        let mut reading = Reading::new(
            &req.expect,
            req.stream.as_ref(),
            self.max_body,
            req.retain_body,
        )
        .keep_headers(&req.keep_headers)
        .keep_text(req.keep_text);
        let result = match self.slot.clone() {
            Some(slot) => self.send_h2(&slot, req, rows, t0, &mut reading).await,
            None => self.send_h1(req, rows, t0, &mut reading).await,
        };
        self.connecting = false;
        match result {
            Ok(()) => reading.finish(Instant::now()),
            Err(kind) => reading.fail(kind),
        }
    }

    async fn send_h1(
        &mut self,
        req: &Prepared,
        rows: &[Option<&Value>],
        t0: Instant,
        reading: &mut Reading<'_>,
    ) -> Result<(), ErrorKind> {
        let mut buf = std::mem::take(&mut self.buf);
        let bytes = req
            .h1_bytes(rows, &mut buf)
            .map_err(|_| ErrorKind::InvalidRequest)?;
        let mut resent = false;
        let outcome = loop {
            let kept = self
                .conn
                .take()
                .and_then(|mut c| (!c.closed_while_idle()).then_some(c));
            let reused = kept.is_some();
            let mut conn = match kept {
                Some(c) => c,
                None => {
                    self.connecting = true;
                    match self.transport.connect(reading.phases()).await {
                        Ok(stream) => H1::new(stream),
                        Err(e) => {
                            self.last_failure = Some(e.why);
                            break Err(e.kind);
                        }
                    }
                }
            };
            self.connecting = false;
            match conn.exchange(bytes, req.head, t0, reading).await {
                Ok(keep) => {
                    if keep {
                        self.conn = Some(conn);
                    }
                    break Ok(());
                }
                // The server closed the kept-alive connection as the request went out.
                Err(Failed::Stale) if reused && !resent && req.idempotent => resent = true,
                Err(Failed::Stale) => break Err(ErrorKind::Closed),
                Err(Failed::Kind(kind)) => break Err(kind),
            }
        };
        self.buf = buf;
        outcome
    }

    async fn send_h2(
        &mut self,
        slot: &Slot,
        req: &Prepared,
        rows: &[Option<&Value>],
        t0: Instant,
        reading: &mut Reading<'_>,
    ) -> Result<(), ErrorKind> {
        let request = req
            .build_h2(rows, self.transport.scheme())
            .map_err(|_| ErrorKind::InvalidRequest)?;
        let sender = h2::sender(&self.transport, slot, reading, &mut self.connecting)
            .await
            .map_err(|e| {
                self.last_failure = Some(e.why);
                e.kind
            })?;
        self.connecting = false;
        h2::exchange(sender, request, t0, reading).await
    }

    /// Why the last connection attempt failed, if it did.
    pub fn last_failure(&self) -> Option<&str> {
        self.last_failure.as_deref()
    }
}

/// One readiness probe: `GET path` over `transport` answered with a 2xx, or why not.
pub(crate) async fn probe(
    transport: &Arc<Transport>,
    path: &str,
    host: &str,
) -> Result<(), String> {
    let req = Prepared::get(path, host, std::time::Duration::from_secs(1));
    let mut user = HttpUser::new(transport.clone(), 0, 1024 * 1024);
    // Its own HTTP/2 connection, closed with it: the run's users open theirs (and time it).
    user.slot = transport.h2().map(|_| Slot::default());
    let exchange = user.send(&req, &[]).await;
    match exchange.result {
        Ok(_) => Ok(()),
        Err(kind) => Err(match (user.last_failure(), exchange.detail.status) {
            (Some(why), _) => format!("{kind}: {why}"),
            (None, Some(code)) => format!("{kind} (status {code})"),
            (None, None) => kind.to_string(),
        }),
    }
}
