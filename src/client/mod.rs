//! Executing one request: HTTP/1.1 on the hot path (each user's own keep-alive connection),
//! HTTP/2 through hyper (users are streams over shared connections), either over TLS
//! (rustls), with the connection phases of every request timed.

mod chunked;
#[cfg(fuzzing)]
pub mod fuzz;
mod h1;
mod h2;
mod prepared;
mod response;
mod sse;
mod tls;
mod transport;
mod user;

#[cfg(test)]
mod tests;

pub(crate) use prepared::Prepared;
pub(crate) use response::{Detail, Exchange};
#[cfg(test)]
pub(crate) use sse::StreamTiming;
pub(crate) use transport::{Tls, Transport};
pub(crate) use user::{HttpUser, probe};
