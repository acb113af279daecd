//! The run's opt-in exports: the live endpoint (`PERFSPEC_LIVE`, `--live[=ADDR]`,
//! [`crate::Harness::live`]), started by the first trial that runs, and the result push
//! (`PERFSPEC_PUSH`, `--push URL`, [`crate::Harness::push`]).

use std::sync::{Arc, OnceLock};

use crate::export::LiveServer;
use crate::export::push::Destination;

/// The live endpoint of this run, when asked for.
#[derive(Debug, Default)]
pub(crate) struct LiveSlot {
    want: Option<String>,
    started: OnceLock<Result<Arc<LiveServer>, String>>,
}

impl LiveSlot {
    /// A slot serving at `want` (see [`crate::export::parse_addr`]) once asked.
    pub fn new(want: Option<String>) -> LiveSlot {
        LiveSlot {
            want,
            started: OnceLock::new(),
        }
    }

    /// The server, started on first use; `None` when not asked for.
    pub fn server(&self, allow_remote: bool) -> Option<Result<Arc<LiveServer>, String>> {
        let want = self.want.as_deref()?;
        Some(
            self.started
                .get_or_init(|| {
                    let addr = crate::export::parse_addr(want, allow_remote)?;
                    let server = LiveServer::start(addr)?;
                    eprintln!("perfspec: live metrics at http://{}/metrics", server.addr());
                    Ok(Arc::new(server))
                })
                .clone(),
        )
    }
}

/// Where results are pushed, when asked for; a URL that cannot be used is kept as the error
/// every trial reports.
pub(crate) fn destination(
    url: Option<String>,
    allow_remote: bool,
) -> Option<Result<Destination, String>> {
    url.map(|u| Destination::parse(&u, allow_remote))
}

/// Removes `--live[=ADDR]` and `--push URL` (or `--push=URL`) from the command line, which
/// libtest does not know; returns what they said.
pub(crate) fn take_flags(args: Vec<String>) -> (Vec<String>, Option<String>, Option<String>) {
    let (mut rest, mut live, mut push) = (Vec::new(), None, None);
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        if a == "--live" {
            live = Some("1".to_string());
        } else if let Some(v) = a.strip_prefix("--live=") {
            live = Some(v.to_string());
        } else if a == "--push" {
            push = it.next();
        } else if let Some(v) = a.strip_prefix("--push=") {
            push = Some(v.to_string());
        } else {
            rest.push(a);
        }
    }
    (rest, live, push)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_flags_are_taken_out_of_the_command_line() {
        let args = [
            "perf",
            "--live",
            "search",
            "--push",
            "http://127.0.0.1:9090/api/v1/write",
            "--exact",
        ];
        let (rest, live, push) = take_flags(args.iter().map(|s| s.to_string()).collect());
        assert_eq!(rest, ["perf", "search", "--exact"]);
        assert_eq!(live.as_deref(), Some("1"));
        assert_eq!(push.as_deref(), Some("http://127.0.0.1:9090/api/v1/write"));
        let (_, live, _) = take_flags(vec!["--live=9464".into()]);
        assert_eq!(live.as_deref(), Some("9464"));
    }
}
