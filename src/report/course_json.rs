//! The `course` field of the JSON result: phases with their statistics, an abort, the
//! recovery, a capacity search with every step, and whether the target stayed alive.

use serde::Serialize;

use crate::assertion::Stat;
use crate::measure::{Capacity, Course, Liveness, PhaseMeasurement, Recovery, stat_of};

#[derive(Serialize)]
pub(super) struct CourseJson {
    phases: Vec<PhaseJson>,
    /// Each turn index of multi-turn conversations: its chat requests.
    turns: Vec<TurnJson>,
    /// Each flow's iterations.
    flows: Vec<FlowJson>,
    aborted: Option<AbortJson>,
    recovery: Option<RecoveryJson>,
    capacity: Option<CapacityJson>,
    /// Whether the target's process outlived the run; null when none was watched.
    sut_alive: Option<bool>,
    /// How it ended, when it did not.
    sut_exit: Option<String>,
}

#[derive(Serialize)]
struct PhaseJson {
    name: String,
    from_s: f64,
    to_s: f64,
    measured_s: f64,
    requests: u64,
    ok: u64,
    errors: u64,
    error_rate: f64,
    rate_per_s: f64,
    p50_us: Option<f64>,
    p95_us: Option<f64>,
    p99_us: Option<f64>,
    max_us: Option<f64>,
}

#[derive(Serialize)]
struct TurnJson {
    turn: u32,
    requests: Vec<super::json::RequestJson>,
}

#[derive(Serialize)]
struct FlowJson {
    name: String,
    iterations: u64,
    succeeded: u64,
    failed: u64,
    success_rate: Option<f64>,
    /// Durations of the succeeded iterations, µs.
    duration_us: super::json::LatencyJson,
}

#[derive(Serialize)]
struct AbortJson {
    at_s: f64,
    condition: String,
    observed: String,
}

#[derive(Serialize)]
struct RecoveryJson {
    after: String,
    after_end_s: f64,
    p95_limit_us: Option<f64>,
    error_rate_limit: Option<f64>,
    recovered_at_s: Option<f64>,
    recovery_time_s: Option<f64>,
    windows: u32,
    thin_windows: u32,
    undecided: Option<String>,
}

#[derive(Serialize)]
struct CapacityJson {
    /// `per_s` (arrival rates, open model) or `users` (closed model).
    level_unit: &'static str,
    held: Option<f64>,
    failed: Option<f64>,
    capacity_per_s: Option<f64>,
    lower_bound: Option<String>,
    steps: Vec<StepJson>,
}

#[derive(Serialize)]
struct StepJson {
    level: f64,
    outcome: &'static str,
    runs: Vec<RunJson>,
}

#[derive(Serialize)]
struct RunJson {
    outcome: &'static str,
    throughput_per_s: f64,
    p50_us: Option<f64>,
    p95_us: Option<f64>,
    p99_us: Option<f64>,
    error_rate: f64,
    window_s: f64,
    reason: Option<String>,
    noisy: bool,
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

impl CourseJson {
    pub(super) fn of(c: &Course) -> CourseJson {
        CourseJson {
            phases: c.phases.iter().map(PhaseJson::of).collect(),
            turns: c
                .turns
                .iter()
                .map(|t| TurnJson {
                    turn: t.turn,
                    requests: t
                        .measurement
                        .requests
                        .iter()
                        .filter(|r| r.requests() > 0)
                        .map(|r| super::json::RequestJson::of(r, &t.measurement))
                        .collect(),
                })
                .collect(),
            flows: c
                .flows
                .iter()
                .map(|f| FlowJson {
                    name: f.name.clone(),
                    iterations: f.iterations(),
                    succeeded: f.succeeded,
                    failed: f.failed,
                    success_rate: f.success_rate().map(|r| (r * 1e6).round() / 1e6),
                    duration_us: super::json::LatencyJson::of(&f.duration),
                })
                .collect(),
            aborted: c.aborted.as_ref().map(|a| AbortJson {
                at_s: round3(a.at_s),
                condition: a.condition.clone(),
                observed: a.observed.clone(),
            }),
            recovery: c.recovery.as_ref().map(RecoveryJson::of),
            capacity: c.capacity.as_ref().map(CapacityJson::of),
            sut_alive: c.alive.as_ref().map(|a| *a == Liveness::Alive),
            sut_exit: match &c.alive {
                Some(Liveness::Exited(how)) => Some(how.clone()),
                _ => None,
            },
        }
    }
}

impl PhaseJson {
    fn of(p: &PhaseMeasurement) -> PhaseJson {
        let m = &p.measurement;
        let t = m.total();
        let q = |q| stat_of(&t.latency, Stat::Percentile(q));
        PhaseJson {
            name: p.name.clone(),
            from_s: round3(p.from_s),
            to_s: round3(p.to_s),
            measured_s: round3(m.window.as_secs_f64()),
            requests: t.requests(),
            ok: t.ok,
            errors: t.error_count(),
            error_rate: t.error_rate(),
            rate_per_s: round3(m.throughput(&t)),
            p50_us: q(50.0),
            p95_us: q(95.0),
            p99_us: q(99.0),
            max_us: stat_of(&t.latency, Stat::Max),
        }
    }
}

impl RecoveryJson {
    fn of(r: &Recovery) -> RecoveryJson {
        RecoveryJson {
            after: r.after.clone(),
            after_end_s: round3(r.after_end_s),
            p95_limit_us: r.p95_limit_us.map(round3),
            error_rate_limit: r.error_rate_limit,
            recovered_at_s: r.recovered_at_s,
            recovery_time_s: r.time_s().map(round3),
            windows: r.windows,
            thin_windows: r.thin,
            undecided: r.undecided.clone(),
        }
    }
}

impl CapacityJson {
    fn of(c: &Capacity) -> CapacityJson {
        CapacityJson {
            level_unit: if c.users { "users" } else { "per_s" },
            held: c.held,
            failed: c.failed,
            capacity_per_s: c.value.map(round3),
            lower_bound: c.lower_bound.clone(),
            steps: c
                .steps
                .iter()
                .map(|s| StepJson {
                    level: round3(s.level),
                    outcome: s.outcome.name(),
                    runs: s
                        .runs
                        .iter()
                        .map(|r| RunJson {
                            outcome: r.outcome.name(),
                            throughput_per_s: round3(r.throughput),
                            p50_us: r.p50_us,
                            p95_us: r.p95_us,
                            p99_us: r.p99_us,
                            error_rate: r.error_rate,
                            window_s: round3(r.window_s),
                            reason: r.reason.clone(),
                            noisy: r.noisy,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}
