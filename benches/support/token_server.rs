//! The server of the streams benchmark: OpenAI-style chat-completion streams (hyper, one
//! thread, on 127.0.0.1:0) whose tokens are due at a fixed pace, and the ground truth: the gap
//! it actually produced between every two consecutive tokens of a stream, and how late each
//! token was against its schedule.
//!
//! A token's time is taken when hyper polls it out of the body, and hyper writes (and
//! flushes) the chunk to the socket in that same poll of the connection task, so the time is
//! that of the `write` to within microseconds. Gaps are kept in histograms per 100 ms of wall
//! clock, so a benchmark can ask for exactly the generator's measured window:
//! `GET /truth?from_us=A&to_us=B` (Unix µs) answers with the slots wholly inside it.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::BodyExt;
use hyper::body::Frame;
use tokio::time::{Instant, Sleep};

/// From the request to the first token.
pub const TTFT: Duration = Duration::from_millis(20);
/// Between two tokens.
pub const GAP: Duration = Duration::from_millis(20);
/// Tokens per stream.
pub const TOKENS: u32 = 30;

/// The width of one slot of the truth histograms, µs.
const SLOT_US: u64 = 100_000;

/// What the server produced in one slot of wall-clock time.
struct Slot {
    /// Actual gaps between consecutive tokens of a stream, µs.
    gaps: Histogram<u64>,
    /// Actual minus scheduled time of every token, µs.
    late: Histogram<u64>,
}

/// The server's record of what it actually did.
#[derive(Default)]
struct Truth {
    slots: Mutex<BTreeMap<u64, Slot>>,
}

impl Truth {
    fn record(&self, gap: Option<Duration>, late: Duration) {
        let slot = unix_us() / SLOT_US;
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let s = slots.entry(slot).or_insert_with(|| Slot {
            gaps: Histogram::new(3).expect("3 significant figures"),
            late: Histogram::new(3).expect("3 significant figures"),
        });
        if let Some(gap) = gap {
            let _ = s.gaps.record(gap.as_micros() as u64);
        }
        let _ = s.late.record(late.as_micros() as u64);
    }

    /// The slots wholly inside `[from_us, to_us]`, merged, as one JSON object.
    fn report(&self, from_us: u64, to_us: u64) -> String {
        let mut gaps = Histogram::<u64>::new(3).expect("3 significant figures");
        let mut late = gaps.clone();
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let inside = from_us.div_ceil(SLOT_US)..(to_us / SLOT_US).max(from_us.div_ceil(SLOT_US));
        for s in slots.range(inside.clone()).map(|(_, s)| s) {
            gaps.add(&s.gaps).expect("auto-resizing histograms merge");
            late.add(&s.late).expect("auto-resizing histograms merge");
        }
        let q = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q);
        serde_json::json!({
            "window_s": (inside.end.saturating_sub(inside.start) * SLOT_US) as f64 / 1e6,
            "gaps": gaps.len(),
            "gap_p50_us": q(&gaps, 0.5),
            "gap_p99_us": q(&gaps, 0.99),
            "gap_mean_us": gaps.mean(),
            "gap_max_us": gaps.max(),
            "late_p50_us": q(&late, 0.5),
            "late_p99_us": q(&late, 0.99),
            "late_max_us": late.max(),
        })
        .to_string()
    }
}

/// Wall-clock time, µs since the Unix epoch.
pub fn unix_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Serves until stdin closes (the benchmark ends or dies); prints its URL on the first line.
pub fn serve() {
    let truth = Arc::new(Truth::default());
    let server = testkit::Server::http(1, move |req| {
        let truth = truth.clone();
        async move {
            if req.uri().path() == "/truth" {
                let arg = |name: &str| -> u64 {
                    req.uri()
                        .query()
                        .unwrap_or("")
                        .split('&')
                        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0)
                };
                return testkit::text(200, truth.report(arg("from_us"), arg("to_us")));
            }
            // The request body is read, as a real server would, so the connection is reused.
            let _ = req.into_body().collect().await;
            let mut r = testkit::Response::new(Tokens::new(truth).boxed());
            r.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/event-stream"),
            );
            r
        }
    });
    println!("{}", server.url());
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
}

/// The body of one stream: a role chunk at once, then `TOKENS` content chunks at
/// `TTFT + i × GAP` from the request (absolute times: lateness does not add up), the last one
/// followed by the finish and usage chunks and `[DONE]` in the same write.
struct Tokens {
    start: Instant,
    /// 0: the role chunk is next; i ≥ 1: token i − 1 is next.
    next: u32,
    sleep: Pin<Box<Sleep>>,
    last: Option<Instant>,
    truth: Arc<Truth>,
}

impl Tokens {
    fn new(truth: Arc<Truth>) -> Tokens {
        let start = Instant::now();
        Tokens {
            start,
            next: 0,
            sleep: Box::pin(tokio::time::sleep_until(start + TTFT)),
            last: None,
            truth,
        }
    }

    fn due(&self, token: u32) -> Instant {
        self.start + TTFT + GAP * token
    }
}

fn chunk(delta: &str) -> String {
    format!(
        "data: {{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":null}}]}}\n\n"
    )
}

impl hyper::body::Body for Tokens {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        if this.next > TOKENS {
            return Poll::Ready(None);
        }
        if this.next == 0 {
            this.next = 1;
            let role = chunk("{\"role\":\"assistant\",\"content\":\"\"}");
            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(role)))));
        }
        ready!(this.sleep.as_mut().poll(cx));
        let token = this.next - 1;
        let now = Instant::now();
        let gap = this.last.map(|last| now.duration_since(last));
        this.truth
            .record(gap, now.saturating_duration_since(this.due(token)));
        this.last = Some(now);
        this.next += 1;
        let mut text = chunk(&format!("{{\"content\":\"w{token} \"}}"));
        if this.next > TOKENS {
            text.push_str(&format!(
                "data: {{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"length\"}}]}}\n\n\
                 data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":5,\"completion_tokens\":{TOKENS},\"total_tokens\":{}}}}}\n\n\
                 data: [DONE]\n\n",
                TOKENS + 5
            ));
        } else {
            let due = this.due(this.next - 1);
            this.sleep.as_mut().reset(due);
        }
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(text)))))
    }

    fn is_end_stream(&self) -> bool {
        self.next > TOKENS
    }
}
