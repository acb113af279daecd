//! `GET /health`, `POST /embed` and `POST /search`.

use std::time::Instant;

use http::{Response, StatusCode};
use serde::{Deserialize, Serialize};

use crate::corpus::Corpus;
use crate::respond::{ApiError, ResBody, SERVER_TIMING, json, parse_json};
use crate::slowdown::Endpoint;
use crate::state::AppState;

/// Most texts accepted by one batched `/embed` call.
pub const MAX_BATCH: usize = 256;
/// Default `top-k` of `/search`.
pub const DEFAULT_TOP_K: u64 = 5;
/// Largest accepted `top-k`.
pub const MAX_TOP_K: u64 = 100;

/// `GET /health`: 503 while the corpus is being built, 200 afterwards.
pub fn health(state: &AppState) -> Response<ResBody> {
    #[derive(Serialize)]
    struct Health {
        status: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        corpus: Option<usize>,
        #[serde(skip_serializing_if = "Option::is_none")]
        dim: Option<usize>,
    }
    match state.corpus.get() {
        None => json(
            StatusCode::SERVICE_UNAVAILABLE,
            &Health {
                status: "starting",
                corpus: None,
                dim: None,
            },
        ),
        Some(c) => json(
            StatusCode::OK,
            &Health {
                status: "ok",
                corpus: Some(c.len()),
                dim: Some(c.dim()),
            },
        ),
    }
}

/// Body of `POST /embed`: exactly one of `text` and `texts`.
#[derive(Debug, Deserialize)]
pub struct EmbedRequest {
    /// One text.
    pub text: Option<String>,
    /// Several texts (1..=256).
    pub texts: Option<Vec<String>>,
}

/// `POST /embed`.
pub fn embed(state: &AppState, body: &[u8]) -> Result<Response<ResBody>, ApiError> {
    #[derive(Serialize)]
    struct One {
        dim: usize,
        embedding: Vec<f32>,
    }
    #[derive(Serialize)]
    struct Many {
        dim: usize,
        embeddings: Vec<Vec<f32>>,
    }
    let handler_start = Instant::now();
    let mut stages = state.slowdown.stages(Endpoint::Embed);
    let req: EmbedRequest = parse_json(body)?;
    let e = &state.embedder;
    let dim = e.dim();
    let mut res = match (req.text, req.texts) {
        (Some(text), None) => {
            let embedding = stages.run("embed", || e.embed(&text));
            json(StatusCode::OK, &One { dim, embedding })
        }
        (None, Some(texts)) => {
            if texts.is_empty() || texts.len() > MAX_BATCH {
                return Err(ApiError::bad_request(format!(
                    "`texts` must hold 1 to {MAX_BATCH} strings"
                )));
            }
            let embeddings = stages.run("embed", || texts.iter().map(|t| e.embed(t)).collect());
            json(StatusCode::OK, &Many { dim, embeddings })
        }
        _ => {
            return Err(ApiError::bad_request(
                "expected exactly one of `text` and `texts`",
            ));
        }
    };
    stages.finish(handler_start);
    res.headers_mut().insert(SERVER_TIMING, stages.header());
    Ok(res)
}

/// Body of `POST /search`.
#[derive(Debug, Deserialize)]
pub struct SearchRequest {
    /// Query text.
    pub query: String,
    /// Number of results, 1..=100 (default 5); `top_k` is accepted too.
    #[serde(rename = "top-k", alias = "top_k", default)]
    pub top_k: Option<u64>,
}

impl SearchRequest {
    /// Parses and validates a request body.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let req: Self = parse_json(body)?;
        match req.top_k {
            Some(k) if !(1..=MAX_TOP_K).contains(&k) => Err(ApiError::bad_request(format!(
                "`top-k` must be between 1 and {MAX_TOP_K}"
            ))),
            _ => Ok(req),
        }
    }

    /// The requested number of results.
    pub fn k(&self) -> usize {
        self.top_k.unwrap_or(DEFAULT_TOP_K) as usize
    }
}

/// `POST /search`: embed the query, then exact top-k over the whole corpus.
pub fn search(
    state: &AppState,
    corpus: &Corpus,
    body: &[u8],
) -> Result<Response<ResBody>, ApiError> {
    #[derive(Serialize)]
    struct Item<'a> {
        id: u32,
        score: f32,
        title: &'a str,
    }
    #[derive(Serialize)]
    struct Results<'a> {
        results: Vec<Item<'a>>,
    }
    let handler_start = Instant::now();
    let mut stages = state.slowdown.stages(Endpoint::Search);
    let req = SearchRequest::parse(body)?;
    let (query, hit, entries) = stages.run("embed", || {
        state
            .cache
            .get_or_embed(&req.query, || state.embedder.embed(&req.query))
    });
    state.metrics.cache_lookups.inc();
    if hit {
        state.metrics.cache_hits.inc();
    }
    state.metrics.cache_entries.set(entries as i64);
    let hits = stages.run("search", || corpus.search(&query, req.k()));
    let results = hits
        .iter()
        .map(|h| Item {
            id: h.id,
            score: h.score,
            title: corpus.doc(h.id).map_or("", |d| d.title.as_str()),
        })
        .collect();
    let mut res = json(StatusCode::OK, &Results { results });
    stages.finish(handler_start);
    res.headers_mut().insert(SERVER_TIMING, stages.header());
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_request_validation() {
        assert_eq!(SearchRequest::parse(br#"{"query":"a"}"#).unwrap().k(), 5);
        assert_eq!(
            SearchRequest::parse(br#"{"query":"a","top-k":7}"#)
                .unwrap()
                .k(),
            7
        );
        assert_eq!(
            SearchRequest::parse(br#"{"query":"a","top_k":100}"#)
                .unwrap()
                .k(),
            100
        );
        let bad: [&[u8]; 9] = [
            br#"{"query":"a","top-k":0}"#,
            br#"{"query":"a","top-k":101}"#,
            br#"{"query":"a","top-k":-1}"#,
            br#"{"query":"a","top-k":1.5}"#,
            br#"{"query":"a","top-k":"5"}"#,
            br#"{"query":"a","top-k":99999999999999999999999}"#,
            br#"{"query":7}"#,
            br#"{}"#,
            b"not json",
        ];
        for body in bad {
            let err = SearchRequest::parse(body).unwrap_err();
            assert_eq!(
                err.status,
                StatusCode::BAD_REQUEST,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn embed_request_validation() {
        let state = AppState::new(&<crate::cli::Options as clap::Parser>::parse_from([
            "x", "--dim", "8",
        ]));
        assert!(embed(&state, br#"{"text":"hello"}"#).is_ok());
        assert!(embed(&state, br#"{"texts":["a","b"]}"#).is_ok());
        let too_many = format!(r#"{{"texts":{:?}}}"#, vec!["a"; MAX_BATCH + 1]);
        let bad = [
            r#"{}"#,
            r#"{"text":"a","texts":["b"]}"#,
            r#"{"texts":[]}"#,
            r#"{"text":5}"#,
            r#"{"texts":[1,2]}"#,
            r#"{"txt":"a"}"#,
            too_many.as_str(),
        ];
        for body in bad {
            let err = embed(&state, body.as_bytes()).unwrap_err();
            assert_eq!(err.status, StatusCode::BAD_REQUEST, "{body}");
        }
    }
}
