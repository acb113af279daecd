//! Executing one request: HTTP over a user's own keep-alive connection.

mod http;
mod prepared;

pub(crate) use self::http::HttpUser;
pub(crate) use prepared::Prepared;
