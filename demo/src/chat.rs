//! `POST /v1/chat/completions` (OpenAI-compatible): a real retrieval stage followed by
//! simulated, precisely scheduled token generation, streamed or not.

use std::time::{SystemTime, UNIX_EPOCH};

use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::BodyExt;
use serde::Deserialize;
use tokio::time::{Instant, sleep_until};

use crate::corpus::Corpus;
use crate::respond::{ApiError, ChannelBody, ResBody, SERVER_TIMING, json, parse_json};
use crate::slowdown::Endpoint;
use crate::sse::{self, Completion, Generation};
use crate::state::AppState;
use crate::vocab::WORDS;

/// Default `max_tokens`.
pub const DEFAULT_MAX_TOKENS: u64 = 64;
/// Largest accepted `max_tokens`.
pub const MAX_TOKENS: u64 = 2048;
/// Documents retrieved to "ground" the answer.
const RETRIEVE_K: usize = 3;
const DEFAULT_MODEL: &str = "perfspec-demo";

/// Request body (unknown fields, e.g. `temperature`, are ignored like a real server would).
#[derive(Debug, Deserialize)]
pub struct ChatRequest {
    /// Echoed back in the response.
    pub model: Option<String>,
    /// Conversation; must not be empty.
    pub messages: Vec<Message>,
    /// Tokens to generate, 1..=2048 (default 64).
    pub max_tokens: Option<u64>,
    /// Server-sent events instead of one JSON answer.
    pub stream: Option<bool>,
    /// Streaming options.
    pub stream_options: Option<StreamOptions>,
}

/// `stream_options` of a chat request.
#[derive(Debug, Deserialize)]
pub struct StreamOptions {
    /// Send a final chunk with token usage.
    pub include_usage: Option<bool>,
}

/// One chat message.
#[derive(Debug, Deserialize)]
pub struct Message {
    /// `system`, `user`, `assistant`, ...
    pub role: String,
    /// Text, or a list of content parts.
    pub content: Option<Content>,
}

/// Message content: plain text or OpenAI-style parts (`[{"type":"text","text":"..."}]`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Content parts; only their `text` is used.
    Parts(Vec<Part>),
}

/// One content part.
#[derive(Debug, Deserialize)]
pub struct Part {
    /// Text of a text part (other parts have none).
    pub text: Option<String>,
}

impl Message {
    fn text(&self) -> String {
        match &self.content {
            None => String::new(),
            Some(Content::Text(t)) => t.clone(),
            Some(Content::Parts(parts)) => parts
                .iter()
                .filter_map(|p| p.text.as_deref())
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

impl ChatRequest {
    /// Parses and validates a request body.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let req: Self = parse_json(body)?;
        if req.messages.is_empty() {
            return Err(ApiError::bad_request("`messages` must not be empty"));
        }
        if let Some(n) = req.max_tokens
            && !(1..=MAX_TOKENS).contains(&n)
        {
            return Err(ApiError::bad_request(format!(
                "`max_tokens` must be between 1 and {MAX_TOKENS}"
            )));
        }
        Ok(req)
    }

    /// Number of tokens to generate.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS) as usize
    }

    /// Prompt size: whitespace-separated words over all messages.
    pub fn prompt_tokens(&self) -> usize {
        self.messages
            .iter()
            .map(|m| m.text().split_whitespace().count())
            .sum()
    }

    /// The retrieval query: the last user message (empty if there is none).
    pub fn query(&self) -> String {
        self.messages
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .map(Message::text)
            .unwrap_or_default()
    }
}

/// Handles one chat completion; `start` is when the request arrived, the origin of
/// every scheduled token time.
pub async fn completions(
    state: &AppState,
    corpus: &Corpus,
    body: &[u8],
    start: Instant,
) -> Result<Response<ResBody>, ApiError> {
    let handler_start = std::time::Instant::now();
    let slow = &state.slowdown;
    let mut stages = slow.stages(Endpoint::Chat);
    let req = ChatRequest::parse(body)?;

    // Retrieval is real work (embedding + exact search), so it is also what --slowdown
    // burns CPU for; it runs inside the TTFT budget.
    let query = req.query();
    let words = stages.run("retrieve", || {
        let hits = corpus.search(&state.embedder.embed(&query), RETRIEVE_K);
        let words: Vec<String> = hits
            .iter()
            .filter_map(|h| corpus.doc(h.id))
            .flat_map(|d| d.text.split_whitespace())
            .map(|w| format!("{w} "))
            .collect();
        words
    });
    let words = if words.is_empty() {
        WORDS.iter().map(|w| format!("{w} ")).collect()
    } else {
        words
    };

    // Generation is simulated with sleeps; scaling its schedule is what makes a slowed-down
    // chat endpoint slower from the client's point of view.
    let mut generation = Generation {
        id: format!("chatcmpl-{}", state.next_id()),
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        model: req
            .model
            .clone()
            .unwrap_or_else(|| DEFAULT_MODEL.to_owned()),
        words,
        max_tokens: req.max_tokens(),
        prompt_tokens: req.prompt_tokens(),
        start,
        ttft: slow.scale(Endpoint::Chat, state.ttft),
        token_delay: slow.scale(Endpoint::Chat, state.token_delay),
        exact_first: false,
    };
    stages.finish(handler_start);
    if state.prompts.enabled() {
        // The prompt cache decides the prefill; the first token is promised (Server-Timing
        // `ttft`, from the request's arrival) and kept.
        let reply: String = (0..generation.max_tokens)
            .map(|i| generation.token(i))
            .collect();
        let messages: Vec<(&str, String)> = req
            .messages
            .iter()
            .map(|m| (m.role.as_str(), m.text()))
            .collect();
        let prefill = state.prompts.prefill(&messages, &reply);
        generation.ttft += prefill.time;
        generation.exact_first = true;
        stages.record("prefill", prefill.time);
        stages.record("ttft", generation.ttft);
    }

    if req.stream.unwrap_or(false) {
        let include_usage = req
            .stream_options
            .as_ref()
            .and_then(|o| o.include_usage)
            .unwrap_or(false);
        let (tx, body) = ChannelBody::channel(16);
        tokio::spawn(sse::stream(generation, include_usage, tx));
        let mut res = Response::new(body.boxed());
        let headers = res.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(SERVER_TIMING, stages.header());
        return Ok(res);
    }

    let generate_start = Instant::now();
    sleep_until(generation.token_at(generation.max_tokens.saturating_sub(1))).await;
    stages.record("generate", generate_start.elapsed());
    let mut res = json(StatusCode::OK, &Completion::new(&generation));
    res.headers_mut().insert(SERVER_TIMING, stages.header());
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        let ok = ChatRequest::parse(
            br#"{"model":"m","messages":[{"role":"user","content":"hi there"}]}"#,
        )
        .unwrap();
        assert_eq!(
            (ok.max_tokens(), ok.prompt_tokens(), ok.query().as_str()),
            (64, 2, "hi there")
        );
        let bad: [&[u8]; 9] = [
            br#"{"messages":[]}"#,
            br#"{"model":"m"}"#,
            br#"{"messages":[{"role":"user","content":"a"}],"max_tokens":0}"#,
            br#"{"messages":[{"role":"user","content":"a"}],"max_tokens":2049}"#,
            br#"{"messages":[{"role":"user","content":"a"}],"max_tokens":1e30}"#,
            br#"{"messages":[{"role":"user","content":"a"}],"stream":"yes"}"#,
            br#"{"messages":[{"role":"user","content":7}]}"#,
            br#"{"messages":"hello"}"#,
            b"[1,2",
        ];
        for body in bad {
            let err = ChatRequest::parse(body).unwrap_err();
            assert_eq!(
                err.status,
                StatusCode::BAD_REQUEST,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn prompt_and_query_over_all_messages() {
        let req = ChatRequest::parse(
            br#"{"messages":[
                {"role":"system","content":"be brief"},
                {"role":"user","content":[{"type":"text","text":"first question"}]},
                {"role":"assistant","content":null},
                {"role":"user","content":"second  question here"}]}"#,
        )
        .unwrap();
        assert_eq!(req.prompt_tokens(), 2 + 2 + 3);
        assert_eq!(req.query(), "second  question here");
    }
}
