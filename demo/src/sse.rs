//! Simulated token generation: the schedule, the OpenAI response shapes, and the
//! server-sent-events producer task.

use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

/// Everything needed to generate (and time) one completion.
#[derive(Debug, Clone)]
pub struct Generation {
    /// `chatcmpl-N`.
    pub id: String,
    /// Unix seconds.
    pub created: u64,
    /// Echoed model name.
    pub model: String,
    /// Token texts (`"word "`), cycled through.
    pub words: Vec<String>,
    /// Tokens to produce.
    pub max_tokens: usize,
    /// Prompt size, for `usage`.
    pub prompt_tokens: usize,
    /// Request arrival: origin of the schedule.
    pub start: Instant,
    /// Arrival to first token.
    pub ttft: Duration,
    /// Between tokens.
    pub token_delay: Duration,
    /// Send the first token at its instant, not up to a timer tick later (the service
    /// promised it in `Server-Timing`).
    pub exact_first: bool,
}

impl Generation {
    /// When token `i` is due. Absolute times, so a late wake-up does not delay the rest.
    pub fn token_at(&self, i: usize) -> Instant {
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        self.start + self.ttft + self.token_delay.saturating_mul(i)
    }

    /// Text of token `i`.
    pub fn token(&self, i: usize) -> &str {
        self.words
            .get(i % self.words.len().max(1))
            .map_or("", String::as_str)
    }

    fn usage(&self) -> Usage {
        Usage {
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.max_tokens,
            total_tokens: self.prompt_tokens + self.max_tokens,
        }
    }
}

/// Token accounting.
#[derive(Debug, Serialize)]
pub struct Usage {
    prompt_tokens: usize,
    completion_tokens: usize,
    total_tokens: usize,
}

/// Non-streaming response (`chat.completion`).
#[derive(Debug, Serialize)]
pub struct Completion<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [Choice; 1],
    usage: Usage,
}

#[derive(Debug, Serialize)]
struct Choice {
    index: u32,
    message: Message,
    finish_reason: &'static str,
}

#[derive(Debug, Serialize)]
struct Message {
    role: &'static str,
    content: String,
}

impl<'a> Completion<'a> {
    /// The full answer for `g`.
    pub fn new(g: &'a Generation) -> Self {
        let content = (0..g.max_tokens).map(|i| g.token(i)).collect();
        Completion {
            id: &g.id,
            object: "chat.completion",
            created: g.created,
            model: &g.model,
            choices: [Choice {
                index: 0,
                message: Message {
                    role: "assistant",
                    content,
                },
                finish_reason: "length",
            }],
            usage: g.usage(),
        }
    }
}

/// One streamed `chat.completion.chunk`.
#[derive(Debug, Serialize)]
struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: Vec<ChunkChoice<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Usage>,
}

#[derive(Debug, Serialize)]
struct ChunkChoice<'a> {
    index: u32,
    delta: Delta<'a>,
    finish_reason: Option<&'static str>,
}

#[derive(Debug, Default, Serialize)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
}

impl Generation {
    fn chunk<'a>(&'a self, choice: Option<ChunkChoice<'a>>, usage: Option<Usage>) -> Chunk<'a> {
        Chunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model: &self.model,
            choices: choice.into_iter().collect(),
            usage,
        }
    }
}

/// Appends `data: {json}\n\n`.
fn push_event<T: Serialize>(out: &mut Vec<u8>, value: &T) {
    out.extend_from_slice(b"data: ");
    // Our own plain structs always serialise; nothing to report if they did not.
    let _ = serde_json::to_writer(&mut *out, value);
    out.extend_from_slice(b"\n\n");
}

fn delta<'a>(delta: Delta<'a>, finish_reason: Option<&'static str>) -> Option<ChunkChoice<'a>> {
    Some(ChunkChoice {
        index: 0,
        delta,
        finish_reason,
    })
}

/// The SSE bytes of token `i` (token 0 is preceded by the role chunk).
fn token_event(g: &Generation, i: usize) -> Bytes {
    let mut out = Vec::with_capacity(256);
    if i == 0 {
        let role = Delta {
            role: Some("assistant"),
            content: Some(""),
        };
        push_event(&mut out, &g.chunk(delta(role, None), None));
    }
    let content = Delta {
        role: None,
        content: Some(g.token(i)),
    };
    push_event(&mut out, &g.chunk(delta(content, None), None));
    Bytes::from(out)
}

/// The SSE bytes after the last token: finish chunk, optional usage chunk, `[DONE]`.
fn closing_events(g: &Generation, include_usage: bool) -> Bytes {
    let mut out = Vec::with_capacity(512);
    push_event(
        &mut out,
        &g.chunk(delta(Delta::default(), Some("length")), None),
    );
    if include_usage {
        push_event(&mut out, &g.chunk(None, Some(g.usage())));
    }
    out.extend_from_slice(b"data: [DONE]\n\n");
    Bytes::from(out)
}

/// Producer task of a streaming response: sends each token at its scheduled time and
/// stops as soon as the client is gone (the body, hence the receiver, was dropped).
pub async fn stream(g: Generation, include_usage: bool, tx: mpsc::Sender<Bytes>) {
    for i in 0..g.max_tokens {
        let at = g.token_at(i);
        // Timers wake up to a tick (1 ms) late: for a first token promised in Server-Timing,
        // wake two ticks early and yield until its instant (a bounded wait).
        let wake = match (i, g.exact_first) {
            (0, true) => at.checked_sub(Duration::from_millis(2)).unwrap_or(at),
            _ => at,
        };
        tokio::select! {
            () = sleep_until(wake) => {}
            () = tx.closed() => return,
        }
        while Instant::now() < at {
            tokio::task::yield_now().await;
        }
        if tx.send(token_event(&g, i)).await.is_err() {
            return;
        }
    }
    let _ = tx.send(closing_events(&g, include_usage)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generation(n: usize) -> Generation {
        Generation {
            id: "chatcmpl-1".into(),
            created: 1,
            model: "m".into(),
            words: vec!["a ".into(), "b ".into()],
            max_tokens: n,
            prompt_tokens: 3,
            start: Instant::now(),
            ttft: Duration::from_millis(40),
            token_delay: Duration::from_millis(8),
            exact_first: false,
        }
    }

    #[test]
    fn schedule_is_absolute() {
        let g = generation(4);
        assert_eq!(g.token_at(0) - g.start, Duration::from_millis(40));
        assert_eq!(g.token_at(3) - g.start, Duration::from_millis(64));
    }

    #[test]
    fn completion_shape() {
        let g = generation(3);
        let v = serde_json::to_value(Completion::new(&g)).unwrap();
        assert_eq!(v["choices"][0]["message"]["content"], "a b a ");
        assert_eq!(v["choices"][0]["finish_reason"], "length");
        assert_eq!(v["usage"]["total_tokens"], 6);
    }

    #[test]
    fn events() {
        let g = generation(3);
        let first = String::from_utf8(token_event(&g, 0).to_vec()).unwrap();
        assert_eq!(first.matches("data: ").count(), 2);
        assert!(
            first.contains(r#""delta":{"role":"assistant","content":""},"finish_reason":null"#)
        );
        let end = String::from_utf8(closing_events(&g, true).to_vec()).unwrap();
        assert!(end.contains(r#""choices":[],"usage":{"prompt_tokens":3,"completion_tokens":3"#));
        assert!(end.ends_with("data: [DONE]\n\n"));
    }
}
