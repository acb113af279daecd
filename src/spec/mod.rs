//! Specs: the TOML schema (private serde structs in `raw`) converted into validated types.
//! Downstream code sees only valid specs; every problem is reported with file, line and column.

mod capacity;
mod capture;
mod chat;
mod convert;
mod cx;
mod error;
mod expect;
mod flow;
mod load;
mod protocol;
mod raw;
mod regression;
mod request;
mod scenario;
mod scenario_flows;
mod sources;
mod stress;
mod system;
mod target;
mod toml_error;
mod url;
mod workload;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use capacity::{CapacityRule, Search};
pub use capture::{CaptureFrom, Pattern};
pub use chat::{CONVERSATION, Chat};
pub(crate) use cx::closest as closest_name;
pub use error::{Diagnostic, SpecError};
pub use flow::{Capture, Flow, FlowStep};
pub use protocol::{HttpVersion, Protocol, TlsSpec};
pub use scenario::{IMPLIED_CHECK, IMPLIED_NOTE};
pub use stress::RecoveryRule;
pub use system::{
    ArgPart, CommandTarget, ComponentTarget, ProcessRef, Readiness, Target, UrlTarget,
};
pub use workload::{Arrivals, Closed, Load, Open, Phase, Stage, Think};

use crate::assertion::{Assertion, Metric};
use crate::data::DataSource;
use crate::template::Template;

/// A validated spec: one TOML file of `perf-specs/`.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The file stem; trials are named `NAME::SCENARIO`.
    pub name: String,
    /// The file, as found.
    pub path: PathBuf,
    /// The source text, kept so later checks can point into it.
    pub source: Arc<str>,
    /// The system under test.
    pub target: Target,
    /// Defaults for every request.
    pub defaults: Defaults,
    /// The request mix, in file order.
    pub requests: Vec<Request>,
    /// Variables for the requests.
    pub data: Vec<DataSource>,
    /// Scenarios, in file order.
    pub scenarios: Vec<Scenario>,
    /// Flows (`[[flow]]`), in file order.
    pub flows: Vec<Flow>,
    /// Values redacted in every artifact: from the environment (`{{env:NAME}}`), of
    /// credential headers, of `[target] env` variables with credential-like names or listed in
    /// `secret-env`, and the strings of data sources marked `secret = true`.
    pub secrets: Vec<String>,
}

/// Defaults for every request.
#[derive(Debug, Clone)]
pub struct Defaults {
    /// Request timeout: connect, send and the whole body.
    pub timeout: Duration,
    /// Headers sent with every request (a request's own headers win).
    pub headers: Vec<(String, Template)>,
    /// Largest response body read; larger bodies are an error of their own kind.
    pub max_body: u64,
}

/// One request of the mix.
#[derive(Debug, Clone)]
pub struct Request {
    /// Name used in reports and assertions (`search.p99`).
    pub name: String,
    /// HTTP method.
    pub method: http::Method,
    /// Path (starts with `/`), with placeholders.
    pub path: Template,
    /// Query parameters.
    pub query: Vec<(String, Template)>,
    /// Headers, after the defaults.
    pub headers: Vec<(String, Template)>,
    /// Body.
    pub body: Body,
    /// Relative weight in the mix (≥ 1).
    pub weight: u32,
    /// Timeout for this request.
    pub timeout: Duration,
    /// What a successful response looks like.
    pub expect: Expect,
    /// Read the response as a stream of server-sent events (LLM tokens).
    pub stream: Option<StreamSpec>,
}

/// How a streamed response is read.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSpec {
    /// The data of the event that ends the stream (`[DONE]`); `None`: the end of the body.
    pub end: Option<String>,
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    /// No body.
    Empty,
    /// JSON (`Content-Type: application/json` unless a header says otherwise).
    Json(Template),
    /// Raw text.
    Raw(Template),
}

/// What a successful response looks like.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    /// Accepted status codes.
    pub status: StatusMatch,
    /// Text the body must contain.
    pub body_contains: Option<String>,
    /// Values the JSON body must hold, by JSON pointer: `json = { "/items/0/id" = 3 }`.
    pub json: Vec<(String, serde_json::Value)>,
}

/// Accepted status codes.
#[derive(Debug, Clone, PartialEq)]
pub enum StatusMatch {
    /// Any code of a class: `2` for 2xx.
    Class(u16),
    /// Exactly these codes.
    Codes(Vec<u16>),
}

impl StatusMatch {
    /// Whether `code` is accepted.
    pub fn accepts(&self, code: u16) -> bool {
        match self {
            StatusMatch::Class(c) => code / 100 == *c,
            StatusMatch::Codes(codes) => codes.contains(&code),
        }
    }
}

/// One scenario: a load shape, its timing and its assertions.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Name (`steady`).
    pub name: String,
    /// How load is offered.
    pub load: Load,
    /// Time at the start excluded from statistics.
    pub warmup: Duration,
    /// Measured time after the warm-up (an upper bound when `iterations` is set).
    pub duration: Duration,
    /// Stop after this many measured requests.
    pub iterations: Option<u64>,
    /// Time in-flight requests get to finish after the end; still running after it they are
    /// counted as interrupted.
    pub graceful_stop: Duration,
    /// Only run with `--ignored` / `--include-ignored`.
    pub ignore: bool,
    /// The checks.
    pub assertions: Vec<Assertion>,
    /// Largest schedule lateness (p99) of the generator before the run is untrustworthy;
    /// `None`: a tenth of the tightest latency limit asserted, at least 1 ms.
    pub max_lateness: Option<Duration>,
    /// What an inconclusive run does to the test.
    pub inconclusive: Inconclusive,
    /// Time between two resource samples.
    pub sample_interval: Duration,
    /// Whether a run without a measurable GPU fails.
    pub require_gpu: bool,
    /// How the run is compared with its blessed baseline.
    pub regression: Regression,
    /// Per-request budgets a request must meet to count towards `goodput`.
    pub goodput: Option<Goodput>,
    /// The phases the stages name, in time order.
    pub phases: Vec<Phase>,
    /// How recovery after a phase is measured (`recovery-time`).
    pub recovery: Option<RecoveryRule>,
    /// A capacity search instead of one run at one level.
    pub capacity: Option<CapacityRule>,
    /// Conditions that end the run early when they hold in a window (`abort-on`).
    pub abort_on: Vec<Assertion>,
    /// The flows each user runs (indices into [`Spec::flows`]); empty: the request mix.
    pub flows: Vec<usize>,
}

/// Per-request budgets: `goodput = { ttft = "300ms", tpot = "40ms", e2e = "2s" }`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Goodput {
    /// Time to the first token (streams).
    pub ttft: Option<Duration>,
    /// Time per output token after the first (streams).
    pub tpot: Option<Duration>,
    /// The whole response.
    pub e2e: Option<Duration>,
}

/// A metric the regression gate compares: `p95`, `search.p99`, `ttft.p95 in turn 2`.
#[derive(Debug, Clone, PartialEq)]
pub struct GateMetric {
    /// As written.
    pub text: String,
    /// The request it is limited to; `None`: all requests.
    pub scope: Option<String>,
    /// What is compared.
    pub metric: Metric,
    /// When set, only the requests sent as this turn (from 1) of multi-turn conversations.
    pub turn: Option<u32>,
}

/// How a scenario is compared with its baseline: `regression = { … }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Regression {
    /// A metric worse by more than this share (beyond the noise) has regressed.
    pub threshold: f64,
    /// Worse by more than this share (but not beyond the threshold): a warning.
    pub warn: f64,
    /// The metrics compared: assertion metrics without operator (`p95`, `search.p99`,
    /// `throughput`, `ttft.p95 in turn 2`).
    pub metrics: Vec<GateMetric>,
    /// Extra runs when a metric looks regressed, before the gate fails.
    pub confirm: u32,
    /// The least run-to-run noise assumed (a share), however quiet the runs looked.
    pub noise_floor: f64,
    /// What a baseline from another machine means.
    pub host_mismatch: HostMismatch,
    /// Whether an undecided comparison fails the test.
    pub inconclusive: Inconclusive,
    /// Whether the spec wrote a `regression` table: then the scenario is gated and, under CI,
    /// a missing baseline fails.
    pub explicit: bool,
}

/// What a baseline blessed on another machine means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostMismatch {
    /// Compare and report, but regressions only warn (default): numbers from another machine
    /// are not evidence enough to fail.
    Warn,
    /// The mismatch itself fails the test: bless on this machine kind.
    Fail,
    /// Compare as if the machines were the same.
    Compare,
}

impl Scenario {
    /// Whether the scenario asks for GPU figures (a `gpu` assertion or `require-gpu`).
    pub fn wants_gpu(&self) -> bool {
        self.require_gpu
            || self.assertions.iter().any(|a| {
                matches!(
                    a.metric,
                    crate::assertion::Metric::Resource(r)
                        if matches!(r.source, crate::assertion::Source::Gpu(_))
                )
            })
    }
}

/// What an inconclusive run (untrustworthy generator, too few samples) does to the test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Inconclusive {
    /// The test fails (the default: a gate must not pass on a run it cannot trust).
    #[default]
    Fail,
    /// The test passes; reports still say inconclusive and why.
    Pass,
}

/// What a spec may refer to outside itself.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Environment lookups for `{{env:NAME}}`; `None` reads the process environment.
    pub env: Option<std::collections::BTreeMap<String, String>>,
    /// The path shown in messages, when it differs from the path files are resolved against
    /// (a path relative to the workspace, say).
    pub display_path: Option<PathBuf>,
}

impl Context {
    /// An environment variable, from `env` when set, else from the process.
    pub fn var(&self, name: &str) -> Option<String> {
        match &self.env {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
    }

    /// Whether `PERFSPEC_ALLOW_REMOTE` (`1` or `true`) allows targets outside loopback.
    pub fn allows_remote(&self) -> bool {
        self.var("PERFSPEC_ALLOW_REMOTE")
            .is_some_and(|v| v == "1" || v == "true")
    }
}

impl Spec {
    /// Reads and validates a spec file.
    pub fn load(path: &Path) -> Result<Spec, SpecError> {
        let bytes = std::fs::read(path).map_err(|source| SpecError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Spec::parse_bytes(&bytes, path, &Context::default())
    }

    /// [`Spec::parse`] for the bytes of a file: text that is not UTF-8 is a located error.
    pub fn parse_bytes(bytes: &[u8], path: &Path, cx: &Context) -> Result<Spec, SpecError> {
        match std::str::from_utf8(bytes) {
            Ok(text) => Spec::parse(text, path, cx),
            Err(e) => Err(
                error::not_utf8(cx.display_path.as_deref().unwrap_or(path), bytes, &e).into_error(),
            ),
        }
    }

    /// Validates spec text; `path` anchors relative paths and names the file in errors
    /// (unless `cx.display_path` is set).
    pub fn parse(text: &str, path: &Path, cx: &Context) -> Result<Spec, SpecError> {
        convert::convert(text, path, cx).map_err(|d| d.into_error())
    }

    /// The scenario called `name`.
    pub fn scenario(&self, name: &str) -> Option<&Scenario> {
        self.scenarios.iter().find(|s| s.name == name)
    }

    /// A diagnostic pointing at `span` of this spec's source.
    pub fn diagnostic(
        &self,
        span: Range<usize>,
        message: String,
        help: Option<String>,
    ) -> Diagnostic {
        Diagnostic::at(&self.path, &self.source, span, message, help)
    }
}
