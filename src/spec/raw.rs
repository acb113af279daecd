//! The TOML schema as written: strict serde structs (unknown keys are errors) that keep the
//! spans of values so validation can point at them.

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

pub(super) type S<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawSpec {
    pub target: S<RawTarget>,
    #[serde(default)]
    pub defaults: Option<S<RawDefaults>>,
    #[serde(default)]
    pub request: Vec<S<RawRequest>>,
    #[serde(default)]
    pub data: IndexMap<S<String>, S<RawData>>,
    #[serde(default)]
    pub scenario: IndexMap<S<String>, S<RawScenario>>,
    #[serde(default)]
    pub flow: Vec<S<RawFlow>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawFlow {
    pub name: S<String>,
    pub weight: Option<S<i64>>,
    #[serde(default)]
    pub setup: Vec<S<RawStep>>,
    pub steps: S<Vec<S<RawStep>>>,
    #[serde(default)]
    pub teardown: Vec<S<RawStep>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawStep {
    pub request: S<String>,
    pub think: Option<S<String>>,
    pub turns: Option<S<i64>>,
    pub prompt: Option<S<String>>,
    pub system: Option<S<String>>,
    #[serde(default)]
    pub capture: IndexMap<S<String>, S<RawCapture>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawCapture {
    pub json: Option<S<String>>,
    pub header: Option<S<String>>,
    pub regex: Option<S<String>>,
    pub stream: Option<S<String>>,
    pub secret: Option<S<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawTarget {
    pub command: Option<S<Vec<S<String>>>>,
    pub url: Option<S<String>>,
    #[serde(default)]
    pub env: IndexMap<S<String>, S<String>>,
    pub cwd: Option<S<String>>,
    pub ready: Option<S<String>>,
    pub ready_timeout: Option<S<String>>,
    pub stop_timeout: Option<S<String>>,
    pub allow_remote: Option<S<bool>>,
    pub component: Option<S<String>>,
    pub pid: Option<S<i64>>,
    pub pid_file: Option<S<String>>,
    pub process_name: Option<S<String>>,
    pub secret_env: Option<S<Vec<S<String>>>>,
    pub metrics: Option<S<String>>,
    pub tls: Option<S<RawTls>>,
    pub http: Option<S<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawTls {
    pub ca: Option<S<String>>,
    pub server_name: Option<S<String>>,
    pub insecure: Option<S<bool>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawDefaults {
    pub timeout: Option<S<String>>,
    #[serde(default)]
    pub headers: IndexMap<S<String>, S<String>>,
    pub max_body: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawRequest {
    pub name: S<String>,
    pub method: Option<S<String>>,
    pub path: Option<S<String>>,
    #[serde(default)]
    pub query: IndexMap<S<String>, S<toml::Value>>,
    #[serde(default)]
    pub headers: IndexMap<S<String>, S<String>>,
    pub json: Option<S<toml::Value>>,
    pub body: Option<S<String>>,
    pub weight: Option<S<i64>>,
    pub timeout: Option<S<String>>,
    pub expect: Option<S<RawExpect>>,
    pub stream: Option<S<String>>,
    pub stream_end: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawExpect {
    pub status: Option<S<toml::Value>>,
    pub body_contains: Option<S<String>>,
    #[serde(default)]
    pub json: IndexMap<S<String>, S<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawData {
    pub file: Option<S<String>>,
    pub values: Option<S<Vec<toml::Value>>>,
    pub format: Option<S<String>>,
    pub pick: Option<S<String>>,
    pub seed: Option<S<i64>>,
    pub secret: Option<S<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawScenario {
    pub load: S<RawLoad>,
    pub warmup: Option<S<String>>,
    pub duration: Option<S<String>>,
    pub iterations: Option<S<i64>>,
    pub graceful_stop: Option<S<String>>,
    #[serde(default)]
    pub ignore: bool,
    #[serde(default)]
    pub assert: Vec<S<String>>,
    pub max_lateness: Option<S<String>>,
    pub inconclusive: Option<S<String>>,
    pub sample_interval: Option<S<String>>,
    pub require_gpu: Option<S<bool>>,
    pub regression: Option<S<RawRegression>>,
    pub goodput: Option<S<RawGoodput>>,
    pub recovery: Option<S<RawRecovery>>,
    pub capacity: Option<S<RawCapacity>>,
    pub abort_on: Option<S<Vec<S<String>>>>,
    pub flows: Option<S<Vec<S<String>>>>,
}

/// Where the metric text `text` is written in `scenario` (its `assert`, `abort-on` or
/// `regression.metrics`), else the scenario itself.
pub(super) fn metric_span(scenario: &S<RawScenario>, text: &str) -> std::ops::Range<usize> {
    let r = scenario.get_ref();
    r.assert
        .iter()
        .chain(r.abort_on.iter().flat_map(|l| l.get_ref()))
        .chain(
            r.regression
                .iter()
                .flat_map(|g| g.get_ref().metrics.iter().flat_map(|l| l.get_ref())),
        )
        .find(|t| t.get_ref() == text)
        .map_or(scenario.span(), |t| t.span())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawRecovery {
    pub after: S<String>,
    pub reference: Option<S<String>>,
    pub tolerance: Option<S<String>>,
    pub p95: Option<S<String>>,
    pub error_rate: Option<S<String>>,
    pub window: Option<S<String>>,
    pub hold: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawCapacity {
    pub from: S<toml::Value>,
    pub to: S<toml::Value>,
    pub search: Option<S<String>>,
    pub step: Option<S<toml::Value>>,
    pub precision: Option<S<String>>,
    pub repeat: Option<S<i64>>,
    pub max_steps: Option<S<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawGoodput {
    pub ttft: Option<S<String>>,
    pub tpot: Option<S<String>>,
    pub e2e: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawRegression {
    pub threshold: Option<S<String>>,
    pub warn: Option<S<String>>,
    pub metrics: Option<S<Vec<S<String>>>>,
    pub confirm: Option<S<i64>>,
    pub noise_floor: Option<S<String>>,
    pub host_mismatch: Option<S<String>>,
    pub inconclusive: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawLoad {
    pub model: S<String>,
    pub users: Option<S<i64>>,
    pub ramp_up: Option<S<String>>,
    pub think_time: Option<S<String>>,
    pub rate: Option<S<String>>,
    pub max_users: Option<S<i64>>,
    pub stages: Option<S<Vec<S<RawStage>>>>,
    pub arrivals: Option<S<String>>,
    pub seed: Option<S<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawStage {
    pub ramp: Option<S<String>>,
    /// A rate (open model) or a number of users (closed model).
    pub to: Option<S<toml::Value>>,
    pub hold: Option<S<String>>,
    pub phase: Option<S<String>>,
}
