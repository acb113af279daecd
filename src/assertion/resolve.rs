//! From a metric's path as written (`search.p99.9`, `flow.checkout.success-rate`,
//! `cpu.max`) to its request scope and [`Metric`].

use super::metric::{ConnPhase, Metric, Stat, Token};
use super::resource;

/// Splits `search.p99.9` into `["search", "p99.9"]`, keeping a percentile's decimals.
fn segments(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in text.split('.') {
        let joins = out.last().is_some_and(|prev| {
            prev.len() > 1 && prev.starts_with('p') && prev[1..].chars().all(|c| c.is_ascii_digit())
        }) && !part.is_empty()
            && part.chars().all(|c| c.is_ascii_digit());
        if joins {
            let last = out.last_mut().expect("checked above");
            last.push('.');
            last.push_str(part);
        } else {
            out.push(part.to_string());
        }
    }
    out
}

/// Resolves a metric path to an optional request scope and a metric.
pub(super) fn resolve(
    text: &str,
    requests: &[&str],
) -> Result<(Option<String>, Metric), (String, String)> {
    let segs = segments(text);
    // `flow.…` reads flow iterations, unless a request is called `flow` and this is one of
    // its metrics.
    if segs.first().is_some_and(|s| s == "flow") {
        if let Some(f) = super::FlowMetric::parse(&segs[1..]) {
            return Ok((None, Metric::Flow(f)));
        }
        if !requests.contains(&"flow") {
            return Err((
                format!("unknown flow metric `{text}`"),
                super::flow::HELP.into(),
            ));
        }
    }
    let (scope, rest) = match segs.first() {
        Some(first) if segs.len() > 1 && requests.contains(&first.as_str()) => {
            (Some(first.clone()), &segs[1..])
        }
        _ => (None, &segs[..]),
    };
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let metric = match rest.as_slice() {
        ["sut", "alive"] => Metric::SutAlive,
        ["availability"] => Metric::Availability,
        ["recovery-time"] => Metric::RecoveryTime,
        ["capacity"] => Metric::Capacity,
        ["capacity-users"] => Metric::CapacityUsers,
        [whose, ..] if resource::Source::parse(whose).is_some() => {
            if scope.is_some() {
                return Err((
                    format!("`{text}`: resources belong to no request"),
                    format!("write `{}` without a request name", rest.join(".")),
                ));
            }
            Metric::Resource(resource::resolve(text, &rest)?)
        }
        ["latency" | "response" | "e2e", stat] | [stat] if Stat::parse(stat).is_some() => {
            Metric::Latency(Stat::parse(stat).expect("checked by the guard"))
        }
        [token @ ("ttft" | "itl" | "tpot"), stat] if Stat::parse(stat).is_some() => {
            let token = match *token {
                "ttft" => Token::Ttft,
                "itl" => Token::Itl,
                _ => Token::Tpot,
            };
            Metric::Stream(token, Stat::parse(stat).expect("checked by the guard"))
        }
        ["stage", name, stat] if Stat::parse(stat).is_some() => {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err((format!("invalid stage name `{name}` in `{text}`"), "stage names are the Server-Timing names the service sends, e.g. stage.search.p95".into()));
            }
            Metric::Stage(
                (*name).to_string(),
                Stat::parse(stat).expect("checked by the guard"),
            )
        }
        [phase, stat] if ConnPhase::parse(phase).is_some() && Stat::parse(stat).is_some() => {
            Metric::Connection(
                ConnPhase::parse(phase).expect("checked by the guard"),
                Stat::parse(stat).expect("checked by the guard"),
            )
        }
        ["output-tokens"] => Metric::OutputTokens,
        ["output-tokens-per-second"] => Metric::OutputTokensPerSecond,
        ["goodput"] => Metric::Goodput,
        ["goodput-rate"] => Metric::GoodputRate,
        ["service", stat] if Stat::parse(stat).is_some() => {
            Metric::Service(Stat::parse(stat).expect("checked by the guard"))
        }
        ["dropped"] if scope.is_some() => {
            return Err((
                format!("`{text}`: dropped arrivals belong to no request"),
                "write `dropped` without a request name".into(),
            ));
        }
        ["dropped"] => Metric::Dropped,
        ["error-rate"] => Metric::ErrorRate,
        ["errors"] => Metric::Errors,
        ["throughput"] => Metric::Throughput,
        ["requests"] => Metric::Requests,
        _ => return Err(super::unknown::unknown(text, &segs, requests)),
    };
    if scope.is_some() && metric.whole_run() {
        return Err((
            format!("`{text}`: {} belongs to no request", metric.name()),
            format!("write `{}` without a request name", metric.name()),
        ));
    }
    Ok((scope, metric))
}
