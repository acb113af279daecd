//! The HTTP/1.1 hot path: request bytes written as prepared, the response head parsed with
//! httparse straight from a reusable read buffer (only the headers perfspec reads are looked
//! at), the body counted and handed on in place (content-length, chunked, or until close).
//! No allocation per exchange on this path.

use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};
use tokio::time::Instant;

use super::chunked::Chunked;
use super::response::Reading;
use super::transport::Stream;
use crate::measure::ErrorKind;

/// The read buffer: one per connection, reused by every exchange.
const BUF: usize = 8 * 1024;
/// The largest response head accepted (the buffer grows to it when a head needs it).
const MAX_HEAD: usize = 64 * 1024;
/// The most headers a response may have.
const MAX_HEADERS: usize = 100;

/// How an exchange failed.
#[derive(Debug, PartialEq)]
pub(super) enum Failed {
    /// Counted under this kind.
    Kind(ErrorKind),
    /// The connection was found closed before any byte of a response came back: on a
    /// kept-alive connection, the server closed it while idle.
    Stale,
}

/// How the response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Framing {
    Empty,
    Length(u64),
    Chunked,
    UntilClose,
}

/// One HTTP/1.1 connection.
pub(super) struct H1 {
    stream: Stream,
    buf: Vec<u8>,
}

impl H1 {
    pub fn new(stream: Stream) -> H1 {
        H1 {
            stream,
            buf: vec![0; BUF],
        }
    }

    /// Whether the server closed this idle connection (or sent bytes nobody asked for): a
    /// look at the socket that does not wait.
    pub fn closed_while_idle(&mut self) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        let mut rb = ReadBuf::new(&mut self.buf[..]);
        !matches!(
            Pin::new(&mut self.stream).poll_read(&mut cx, &mut rb),
            Poll::Pending
        )
    }

    /// Sends `request` and reads the response into `reading`; `t0` is when the request
    /// started (its phases are measured from it). `Ok(true)` when the connection may be
    /// reused.
    pub async fn exchange(
        &mut self,
        request: &[u8],
        head_request: bool,
        t0: Instant,
        reading: &mut Reading<'_>,
    ) -> Result<bool, Failed> {
        if self.stream.write_all(request).await.is_err() || self.stream.flush().await.is_err() {
            return Err(Failed::Stale);
        }
        let mut end = 0;
        let mut first: Option<Instant> = None;
        let (head_len, framing, mut keep) = loop {
            if end > 0 {
                match parse_head(&self.buf[..end], head_request, reading)? {
                    Head::Interim(n) => {
                        self.buf.copy_within(n..end, 0);
                        end -= n;
                        continue;
                    }
                    Head::Final(h) => break h,
                    Head::Partial => {}
                }
            }
            if end == self.buf.len() {
                if self.buf.len() >= MAX_HEAD {
                    return Err(Failed::Kind(ErrorKind::Malformed));
                }
                self.buf.resize(self.buf.len() * 2, 0);
            }
            let n = match self.stream.read(&mut self.buf[end..]).await {
                Ok(n) => n,
                Err(_) if first.is_none() => return Err(Failed::Stale),
                Err(_) => return Err(Failed::Kind(ErrorKind::Closed)),
            };
            if n == 0 {
                return Err(match first {
                    None => Failed::Stale,
                    Some(_) => Failed::Kind(ErrorKind::Closed),
                });
            }
            first.get_or_insert_with(Instant::now);
            end += n;
        };
        let first = first.unwrap_or(t0);
        reading.phases().ttfb = Some(first - t0);
        reading.body_starts();
        let (pos, end) = self.body(framing, head_len, end, first, reading).await?;
        if framing == Framing::UntilClose || pos != end {
            // Bytes after the response were never asked for: do not reuse.
            keep = false;
        }
        reading.phases().transfer = Some(first.elapsed());
        Ok(keep)
    }

    /// Reads the body that starts at `buf[pos..end]`; returns the unread part's bounds.
    async fn body(
        &mut self,
        framing: Framing,
        mut pos: usize,
        mut end: usize,
        mut now: Instant,
        reading: &mut Reading<'_>,
    ) -> Result<(usize, usize), Failed> {
        let fail = Failed::Kind;
        match framing {
            Framing::Empty => {}
            Framing::Length(mut left) => loop {
                let take = left.min((end - pos) as u64) as usize;
                if take > 0 {
                    reading
                        .data(&self.buf[pos..pos + take], now)
                        .map_err(fail)?;
                    pos += take;
                    left -= take as u64;
                }
                if left == 0 {
                    break;
                }
                (pos, end) = (0, self.fill(0).await?);
                now = Instant::now();
            },
            Framing::Chunked => {
                let mut decoder = Chunked::default();
                loop {
                    let used = decoder
                        .feed(&self.buf[pos..end], |d| reading.data(d, now))
                        .map_err(fail)?;
                    pos += used;
                    if decoder.done() {
                        break;
                    }
                    // Keep the incomplete line, read more after it.
                    self.buf.copy_within(pos..end, 0);
                    (pos, end) = (0, end - pos);
                    if end == self.buf.len() {
                        return Err(fail(ErrorKind::Malformed));
                    }
                    end += self.fill(end).await?;
                    now = Instant::now();
                }
            }
            Framing::UntilClose => loop {
                if end > pos {
                    reading.data(&self.buf[pos..end], now).map_err(fail)?;
                }
                (pos, end) = (0, 0);
                match self.stream.read(&mut self.buf[..]).await {
                    Ok(0) => break,
                    Ok(n) => end = n,
                    Err(_) => return Err(fail(ErrorKind::Closed)),
                }
                now = Instant::now();
            },
        }
        Ok((pos, end))
    }

    /// Reads into `buf[from..]`; the connection ending here cuts a response short.
    async fn fill(&mut self, from: usize) -> Result<usize, Failed> {
        match self.stream.read(&mut self.buf[from..]).await {
            Ok(0) | Err(_) => Err(Failed::Kind(ErrorKind::Closed)),
            Ok(n) => Ok(n),
        }
    }
}

#[derive(Debug, PartialEq)]
pub(super) enum Head {
    /// More bytes are needed.
    Partial,
    /// A 1xx response of this length, to skip.
    Interim(usize),
    /// The final head: its length, how the body is delimited, whether the connection stays.
    Final((usize, Framing, bool)),
}

/// Parses a response head, handing the status and headers to `reading`.
pub(super) fn parse_head(
    buf: &[u8],
    head_request: bool,
    reading: &mut Reading<'_>,
) -> Result<Head, Failed> {
    let malformed = Failed::Kind(ErrorKind::Malformed);
    let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut []);
    let len = match httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut resp,
        buf,
        &mut headers,
    ) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(Head::Partial),
        Err(_) => return Err(malformed),
    };
    let code = resp.code.unwrap_or(0);
    if (100..200).contains(&code) && code != 101 {
        return Ok(Head::Interim(len));
    }
    reading.status(code);
    let http11 = resp.version == Some(1);
    let (mut length, mut chunked, mut other_coding) = (None, false, false);
    let (mut close, mut keep_alive) = (false, false);
    for h in resp.headers.iter() {
        let name = h.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or(Failed::Kind(ErrorKind::Malformed))?;
            if length.is_some_and(|l| l != n) {
                return Err(malformed);
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            // Chunked must be the last coding; any other leaves the body to the close.
            let last = h.value.rsplit(|&b| b == b',').next().unwrap_or_default();
            chunked = last.trim_ascii().eq_ignore_ascii_case(b"chunked");
            other_coding = !chunked;
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in h.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else {
            reading.header(name, h.value);
        }
    }
    let framing = if head_request || code == 204 || code == 304 || code < 200 {
        Framing::Empty
    } else if chunked {
        Framing::Chunked
    } else if other_coding {
        Framing::UntilClose
    } else {
        match length {
            Some(0) => Framing::Empty,
            Some(n) => Framing::Length(n),
            None => Framing::UntilClose,
        }
    };
    let keep = !close && (http11 || keep_alive);
    Ok(Head::Final((len, framing, keep)))
}
