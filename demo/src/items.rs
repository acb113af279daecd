//! A session-scoped resource for flows: `POST /login` issues a token; `POST /items`,
//! `GET /items/{id}` and `DELETE /items/{id}` need `Authorization: Bearer TOKEN`, and a
//! token sees only its own items.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use http::header::AUTHORIZATION;
use http::{HeaderMap, Method, Response, StatusCode};

use crate::respond::{ApiError, ResBody, json};

/// Tokens issued and the items of each.
#[derive(Debug, Default)]
pub struct Items {
    next: AtomicU64,
    sessions: Mutex<HashMap<String, HashMap<u64, ()>>>,
}

impl Items {
    /// Answers a login or item route; `None` for any other path.
    pub fn handle(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
    ) -> Option<Response<ResBody>> {
        let res = match (method, path) {
            (&Method::POST, "/login") => Ok(self.login()),
            (_, "/login") => Err(ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "POST /login")),
            (&Method::POST, "/items") => self.with_session(headers, |items, id| {
                items.insert(id, ());
                json(StatusCode::CREATED, &serde_json::json!({ "id": id }))
            }),
            (_, "/items") => Err(ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "POST /items")),
            _ => {
                let id = path.strip_prefix("/items/")?;
                let Ok(id) = id.parse::<u64>() else {
                    return Some(
                        ApiError::new(StatusCode::NOT_FOUND, "no such item").into_response(),
                    );
                };
                let method = method.clone();
                self.with_session(headers, move |items, _| {
                    let found = match method {
                        Method::GET => items.contains_key(&id),
                        Method::DELETE => items.remove(&id).is_some(),
                        _ => {
                            return ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "GET or DELETE")
                                .into_response();
                        }
                    };
                    if found {
                        json(StatusCode::OK, &serde_json::json!({ "id": id }))
                    } else {
                        ApiError::new(StatusCode::NOT_FOUND, "no such item").into_response()
                    }
                })
            }
        };
        Some(res.unwrap_or_else(ApiError::into_response))
    }

    fn login(&self) -> Response<ResBody> {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let token = format!("t{n:08x}");
        self.lock().insert(token.clone(), HashMap::new());
        json(StatusCode::OK, &serde_json::json!({ "token": token }))
    }

    /// Runs `f` on the items of the request's token, with a fresh id; 401 without a valid
    /// token.
    fn with_session(
        &self,
        headers: &HeaderMap,
        f: impl FnOnce(&mut HashMap<u64, ()>, u64) -> Response<ResBody>,
    ) -> Result<Response<ResBody>, ApiError> {
        let token = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let mut sessions = self.lock();
        let Some(items) = token.and_then(|t| sessions.get_mut(t)) else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "log in first: POST /login",
            ));
        };
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        Ok(f(items, id))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashMap<u64, ()>>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }
}
