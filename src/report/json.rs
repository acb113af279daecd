//! The versioned JSON result of one trial (`target/perfspec/results/SPEC/SCENARIO.json`).
//! Field names carry their unit (`p99_us`, `rate_per_s`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Series, TrialReport, describe_load, rfc3339};
use crate::assertion::{Check, Stat};
use baseline::BaselineJson;
use hdrhistogram::Histogram;

use crate::measure::{Generator, Measurement, RequestStats, Second, stat_of};

mod baseline;

/// The result file format version; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct ResultFile<'a> {
    schema: &'static str,
    schema_version: u32,
    perfspec_version: &'static str,
    spec: &'a str,
    scenario: &'a str,
    spec_file: &'a str,
    status: &'static str,
    error: Option<&'a str>,
    load: String,
    started_at: Option<String>,
    warmup_s: f64,
    window_s: Option<f64>,
    interrupted: Option<u64>,
    problems: Vec<&'a str>,
    doubts: Vec<&'a str>,
    checks: Vec<CheckJson>,
    generator: Option<GeneratorJson>,
    baseline: Option<BaselineJson>,
    total: Option<RequestJson>,
    requests: Vec<RequestJson>,
    timeline: Vec<SecondJson>,
    series: Vec<SeriesJson<'a>>,
    target_log: Option<&'a str>,
    /// Resources sampled during the run (target, machine, generator, GPUs).
    resources: Option<super::resource_json::ResourcesJson>,
    /// Phases, an abort, the recovery, a capacity search, the target's fate.
    course: Option<super::course_json::CourseJson>,
    /// The service's own metrics, read from its `/metrics`.
    metrics: Option<super::metrics_json::MetricsJson>,
    /// The measured code: the workspace's commit, perfspec's version, how the generator and
    /// the `{bin:}` targets were built.
    provenance: crate::provenance::Provenance,
}

/// A named time series (resources of the target …): `[t_s, value]` points.
#[derive(Serialize)]
struct SeriesJson<'a> {
    name: &'a str,
    chart: &'a str,
    unit: &'static str,
    points: Vec<[f64; 2]>,
}

impl<'a> SeriesJson<'a> {
    fn of(s: &'a Series) -> SeriesJson<'a> {
        SeriesJson {
            name: &s.name,
            chart: &s.chart,
            unit: s.unit.json_suffix(),
            points: s
                .points
                .iter()
                .map(|&(t, v)| [round3(t), round3(v)])
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct CheckJson {
    assertion: String,
    scope: Option<String>,
    phase: Option<String>,
    turn: Option<u32>,
    metric: String,
    op: &'static str,
    unit: &'static str,
    limit: f64,
    observed: Option<f64>,
    margin: Option<f64>,
    samples: u64,
    outcome: &'static str,
    reason: Option<String>,
}

/// Latency statistics in µs.
#[derive(Serialize)]
pub(super) struct LatencyJson {
    min_us: Option<f64>,
    mean_us: Option<f64>,
    stdev_us: Option<f64>,
    p50_us: Option<f64>,
    p75_us: Option<f64>,
    p90_us: Option<f64>,
    p95_us: Option<f64>,
    p99_us: Option<f64>,
    p99_9_us: Option<f64>,
    max_us: Option<f64>,
}

impl LatencyJson {
    pub(super) fn of(h: &Histogram<u64>) -> LatencyJson {
        let s = |st| stat_of(h, st);
        let p = |q| s(Stat::Percentile(q));
        LatencyJson {
            min_us: s(Stat::Min),
            mean_us: s(Stat::Mean).map(round3),
            stdev_us: s(Stat::Stdev).map(round3),
            p50_us: p(50.0),
            p75_us: p(75.0),
            p90_us: p(90.0),
            p95_us: p(95.0),
            p99_us: p(99.0),
            p99_9_us: p(99.9),
            max_us: s(Stat::Max),
        }
    }
}

/// What the generator did.
#[derive(Serialize)]
struct GeneratorJson {
    threads: usize,
    cpu_fraction: Option<f64>,
    requested: Option<u64>,
    sent: u64,
    dropped: u64,
    /// Queueing delay inside the generator (actual minus intended start), open model.
    lateness: Option<LatencyJson>,
}

impl GeneratorJson {
    fn of(g: &Generator) -> GeneratorJson {
        GeneratorJson {
            threads: g.threads,
            cpu_fraction: g.cpu.map(round3),
            requested: g.requested,
            sent: g.sent,
            dropped: g.dropped,
            lateness: g.lateness.as_ref().map(LatencyJson::of),
        }
    }
}

#[derive(Serialize)]
pub(super) struct RequestJson {
    name: String,
    requests: u64,
    ok: u64,
    errors: u64,
    error_rate: f64,
    rate_per_s: f64,
    body_bytes: u64,
    /// Response time: from the intended start (the actual start in the closed model).
    latency: LatencyJson,
    /// Service time from the actual send, when it differs (open model).
    service_latency: Option<LatencyJson>,
    /// The response-time histogram (µs), HDR V2+DEFLATE, base64: for `cargo xtask compare`.
    histogram: String,
    /// Token timing, for streamed requests.
    stream: Option<StreamJson>,
    /// `Server-Timing` stages, µs.
    stages: BTreeMap<String, LatencyJson>,
    /// Requests that met every goodput budget, when budgets are set.
    goodput: Option<GoodputJson>,
    errors_by_kind: BTreeMap<&'static str, u64>,
    /// Unexpected status codes, by code.
    errors_by_status: BTreeMap<String, u64>,
    /// `Retry-After` of 429 responses, when they had one.
    retry_after: Option<super::client_json::RetryAfterJson>,
    /// Connection phases (connect, TLS, time to first byte, transfer); null for components.
    phases: Option<super::client_json::PhasesJson>,
}

impl RequestJson {
    pub(super) fn of(s: &RequestStats, m: &Measurement) -> RequestJson {
        RequestJson {
            name: s.name.clone(),
            requests: s.requests(),
            ok: s.ok,
            errors: s.error_count(),
            error_rate: s.error_rate(),
            rate_per_s: round3(m.throughput(s)),
            body_bytes: s.bytes,
            latency: LatencyJson::of(&s.latency),
            service_latency: s.service.as_ref().map(LatencyJson::of),
            histogram: crate::baseline::encode(&s.latency),
            stream: s.stream.as_ref().map(|st| StreamJson {
                ttft: LatencyJson::of(&st.ttft),
                itl: LatencyJson::of(&st.itl),
                tpot: LatencyJson::of(&st.tpot),
                output_tokens: st.output_tokens,
                output_tokens_per_s: round3(
                    st.output_tokens as f64 / m.window.as_secs_f64().max(1e-9),
                ),
                counted_by: st.counting(),
            }),
            stages: s
                .stages
                .iter()
                .map(|(n, h)| (n.clone(), LatencyJson::of(h)))
                .collect(),
            goodput: s.good.map(|good| GoodputJson {
                good,
                fraction: if s.requests() == 0 {
                    0.0
                } else {
                    round6(good as f64 / s.requests() as f64)
                },
                rate_per_s: round3(good as f64 / m.window.as_secs_f64().max(1e-9)),
            }),
            errors_by_kind: s.errors.iter().map(|(k, n)| (k.name(), *n)).collect(),
            errors_by_status: super::client_json::by_status(&s.refusals),
            retry_after: super::client_json::retry_after(&s.refusals),
            phases: super::client_json::PhasesJson::of(&s.phases),
        }
    }
}

#[derive(Serialize)]
struct SecondJson {
    t_s: i64,
    warmup: bool,
    /// The phase the second starts in.
    phase: Option<String>,
    ok: u64,
    errors: u64,
    dropped: u64,
    p50_us: Option<f64>,
    p95_us: Option<f64>,
    p99_us: Option<f64>,
    max_us: Option<f64>,
}

impl SecondJson {
    fn of(s: &Second, m: &Measurement) -> SecondJson {
        let t = s.total();
        let p = |q| stat_of(&t.latency, Stat::Percentile(q));
        SecondJson {
            t_s: s.t,
            warmup: s.t < 0,
            phase: m.phase_at(s.t as f64).map(|p| p.name.clone()),
            ok: t.ok,
            errors: t.errors,
            dropped: s.dropped,
            p50_us: p(50.0),
            p95_us: p(95.0),
            p99_us: p(99.0),
            max_us: stat_of(&t.latency, Stat::Max),
        }
    }
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn check_json(c: &Check) -> CheckJson {
    let reason = match &c.outcome {
        crate::assertion::Outcome::Inconclusive(r)
        | crate::assertion::Outcome::NotMeasurable(r) => Some(r.clone()),
        _ => c.note.clone(),
    };
    CheckJson {
        assertion: c.assertion.text.clone(),
        scope: c.assertion.scope.clone(),
        phase: c.assertion.phase.clone(),
        turn: c.assertion.turn,
        metric: c.assertion.metric.name(),
        op: c.assertion.op.symbol(),
        unit: c.unit().json_suffix(),
        limit: c.assertion.limit,
        observed: c.observed,
        margin: c.margin(),
        samples: c.samples,
        outcome: match c.outcome {
            crate::assertion::Outcome::Pass => "pass",
            crate::assertion::Outcome::Fail => "fail",
            crate::assertion::Outcome::Inconclusive(_) => "inconclusive",
            crate::assertion::Outcome::NotMeasurable(_) => "not-measurable",
        },
        reason,
    }
}

/// Renders the result of one trial as pretty JSON with a trailing newline.
pub fn render(r: &TrialReport) -> String {
    let measured = r.outcome.as_ref().ok();
    let m = measured.map(|x| &x.measurement);
    let file = ResultFile {
        schema: "perfspec-result",
        schema_version: SCHEMA_VERSION,
        perfspec_version: env!("CARGO_PKG_VERSION"),
        spec: &r.spec,
        scenario: &r.scenario.name,
        spec_file: &r.spec_file,
        status: r.status_name(),
        error: r.outcome.as_ref().err().map(String::as_str),
        load: describe_load(&r.scenario),
        started_at: m.map(|m| rfc3339(m.started_at)),
        warmup_s: r.scenario.warmup.as_secs_f64(),
        window_s: m.map(|m| round3(m.window.as_secs_f64())),
        interrupted: m.map(|m| m.interrupted),
        problems: measured.map_or(vec![], |x| {
            x.verdict.problems().iter().map(String::as_str).collect()
        }),
        doubts: measured.map_or(vec![], |x| {
            x.verdict
                .doubts()
                .iter()
                .map(|d| d.reason.as_str())
                .collect()
        }),
        checks: measured.map_or(vec![], |x| {
            x.verdict.checks().iter().map(check_json).collect()
        }),
        generator: m.map(|m| GeneratorJson::of(&m.generator)),
        baseline: measured
            .and_then(|x| x.verdict.gate())
            .map(BaselineJson::of),
        total: m.map(|m| RequestJson::of(&m.total(), m)),
        requests: m.map_or(vec![], |m| {
            m.requests.iter().map(|s| RequestJson::of(s, m)).collect()
        }),
        timeline: m.map_or(vec![], |m| {
            m.timeline.iter().map(|s| SecondJson::of(s, m)).collect()
        }),
        series: r.series.iter().map(SeriesJson::of).collect(),
        target_log: r.log.as_deref(),
        resources: m
            .and_then(|m| m.resources.as_ref())
            .map(super::resource_json::ResourcesJson::of),
        course: m.map(|m| super::course_json::CourseJson::of(&m.course)),
        metrics: m
            .and_then(|m| m.metrics.as_ref())
            .map(|s| super::metrics_json::MetricsJson::of(s, &r.scenario.assertions)),
        provenance: crate::provenance::of(&crate::provenance::package_dir()),
    };
    let mut text = serde_json::to_string_pretty(&file).expect("result structs always serialize");
    text.push('\n');
    text
}

/// Token timing of streamed responses (µs).
#[derive(Serialize)]
struct StreamJson {
    ttft: LatencyJson,
    itl: LatencyJson,
    tpot: LatencyJson,
    output_tokens: u64,
    output_tokens_per_s: f64,
    /// How output tokens were counted: the server's `usage`, or content events.
    counted_by: &'static str,
}

#[derive(Serialize)]
struct GoodputJson {
    good: u64,
    fraction: f64,
    rate_per_s: f64,
}
