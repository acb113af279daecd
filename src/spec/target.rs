//! `[target]`: a command to start or a URL to reach.

use super::url::{is_loopback_host, parse_url};
use std::path::Path;
use std::time::Duration;

use super::cx::{Cx, R};
use super::protocol::convert_protocol;
use super::raw::{RawTarget, S};
use super::{ArgPart, CommandTarget, ComponentTarget, ProcessRef, Readiness, Target, UrlTarget};

pub(super) fn convert_target(cx: &Cx, raw: &S<RawTarget>, dir: &Path) -> R<Target> {
    let t = raw.get_ref();
    let ready = Readiness {
        path: match &t.ready {
            Some(p) => Some(ready_path(cx, p)?),
            None => None,
        },
        timeout: match &t.ready_timeout {
            Some(v) => cx.positive(v, "ready-timeout")?,
            None => Duration::from_secs(30),
        },
    };
    if let Some(c) = &t.component {
        let others = [
            ("command", t.command.as_ref().map(S::span)),
            ("url", t.url.as_ref().map(S::span)),
            ("env", t.env.first().map(|(k, _)| k.span())),
            ("secret-env", t.secret_env.as_ref().map(S::span)),
            ("cwd", t.cwd.as_ref().map(S::span)),
            ("ready", t.ready.as_ref().map(S::span)),
            ("ready-timeout", t.ready_timeout.as_ref().map(S::span)),
            ("stop-timeout", t.stop_timeout.as_ref().map(S::span)),
            ("allow-remote", t.allow_remote.as_ref().map(S::span)),
            ("metrics", t.metrics.as_ref().map(S::span)),
            ("tls", t.tls.as_ref().map(S::span)),
            ("http", t.http.as_ref().map(S::span)),
        ];
        if let Some((key, span)) = others.iter().find_map(|(k, s)| s.clone().map(|s| (k, s))) {
            return Err(cx.err(span, format!("`{key}` does not apply to a `component` target"), Some("a component is an async function registered in tests/perf.rs with Harness::component: nothing to start or reach".into())));
        }
        let name = c.get_ref();
        if name.chars().count() > super::cx::MAX_NAME {
            return Err(cx.err(
                c.span(),
                format!(
                    "the component name is {} characters long; names are at most {}",
                    name.chars().count(),
                    super::cx::MAX_NAME
                ),
                Some("the name it was registered under with Harness::component".into()),
            ));
        }
        if name.is_empty()
            || !name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        {
            return Err(cx.err(
                c.span(),
                format!("invalid component name {name:?}"),
                Some("names use letters, digits, `-` and `_`".into()),
            ));
        }
        return Ok(Target::Component(ComponentTarget {
            name: name.clone(),
            span: c.span(),
        }));
    }
    match (&t.command, &t.url) {
        (Some(cmd), None) => {
            if let Some(a) = &t.allow_remote {
                return Err(cx.err(a.span(), "`allow-remote` applies to `url` targets", Some("a started command is always reached on 127.0.0.1".into())));
            }
            let url_only = [
                ("pid", t.pid.as_ref().map(S::span)),
                ("pid-file", t.pid_file.as_ref().map(S::span)),
                ("process-name", t.process_name.as_ref().map(S::span)),
            ];
            for (key, span) in url_only {
                if let Some(span) = span {
                    return Err(cx.err(span, format!("`{key}` applies to `url` targets"), Some("perfspec follows the process of a started command, and all its descendants, by itself".into())));
                }
            }
            let Some(program) = cmd.get_ref().first() else {
                return Err(cx.err(cmd.span(), "`command` is empty", Some("e.g. command = [\"{bin:my-service}\", \"--port\", \"{port}\"]".into())));
            };
            if program.get_ref().trim().is_empty() {
                return Err(cx.err(program.span(), "the program (first element of `command`) is empty", Some("name a program, e.g. \"{bin:my-service}\" or \"python3\"".into())));
            }
            let argv = cmd.get_ref().iter().map(|a| arg_parts(cx, a)).collect::<R<Vec<_>>>()?;
            let mut env = Vec::new();
            for (k, v) in &t.env {
                if k.get_ref().is_empty() || k.get_ref().contains(['=', '\0']) {
                    return Err(cx.err(k.span(), format!("invalid environment variable name {:?}", k.get_ref()), Some("names are not empty and contain no `=`".into())));
                }
                env.push((k.get_ref().clone(), arg_parts(cx, v)?));
            }
            env_secrets(cx, t, &env)?;
            let cwd = match &t.cwd {
                Some(c) => dir.join(c.get_ref()),
                None => dir.to_path_buf(),
            };
            let stop_timeout = match &t.stop_timeout {
                Some(v) => cx.duration(v, "stop-timeout")?,
                None => Duration::from_secs(5),
            };
            let protocol = convert_protocol(cx, t, false, dir)?;
            let metrics = metrics_path(cx, t.metrics.as_ref())?;
            Ok(Target::Command(CommandTarget {
                argv,
                env,
                cwd,
                ready,
                stop_timeout,
                program_span: program.span(),
                cwd_span: t.cwd.as_ref().map(S::span),
                metrics,
                protocol,
            }))
        }
        (None, Some(url)) => {
            let command_only = [
                ("env", t.env.first().map(|(k, _)| k.span())),
                ("secret-env", t.secret_env.as_ref().map(S::span)),
                ("cwd", t.cwd.as_ref().map(S::span)),
                ("stop-timeout", t.stop_timeout.as_ref().map(S::span)),
            ];
            for (key, span) in command_only {
                if let Some(span) = span {
                    return Err(cx.err(span, format!("`{key}` applies to `command` targets"), Some("a `url` target is already running; perfspec does not start it".into())));
                }
            }
            let allow_remote = t.allow_remote.as_ref().is_some_and(|a| *a.get_ref());
            let (https, host, port, base_path) = parse_url(url.get_ref()).map_err(|(e, help)| cx.err(url.span(), e, Some(help)))?;
            if let (false, Some(tls)) = (https, &t.tls) {
                return Err(cx.err(tls.span(), "`tls` applies to https:// urls", Some(format!("write the url as https://…, e.g. url = \"https://{host}:{port}\""))));
            }
            // The runtime check (`target::refuse_remote`) reads the same variable and also
            // refuses loopback names that resolve elsewhere.
            if !allow_remote && !cx.env.allows_remote() && !is_loopback_host(&host) {
                return Err(cx.err(url.span(), format!("`{host}` is not a loopback address: perfspec only loads 127.0.0.0/8, ::1 and localhost by default"), Some(
                    "to load a remote service on purpose add `allow-remote = true` to [target] (or set PERFSPEC_ALLOW_REMOTE=1)".into(),
                )));
            }
            let process = process_ref(cx, t, dir)?;
            let protocol = convert_protocol(cx, t, https, dir)?;
            let metrics = metrics_path(cx, t.metrics.as_ref())?;
            Ok(Target::Url(UrlTarget { host, port, base_path, allow_remote, ready, process, metrics, protocol }))
        }
        (Some(_), Some(url)) => Err(cx.err(url.span(), "[target] has both `command` and `url`", Some("use `command` to start the service, or `url` to reach one that runs already".into()))),
        (None, None) => Err(cx.err(raw.span(), "[target] needs `command`, `url` or `component`", Some(
            "e.g. command = [\"{bin:my-service}\", \"--port\", \"{port}\"], url = \"http://127.0.0.1:8080\" or component = \"search\"".into(),
        ))),
    }
}

/// Whether an environment variable's name says it holds a credential: its value is redacted
/// in every artifact, like the value of a credential header.
pub(crate) fn secret_env_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "token",
        "secret",
        "passw",
        "key",
        "credential",
        "auth",
        "cookie",
        "session",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// The values of `[target] env` that are secrets: those of credential-like names and those
/// `secret-env` lists (which must name variables of `env`). Only literal values: `{port}` and
/// `{bin:…}` are known to everyone.
fn env_secrets(cx: &Cx, t: &RawTarget, env: &[(String, Vec<ArgPart>)]) -> R<()> {
    let listed = t
        .secret_env
        .as_ref()
        .map_or(&[][..], |l| l.get_ref().as_slice());
    for name in listed {
        if !env.iter().any(|(k, _)| k == name.get_ref()) {
            let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
            let mut help = if names.is_empty() {
                "[target] env sets no variable; `secret-env` lists names of [target] env whose values are secrets".to_string()
            } else {
                format!("variables of [target] env: {}", names.join(", "))
            };
            if let Some(close) = super::cx::closest(name.get_ref(), names.iter().copied()) {
                help = format!("did you mean `{close}`? {help}");
            }
            return Err(cx.err(
                name.span(),
                format!(
                    "`secret-env` names `{}`, which [target] env does not set",
                    name.get_ref()
                ),
                Some(help),
            ));
        }
    }
    let mut secrets = cx.secrets.borrow_mut();
    for (name, parts) in env {
        let marked = listed.iter().any(|l| l.get_ref() == name) || secret_env_name(name);
        if let (true, [ArgPart::Lit(value)]) = (marked, parts.as_slice()) {
            secrets.push(value.clone());
        }
    }
    Ok(())
}

/// `pid`, `pid-file` or `process-name` of a `url` target: at most one.
fn process_ref(cx: &Cx, t: &RawTarget, dir: &Path) -> R<Option<ProcessRef>> {
    let given: Vec<(&str, std::ops::Range<usize>)> = [
        ("pid", t.pid.as_ref().map(S::span)),
        ("pid-file", t.pid_file.as_ref().map(S::span)),
        ("process-name", t.process_name.as_ref().map(S::span)),
    ]
    .into_iter()
    .filter_map(|(k, s)| Some((k, s?)))
    .collect();
    if let [(first, _), (second, span), ..] = given.as_slice() {
        return Err(cx.err(
            span.clone(),
            format!("`{first}` and `{second}` both name the target's process"),
            Some("keep one of `pid`, `pid-file` and `process-name`".into()),
        ));
    }
    if let Some(pid) = &t.pid {
        let n = *pid.get_ref();
        if !(1..=i64::from(i32::MAX)).contains(&n) {
            return Err(cx.err(
                pid.span(),
                format!("`pid` must be a process id from 1 to {}, not {n}", i32::MAX),
                Some(
                    "or use pid-file = \"…\" or process-name = \"…\", which survive restarts"
                        .into(),
                ),
            ));
        }
        return Ok(Some(ProcessRef::Pid(n as u32)));
    }
    if let Some(file) = &t.pid_file {
        if file.get_ref().trim().is_empty() {
            return Err(cx.err(
                file.span(),
                "`pid-file` is empty",
                Some("the file holding the service's process id, e.g. pid-file = \"/run/my-service.pid\"".into()),
            ));
        }
        return Ok(Some(ProcessRef::PidFile(dir.join(file.get_ref()))));
    }
    if let Some(name) = &t.process_name {
        let n = name.get_ref();
        if n.trim().is_empty() || n.contains('/') {
            return Err(cx.err(
                name.span(),
                format!("`process-name` {n:?} is not a process name"),
                Some("the executable's file name, without a path, e.g. process-name = \"my-service\"".into()),
            ));
        }
        return Ok(Some(ProcessRef::Name(n.clone())));
    }
    Ok(None)
}

fn ready_path(cx: &Cx, p: &S<String>) -> R<String> {
    url_path(cx, p, "ready", "/health")
}

/// `metrics = "/metrics"`: the service's Prometheus endpoint.
fn metrics_path(cx: &Cx, p: Option<&S<String>>) -> R<Option<String>> {
    p.map(|p| url_path(cx, p, "metrics", "/metrics"))
        .transpose()
}

/// A path on the target's host (`ready`, `metrics`).
fn url_path(cx: &Cx, p: &S<String>, key: &str, example: &str) -> R<String> {
    let path = p.get_ref();
    if !path.starts_with('/') {
        return Err(cx.err(
            p.span(),
            format!("`{key}` must be a path starting with `/`"),
            Some(format!("e.g. {key} = \"{example}\"")),
        ));
    }
    if http::uri::PathAndQuery::try_from(path.as_str()).is_err() {
        return Err(cx.err(
            p.span(),
            format!("`{key}` {path:?} is not a valid URL path"),
            Some(
                "spaces and other special characters must be percent-encoded (a space is %20)"
                    .into(),
            ),
        ));
    }
    Ok(path.clone())
}

/// Splits an argument into text, `{port}` and `{bin:NAME}`.
fn arg_parts(cx: &Cx, arg: &S<String>) -> R<Vec<ArgPart>> {
    let text = arg.get_ref();
    let mut parts = Vec::new();
    let mut rest = 0;
    while let Some(open) = text[rest..].find('{').map(|i| rest + i) {
        if text[open..].starts_with("{{") && text[open..].contains("}}") {
            let close = open + text[open..].find("}}").unwrap_or(0) + 2;
            return Err(cx.err(cx.inner_span(arg.span(), text, open..close), "`{{…}}` variables are not available in a command", Some(
                "data and environment variables fill requests; a command may use {port} and {bin:NAME}, and [target] env".into(),
            )));
        }
        let Some(close) = text[open..].find('}').map(|i| open + i) else {
            break;
        };
        let inner = &text[open + 1..close];
        let looks_like_placeholder = !inner.is_empty()
            && inner
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_' | '.'));
        if !looks_like_placeholder {
            // Braces that are not placeholders (JSON in an argument) stay as written.
            parts.push(ArgPart::Lit(text[rest..=open].to_string()));
            rest = open + 1;
            continue;
        }
        if open > rest {
            parts.push(ArgPart::Lit(text[rest..open].to_string()));
        }
        let span = cx.inner_span(arg.span(), text, open..close + 1);
        match inner.split_once(':') {
            None if inner == "port" => parts.push(ArgPart::Port),
            Some(("bin", name)) if !name.is_empty() => parts.push(ArgPart::Bin { name: name.to_string(), span }),
            _ => return Err(cx.err(span, format!("unknown placeholder `{{{inner}}}`"), Some("placeholders in a command are {port} (a free port) and {bin:NAME} (a binary of this workspace)".into()))),
        }
        rest = close + 1;
    }
    if rest < text.len() {
        parts.push(ArgPart::Lit(text[rest..].to_string()));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests;
