//! What an assertion naming an unknown metric is told: the catalogue in one line, an unknown
//! request, a percentile out of range, upper case, or the closest known name.

use super::metric::Stat;
use super::resolve::resolve;

pub(super) const HELP: &str = "metrics are latency stats (min, mean, stdev, median, p50, p75, p90, \
    p95, p99, p99.9, max; latency.STAT, response.STAT or e2e.STAT, and service.STAT for service \
    time), error-rate, errors, throughput, requests, dropped; for streams ttft.STAT, itl.STAT, \
    tpot.STAT, output-tokens, output-tokens-per-second; goodput, goodput-rate; stage.NAME.STAT \
    for Server-Timing stages; connection phases connect.STAT, tls.STAT, ttfb.STAT, transfer.STAT; \
    availability, recovery-time, capacity, capacity-users, sut.alive; \
    flow.duration.STAT, flow.success-rate, flow.iterations (or flow.NAME.…); \
    prefix a request name to limit one to a request, e.g. \"search.p99 < 500ms\"; \
    resources are sut.cpu.STAT, sut.rss.STAT, sut.rss.growth, sut.rss.slope, sut.threads.STAT, \
    sut.disk.read, system.cpu.STAT, system.mem.STAT, generator.cpu.STAT, gpu.util.STAT, gpu.mem.sut, …";

pub(super) fn unknown(text: &str, segs: &[String], requests: &[&str]) -> (String, String) {
    if let Some(hint) = super::resource::unknown(text, segs, HELP) {
        return hint;
    }
    if segs.len() > 1 && !requests.contains(&segs[0].as_str()) && Stat::parse(&segs[1]).is_some() {
        let known = if requests.is_empty() {
            "none".to_string()
        } else {
            requests.join(", ")
        };
        return (
            format!("unknown request `{}` in `{text}`", segs[0]),
            format!("requests of this spec: {known}"),
        );
    }
    if let Some(stat) = segs.last().and_then(|s| s.strip_prefix('p'))
        && stat.parse::<f64>().is_ok()
    {
        return (
            format!("`p{stat}` is not a percentile between 0 and 100"),
            "percentiles are written p50, p90, p99, p99.9".into(),
        );
    }
    let lower = text.to_lowercase();
    if lower != text && resolve(&lower, requests).is_ok() {
        return (
            format!("unknown metric `{text}`"),
            format!("metrics are lower case: `{lower}`"),
        );
    }
    let last = segs.last().map_or("", String::as_str);
    if let Some(close) = crate::spec::closest_name(last, NAMES.iter().copied()) {
        return (
            format!("unknown metric `{text}`"),
            format!("did you mean `{close}`? {HELP}"),
        );
    }
    (format!("unknown metric `{text}`"), HELP.into())
}

/// Metric and statistic names, for "did you mean".
const NAMES: &[&str] = &[
    "min",
    "mean",
    "stdev",
    "median",
    "max",
    "p50",
    "p75",
    "p90",
    "p95",
    "p99",
    "p99.9",
    "latency",
    "service",
    "error-rate",
    "errors",
    "throughput",
    "requests",
    "dropped",
    "ttft",
    "itl",
    "tpot",
    "e2e",
    "stage",
    "connect",
    "tls",
    "ttfb",
    "transfer",
    "output-tokens",
    "output-tokens-per-second",
    "goodput",
    "goodput-rate",
    "availability",
    "recovery-time",
    "capacity",
    "capacity-users",
    "flow",
];
