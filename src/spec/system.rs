//! The system under test, as a spec's `[target]` resolves to it: a command the harness
//! starts, a running service, or an in-process component. (Parsing is in `target`.)

use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use super::Protocol;

/// The system under test.
#[derive(Debug, Clone)]
pub enum Target {
    /// A command the harness starts and stops.
    Command(CommandTarget),
    /// A service that is already running.
    Url(UrlTarget),
    /// An async Rust function registered with `Harness::component`: no HTTP.
    Component(ComponentTarget),
}

impl Target {
    /// How an HTTP target is spoken to; `None` for a component.
    pub fn protocol(&self) -> Option<&Protocol> {
        match self {
            Target::Command(c) => Some(&c.protocol),
            Target::Url(u) => Some(&u.protocol),
            Target::Component(_) => None,
        }
    }
}

/// An in-process component target.
#[derive(Debug, Clone)]
pub struct ComponentTarget {
    /// The name it was registered under.
    pub name: String,
    /// Where the name is in the spec, for errors.
    pub span: Range<usize>,
}

/// A target started from a command line.
#[derive(Debug, Clone)]
pub struct CommandTarget {
    /// The argv; each argument may hold `{port}` and `{bin:NAME}`.
    pub argv: Vec<Vec<ArgPart>>,
    /// Extra environment; values may hold `{port}`.
    pub env: Vec<(String, Vec<ArgPart>)>,
    /// Working directory (relative paths are relative to the spec's folder).
    pub cwd: PathBuf,
    /// Readiness probe.
    pub ready: Readiness,
    /// Grace between SIGTERM and SIGKILL at teardown.
    pub stop_timeout: Duration,
    /// Where the program (the first element of `command`) is in the spec, for errors.
    pub program_span: Range<usize>,
    /// Where `cwd` is in the spec, when given.
    pub cwd_span: Option<Range<usize>>,
    /// The service's Prometheus endpoint (`metrics = "/metrics"`), read during the run.
    pub metrics: Option<String>,
    /// How it is spoken to: `tls` makes it an https service; `http = "2"`.
    pub protocol: Protocol,
}

/// A piece of a command argument.
#[derive(Debug, Clone, PartialEq)]
pub enum ArgPart {
    /// Text as written.
    Lit(String),
    /// The free port the harness picked.
    Port,
    /// A binary of this workspace, built on demand; `span` points into the spec.
    Bin {
        /// The binary's name.
        name: String,
        /// Where the placeholder is in the spec source.
        span: Range<usize>,
    },
}

/// A running service.
#[derive(Debug, Clone)]
pub struct UrlTarget {
    /// Host as written (name or address).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Path prefix prepended to request paths (no trailing slash).
    pub base_path: String,
    /// Whether a host outside loopback may be loaded.
    pub allow_remote: bool,
    /// Readiness probe.
    pub ready: Readiness,
    /// Its process, for resource metrics (`pid`, `pid-file` or `process-name`).
    pub process: Option<ProcessRef>,
    /// The service's Prometheus endpoint (`metrics = "/metrics"`), read during the run.
    pub metrics: Option<String>,
    /// How it is spoken to: https (`https://` url), HTTP/2 (`http = "2"`).
    pub protocol: Protocol,
}

/// How the process of a `url` target is found, for resource metrics.
#[derive(Debug, Clone, PartialEq)]
pub enum ProcessRef {
    /// `pid = 4242`.
    Pid(u32),
    /// `pid-file = "run/service.pid"` (relative to the spec's folder), read when the trial
    /// starts.
    PidFile(PathBuf),
    /// `process-name = "my-service"`: the process (or processes) with this name or executable
    /// file name, when the trial starts.
    Name(String),
}

impl Target {
    /// The path of the service's Prometheus endpoint, when `[target]` names one.
    pub fn metrics_path(&self) -> Option<&str> {
        match self {
            Target::Command(c) => c.metrics.as_deref(),
            Target::Url(u) => u.metrics.as_deref(),
            Target::Component(_) => None,
        }
    }
}

/// How the harness decides the target is ready.
#[derive(Debug, Clone)]
pub struct Readiness {
    /// Path polled with GET until it answers 2xx; `None` waits for the port to accept.
    pub path: Option<String>,
    /// How long to wait before giving up.
    pub timeout: Duration,
}
