//! Each scenario's final figures to Prometheus through remote write, labelled with the commit,
//! so a dashboard shows p95 per commit over time. Opt-in (`PERFSPEC_PUSH` or `--push URL`):
//! results go only where the user says, and only to loopback unless remote addresses are
//! allowed (`PERFSPEC_ALLOW_REMOTE`).
//!
//! The body is a remote-write 1.0 `WriteRequest` (protobuf, prost) compressed with snappy's
//! block format (snap), as Prometheus' receiver (`--web.enable-remote-write-receiver`),
//! Mimir, Thanos and VictoriaMetrics read it.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::Full;

use crate::assertion::Stat;
use crate::measure::stat_of;
use crate::report::TrialReport;

/// The series a push writes, one sample each per request (`all` and every request name).
pub const SERIES: &[&str] = &[
    "perfspec_result_latency_seconds",
    "perfspec_result_throughput_per_second",
    "perfspec_result_error_ratio",
    "perfspec_result_requests",
    "perfspec_result_passed",
];

#[derive(Clone, PartialEq, prost::Message)]
struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    timeseries: Vec<TimeSeries>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    samples: Vec<Sample>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Label {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Sample {
    #[prost(double, tag = "1")]
    value: f64,
    #[prost(int64, tag = "2")]
    timestamp: i64,
}

/// Where results are pushed.
#[derive(Debug, Clone, PartialEq)]
pub struct Destination {
    /// The URL as given.
    pub url: String,
    addr: SocketAddr,
    host: String,
    path: String,
}

impl Destination {
    /// Parses a remote-write URL (`http://127.0.0.1:9090/api/v1/write`); hosts outside
    /// loopback are refused unless `allow_remote`.
    pub fn parse(url: &str, allow_remote: bool) -> Result<Destination, String> {
        let uri: http::Uri = url.parse().map_err(|_| {
            format!("push URL {url:?} is not a URL (e.g. http://127.0.0.1:9090/api/v1/write)")
        })?;
        if uri.scheme_str() != Some("http") {
            return Err(format!(
                "push URL {url:?} must be http:// (perfspec speaks plain HTTP to a receiver on this machine)"
            ));
        }
        let host = uri
            .host()
            .ok_or_else(|| format!("push URL {url:?} has no host"))?
            .trim_matches(['[', ']'])
            .to_string();
        let port = uri.port_u16().unwrap_or(80);
        let addrs: Vec<SocketAddr> = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| format!("push URL {url:?}: cannot resolve `{host}`: {e}"))?
            .collect();
        let addr = *addrs
            .first()
            .ok_or_else(|| format!("push URL {url:?}: `{host}` resolved to no address"))?;
        if !allow_remote && addrs.iter().any(|a| !a.ip().is_loopback()) {
            return Err(format!(
                "push URL {url:?} is not on loopback: results go only to this machine unless PERFSPEC_ALLOW_REMOTE=1"
            ));
        }
        Ok(Destination {
            url: url.to_string(),
            addr,
            host: uri.authority().map_or(host, |a| a.to_string()),
            path: uri.path_and_query().map_or("/".into(), |p| p.to_string()),
        })
    }
}

/// The samples of a trial that measured; nothing for one that could not.
fn series(r: &TrialReport, commit: &str, at_ms: i64) -> Vec<TimeSeries> {
    let Some(m) = r.measured() else {
        return Vec::new();
    };
    let measurement = &m.measurement;
    let mut out = Vec::new();
    let mut push = |name: &str, request: &str, extra: Option<(&str, &str)>, value: f64| {
        let mut labels = vec![
            ("__name__", name),
            ("commit", commit),
            ("request", request),
            ("scenario", r.scenario.name.as_str()),
            ("spec", r.spec.as_str()),
        ];
        labels.extend(extra);
        labels.sort();
        out.push(TimeSeries {
            labels: labels
                .into_iter()
                .map(|(n, v)| Label {
                    name: n.into(),
                    value: v.into(),
                })
                .collect(),
            samples: vec![Sample {
                value,
                timestamp: at_ms,
            }],
        });
    };
    let mut all = vec![measurement.total()];
    all.extend(measurement.requests.iter().cloned());
    for s in &all {
        for (stat, q) in [("p50", 50.0), ("p95", 95.0), ("p99", 99.0)] {
            if let Some(us) = stat_of(&s.latency, Stat::Percentile(q)) {
                push(SERIES[0], &s.name, Some(("stat", stat)), us / 1e6);
            }
        }
        push(SERIES[1], &s.name, None, measurement.throughput(s));
        push(SERIES[2], &s.name, None, s.error_rate());
        push(SERIES[3], &s.name, None, s.requests() as f64);
    }
    push(SERIES[4], "all", None, f64::from(u8::from(r.passes())));
    out
}

/// Pushes the final figures of `r`, labelled with `commit`, stamped now.
pub fn push(dest: &Destination, r: &TrialReport, commit: &str) -> Result<(), String> {
    let now_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let timeseries = series(r, commit, now_ms);
    if timeseries.is_empty() {
        return Ok(());
    }
    let body = prost::Message::encode_to_vec(&WriteRequest { timeseries });
    let compressed = snap::raw::Encoder::new()
        .compress_vec(&body)
        .map_err(|e| format!("cannot compress the push: {e}"))?;
    let req = http::Request::post(dest.path.as_str())
        .header(http::header::HOST, dest.host.as_str())
        .header(http::header::CONTENT_TYPE, "application/x-protobuf")
        .header(http::header::CONTENT_ENCODING, "snappy")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(Full::new(Bytes::from(compressed)))
        .map_err(|e| format!("cannot build the push request: {e}"))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the push: {e}"))?;
    let res = rt
        .block_on(crate::scrape::exchange(
            dest.addr,
            None,
            req,
            Duration::from_secs(10),
        ))
        .map_err(|e| format!("pushing results to {}: {e}", dest.url))?;
    if !res.status.is_success() {
        return Err(format!(
            "pushing results to {} answered {}: {}",
            dest.url,
            res.status,
            String::from_utf8_lossy(&res.body).trim()
        ));
    }
    Ok(())
}

/// The commit results are labelled with: `PERFSPEC_COMMIT`, else `git rev-parse HEAD` of
/// `workspace`, else `unknown`.
pub fn commit(workspace: &std::path::Path) -> String {
    std::env::var("PERFSPEC_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| crate::baseline::provenance(workspace).git_commit)
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_stay_on_loopback_unless_allowed() {
        let d = Destination::parse("http://127.0.0.1:9090/api/v1/write", false).unwrap();
        assert_eq!(
            (d.path.as_str(), d.host.as_str()),
            ("/api/v1/write", "127.0.0.1:9090")
        );
        let e = Destination::parse("http://10.1.2.3:9090/api/v1/write", false).unwrap_err();
        assert!(e.contains("PERFSPEC_ALLOW_REMOTE"), "{e}");
        assert!(Destination::parse("https://127.0.0.1/x", false).is_err());
        assert!(Destination::parse("not a url", false).is_err());
    }
}
