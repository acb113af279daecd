//! A target process for perfspec's lifecycle tests. Serves `GET /health` and `/` on
//! 127.0.0.1:PORT and misbehaves on request:
//!
//! ```text
//! testkit-target --port N [--exit CODE] [--health STATUS] [--crash-after-ms MS]
//!                [--ignore-sigterm] [--fork-daemon] [--pid-file PATH] [--delay-ms MS]
//! ```

use std::io::Write;
use std::time::Duration;

use testkit::{Server, text};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| -> Option<String> {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let has = |flag: &str| args.iter().any(|a| a == flag);
    eprintln!("testkit-target starting with {args:?}");
    if let Some(code) = value("--exit") {
        eprintln!("testkit-target: exiting at once as asked");
        std::process::exit(code.parse().unwrap_or(1));
    }
    if has("--ignore-sigterm") {
        // SAFETY: setting a signal disposition to SIG_IGN.
        unsafe {
            libc::signal(libc::SIGTERM, libc::SIG_IGN);
        }
    }
    let mut pids = vec![std::process::id()];
    if has("--fork-daemon") {
        // A child in our process group that would outlive us if only we were killed.
        let child = std::process::Command::new("sleep")
            .arg("300")
            .spawn()
            .expect("spawn sleep");
        pids.push(child.id());
        std::mem::forget(child);
    }
    if let Some(path) = value("--pid-file") {
        let mut f = std::fs::File::create(path).expect("pid file");
        for p in &pids {
            writeln!(f, "{p}").expect("write pid");
        }
    }
    let port: u16 = value("--port").and_then(|p| p.parse().ok()).unwrap_or(0);
    let health: u16 = value("--health")
        .and_then(|p| p.parse().ok())
        .unwrap_or(200);
    let delay = Duration::from_millis(
        value("--delay-ms")
            .and_then(|p| p.parse().ok())
            .unwrap_or(0),
    );
    let server = Server::http_on(port, 1, move |req| async move {
        if req.uri().path() == "/health" {
            return text(health, "health");
        }
        tokio::time::sleep(delay).await;
        text(200, "ok")
    });
    eprintln!("testkit-target listening on {}", server.url());
    match value("--crash-after-ms").and_then(|m| m.parse().ok()) {
        Some(ms) => {
            std::thread::sleep(Duration::from_millis(ms));
            eprintln!("testkit-target: crashing as asked");
            std::process::exit(3);
        }
        None => loop {
            std::thread::park();
        },
    }
}
