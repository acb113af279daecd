//! The system under test: spawn a command (free port, environment, readiness probe, log
//! capture, teardown of everything it started) or reach a service that is already running.

mod bin;
mod keeper;
mod process;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::client::{Transport, probe};
use crate::spec::{ArgPart, CommandTarget, Diagnostic, Protocol, Readiness, Spec, Target};
pub use bin::workspace_bin;
pub(crate) use process::{Process, stop_all};

/// Why the target could not be brought up.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// A `{bin:NAME}` placeholder could not be built.
    #[error("{0}")]
    Bin(Box<Diagnostic>),
    /// The target's log file could not be created (the output folder is read-only, full, or
    /// not a folder).
    #[error(
        "cannot create the target's log {path}: {source}\nperfspec writes the target's log, the results and the reports under its output folder (PERFSPEC_OUT, default target/perfspec): make it writable or point PERFSPEC_OUT elsewhere"
    )]
    Log {
        /// The log file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The command could not be started at all: the message points at the spec.
    #[error("{0}")]
    Spawn(Box<Diagnostic>),
    /// The target exited before it became ready.
    #[error("target exited before it was ready ({status})\nlog: {log}\n--- last lines ---\n{tail}")]
    ExitedEarly {
        /// Exit status.
        status: String,
        /// Log file.
        log: String,
        /// The last lines of its log.
        tail: String,
    },
    /// The readiness probe never succeeded.
    #[error(
        "target not ready after {timeout:?}: {probe} (last attempt: {last})\nlog: {log}\n--- last lines ---\n{tail}"
    )]
    NotReady {
        /// How long we waited.
        timeout: Duration,
        /// What was probed.
        probe: String,
        /// The last failure.
        last: String,
        /// Log file.
        log: String,
        /// The last lines of its log.
        tail: String,
    },
    /// The host of a `url` target could not be resolved or is not allowed.
    #[error("{0}")]
    Address(String),
    /// The TLS setup of an https target could not be built (unreadable CA file).
    #[error("{0}")]
    Tls(String),
}

/// A target that is up.
#[derive(Debug)]
pub(crate) struct Running {
    /// The Host header.
    pub host: String,
    /// Prefix of every request path.
    pub base_path: String,
    /// The process, for command targets.
    pub process: Option<Process>,
    /// How requests reach it (TLS, HTTP version), shared by every user of a run.
    pub transport: Arc<Transport>,
}

/// Brings the target of `spec` up; `log` receives the output of a started command and
/// `workspace` is where `{bin:NAME}` is built.
pub(crate) async fn start(
    spec: &Spec,
    log: &Path,
    workspace: &Path,
    allow_remote: bool,
) -> Result<Running, TargetError> {
    match &spec.target {
        Target::Component(c) => Err(TargetError::Address(format!(
            "component `{}` runs in process: there is nothing to start",
            c.name
        ))),
        Target::Command(cmd) => start_command(spec, cmd, log, workspace).await,
        Target::Url(url) => {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((url.host.as_str(), url.port))
                .await
                .map_err(|e| TargetError::Address(format!("cannot resolve `{}`: {e}", url.host)))?
                .collect();
            let addr = *addrs.first().ok_or_else(|| {
                TargetError::Address(format!("`{}` resolved to no address", url.host))
            })?;
            refuse_remote(&url.host, &addrs, url.allow_remote || allow_remote)?;
            let host = if url.port == url.protocol.default_port() {
                url.host.clone()
            } else {
                format!("{}:{}", url.host, url.port)
            };
            let transport = transport(addr, &url.host, &url.protocol)?;
            wait_ready(&transport, &host, &url.ready, None).await?;
            Ok(Running {
                host,
                base_path: url.base_path.clone(),
                process: None,
                transport,
            })
        }
    }
}

async fn start_command(
    spec: &Spec,
    cmd: &CommandTarget,
    log: &Path,
    workspace: &Path,
) -> Result<Running, TargetError> {
    let port =
        free_port().map_err(|e| TargetError::Address(format!("no free port on 127.0.0.1: {e}")))?;
    let mut argv = Vec::new();
    for arg in &cmd.argv {
        argv.push(render_arg(spec, arg, port, workspace).await?);
    }
    let mut env = Vec::new();
    for (k, v) in &cmd.env {
        env.push((k.clone(), render_arg(spec, v, port, workspace).await?));
    }
    if !cmd.cwd.is_dir() {
        return Err(spawn_error(spec, cmd, &argv[0], None));
    }
    let out = process::create_log(log).map_err(|source| TargetError::Log {
        path: log.display().to_string(),
        source,
    })?;
    let mut process = Process::spawn(&argv, &env, &cmd.cwd, out, log, cmd.stop_timeout)
        .map_err(|e| spawn_error(spec, cmd, &argv[0], Some(e)))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    // A started service's certificate is most likely for `localhost` (tls.server-name says
    // otherwise).
    let transport = transport(addr, "localhost", &cmd.protocol)?;
    let host = format!("127.0.0.1:{port}");
    wait_ready(&transport, &host, &cmd.ready, Some(&mut process)).await?;
    Ok(Running {
        host,
        base_path: String::new(),
        process: Some(process),
        transport,
    })
}

fn transport(
    addr: SocketAddr,
    host: &str,
    protocol: &Protocol,
) -> Result<Arc<Transport>, TargetError> {
    Transport::new(addr, host, protocol)
        .map(Arc::new)
        .map_err(TargetError::Tls)
}

async fn render_arg(
    spec: &Spec,
    parts: &[ArgPart],
    port: u16,
    workspace: &Path,
) -> Result<String, TargetError> {
    let mut out = String::new();
    for part in parts {
        match part {
            ArgPart::Lit(s) => out.push_str(s),
            ArgPart::Port => out.push_str(&port.to_string()),
            ArgPart::Bin { name, span } => {
                let (name, ws) = (name.clone(), workspace.to_path_buf());
                let built = tokio::task::spawn_blocking(move || bin::workspace_bin(&name, &ws))
                    .await
                    .unwrap_or_else(|e| Err(format!("build task failed: {e}")));
                let path: PathBuf = built.map_err(|e| {
                    let help = "{bin:NAME} names a binary target of this cargo workspace";
                    TargetError::Bin(Box::new(spec.diagnostic(
                        span.clone(),
                        format!("cannot build `{{bin:{name}}}`: {e}", name = part_name(part)),
                        Some(help.into()),
                    )))
                })?;
                out.push_str(&path.to_string_lossy());
            }
        }
    }
    Ok(out)
}

/// Why a command did not start, pointing at the spec: at `cwd` when the working directory is
/// missing (`error` is `None`), else at the program.
fn spawn_error(
    spec: &Spec,
    cmd: &CommandTarget,
    program: &str,
    error: Option<std::io::Error>,
) -> TargetError {
    let cwd = cmd.cwd.display();
    let (span, message, help) = match error {
        None => (
            cmd.cwd_span.clone().unwrap_or(cmd.program_span.clone()),
            format!("the working directory {cwd} does not exist"),
            "`cwd` is relative to the spec's folder; create the folder or fix the path".to_string(),
        ),
        Some(e) if e.kind() == std::io::ErrorKind::NotFound && program.contains('/') => (
            cmd.program_span.clone(),
            format!("cannot start `{program}`: no such file (relative paths start from {cwd})"),
            "fix the path, or use {bin:NAME} for a binary of this cargo workspace".to_string(),
        ),
        Some(e) if e.kind() == std::io::ErrorKind::NotFound => (
            cmd.program_span.clone(),
            format!("cannot start `{program}`: no such program on PATH"),
            "install it or fix its name; {bin:NAME} names a binary of this cargo workspace"
                .to_string(),
        ),
        Some(e) if e.kind() == std::io::ErrorKind::PermissionDenied => (
            cmd.program_span.clone(),
            format!("cannot start `{program}`: {e}"),
            "the file must be an executable the user running the tests may run (chmod +x)"
                .to_string(),
        ),
        Some(e) => (
            cmd.program_span.clone(),
            format!("cannot start `{program}`: {e}"),
            format!("working directory: {cwd}"),
        ),
    };
    TargetError::Spawn(Box::new(spec.diagnostic(span, message, Some(help))))
}

fn part_name(part: &ArgPart) -> &str {
    match part {
        ArgPart::Bin { name, .. } => name,
        _ => "",
    }
}

/// Refuses a host that resolves outside loopback, unless remote load is allowed: a copied
/// spec must never load-test production by accident. Every address counts, not only the first.
fn refuse_remote(host: &str, addrs: &[SocketAddr], allowed: bool) -> Result<(), TargetError> {
    match addrs.iter().find(|a| !a.ip().is_loopback()) {
        Some(remote) if !allowed => Err(TargetError::Address(format!(
            "`{host}` resolves to {remote}, outside loopback: refusing to send load there; \
             set `allow-remote = true` in [target] or PERFSPEC_ALLOW_REMOTE=1 to allow it"
        ))),
        _ => Ok(()),
    }
}

/// A port that was free a moment ago: bind port 0 and release it.
fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Polls until the target answers: GET `ready` returns 2xx, or (without a path) the port
/// accepts a connection. Fails early with the log when the process exits.
async fn wait_ready(
    transport: &Arc<Transport>,
    host: &str,
    ready: &Readiness,
    mut process: Option<&mut Process>,
) -> Result<(), TargetError> {
    let addr = transport.addr();
    let deadline = Instant::now() + ready.timeout;
    let what = match &ready.path {
        Some(p) => format!("GET {}://{addr}{p} did not answer 2xx", transport.scheme()),
        None => format!("nothing accepted connections on {addr}"),
    };
    loop {
        if let Some(p) = process.as_deref_mut()
            && let Some(exit) = p.exited()
        {
            return Err(TargetError::ExitedEarly {
                status: format!("{exit}{}", exit.left_note()),
                log: p.log_path().display().to_string(),
                tail: p.log_tail(20),
            });
        }
        let attempt = Instant::now() + Duration::from_secs(1);
        let result = match &ready.path {
            Some(path) => {
                match tokio::time::timeout_at(attempt, probe(transport, path, host)).await {
                    Ok(result) => result,
                    Err(_) => Err("timeout".into()),
                }
            }
            None => {
                match tokio::time::timeout_at(attempt, tokio::net::TcpStream::connect(addr)).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err("timeout".into()),
                }
            }
        };
        let last = match result {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if Instant::now() >= deadline {
            let (log, tail) = match process.as_deref() {
                Some(p) => (p.log_path().display().to_string(), p.log_tail(20)),
                None => ("(not started by perfspec)".into(), String::new()),
            };
            return Err(TargetError::NotReady {
                timeout: ready.timeout,
                probe: what,
                last,
                log,
                tail,
            });
        }
        // Polling interval of the readiness probe.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolving_outside_loopback_are_refused() {
        let local: Vec<SocketAddr> =
            vec!["127.0.0.1:80".parse().unwrap(), "[::1]:80".parse().unwrap()];
        assert!(refuse_remote("localhost", &local, false).is_ok());
        let mixed: Vec<SocketAddr> = vec![
            "127.0.0.1:80".parse().unwrap(),
            "10.0.0.7:80".parse().unwrap(),
        ];
        let e = refuse_remote("api.internal", &mixed, false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`api.internal` resolves to 10.0.0.7:80, outside loopback")
                && e.contains("allow-remote = true"),
            "{e}"
        );
        assert!(
            refuse_remote("api.internal", &mixed, true).is_ok(),
            "allowed on purpose"
        );
    }
}
