//! Executing one request: HTTP over a user's own keep-alive connection.

mod http;
mod prepared;
mod sse;

pub(crate) use self::http::{Detail, HttpUser};
pub(crate) use prepared::Prepared;
