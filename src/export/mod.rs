//! Results and live figures for Prometheus and Grafana: the live OpenMetrics endpoint of a
//! run ([`LiveServer`]) and each scenario's final figures pushed through Prometheus remote
//! write ([`push`]) for trends per commit.

mod histogram;
mod live;
pub mod push;

pub use histogram::{BOUNDS, Buckets};
pub(crate) use live::RunFeed;
pub use live::{EXPORTED, LiveServer, parse_addr};
