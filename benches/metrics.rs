//! What Prometheus support costs.
//!
//! `cargo xtask bench metrics` (or `cargo bench --bench metrics -- [--duration S] [--repeat N]`).
//!
//! 1. Scraping: the demo service exports 1,000 extra series (`--metrics-series 1000`) and a
//!    perfspec run reads its `/metrics` every second (`sample-interval = "1s"`) under a light
//!    load; the CPU time of the scraping thread (HTTP, parse, storage) over its lifetime is the
//!    cost. Goal: under 1 % of a core.
//! 2. Serving the live endpoint: the generator (one worker thread, pinned to CPU 0) drives 64
//!    keep-alive connections against the canned server (pinned to CPU 1), in interleaved
//!    rounds with and without the live endpoint; with it, this process scrapes it every second
//!    as Prometheus would. Goal: throughput changes by under 1 %.
//!
//! Both print the load average of the machine before and after: on a shared machine the
//! spread between rounds says how much a difference means.

#[path = "support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use support::{Measured, Opts, pinned, run_measured};

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        return support::child(&args[i + 1..]);
    }
    let opts = Opts::parse(&args);
    let mut md = format!(
        "Prometheus support, {} s runs, {} rounds. Load average before: {}.\n\n",
        opts.duration.as_secs(),
        opts.repeat,
        loadavg()
    );
    md.push_str(&scrape_cost(&opts));
    md.push_str(&live_cost(&opts));
    md.push_str(&format!("\nLoad average after: {}.\n", loadavg()));
    println!("\n{md}");
    support::save("metrics.md", &md);
}

/// The scraping thread's CPU while reading a 1,000-series endpoint every second.
fn scrape_cost(opts: &Opts) -> String {
    let secs = opts.duration.as_secs().max(10);
    let spec = support::spec_file(
        "scrape",
        &format!(
            "[target]\ncommand = [\"{{bin:perfspec-demo}}\", \"--port\", \"{{port}}\", \"--threads\", \"1\", \"--corpus\", \"1000\", \"--metrics-series\", \"1000\"]\n\
             ready = \"/health\"\nmetrics = \"/metrics\"\n[[request]]\nname = \"health\"\npath = \"/health\"\n\
             [scenario.bench]\nload = {{ model = \"open\", rate = \"20/s\", max-users = 4 }}\nduration = \"{secs}s\"\nsample-interval = \"1s\"\n\
             assert = [\"metric.demo_synthetic.max >= 999\"]\n"
        ),
    );
    let parsed = perfspec::spec::Spec::load(&spec).expect("bench spec");
    let out = spec.with_extension("out");
    let mut rows = String::new();
    let mut worst: f64 = 0.0;
    for round in 1..=opts.repeat {
        let report = perfspec::Harness::new()
            .out_dir(&out)
            .run_scenario(&parsed, "bench")
            .expect("scenario");
        let Some(m) = report
            .outcome
            .as_ref()
            .ok()
            .and_then(|m| m.measurement.metrics.clone())
        else {
            rows.push_str(&format!("| {round} | failed | | | |\n"));
            continue;
        };
        let per_read = m.cost.per_sample().as_secs_f64() * 1e3;
        let percent = m.cost.percent_of_core();
        worst = worst.max(percent);
        eprintln!(
            "  scrape round {round}: {} series, {} reads, {percent:.3}% of a core, {per_read:.2} ms CPU per read",
            m.series.len(),
            m.scrapes.len()
        );
        rows.push_str(&format!(
            "| {round} | {} | {} | {percent:.3}% | {per_read:.2} ms |\n",
            m.series.len(),
            m.scrapes.len()
        ));
    }
    let _ = std::fs::remove_dir_all(&out);
    format!(
        "### Scraping a service's /metrics every second\n\n\
         | round | series | reads | scraping thread CPU (share of one core) | CPU per read |\n|---:|---:|---:|---:|---:|\n{rows}\n\
         Worst round: {worst:.3}% of a core (goal: under 1%). {}\n\n",
        if worst < 1.0 {
            "Goal met."
        } else {
            "GOAL MISSED."
        }
    )
}

/// Generator throughput with and without the live endpoint being served and scraped.
fn live_cost(opts: &Opts) -> String {
    let server = support::Target::start(&Opts {
        server: "canned".into(),
        ..opts.clone()
    });
    let me = std::env::current_exe().expect("own path");
    let spec = support::spec_file(
        "live",
        &format!(
            "[target]\nurl = \"{}\"\n[[request]]\nname = \"root\"\npath = \"/\"\n[scenario.bench]\nload = {{ model = \"closed\", users = 64 }}\nduration = \"{}s\"\n",
            server.url(),
            opts.duration.as_secs()
        ),
    );
    let rate = |out: &str| {
        support::json_field(out, "requests").map(|n| (n / opts.duration.as_secs_f64(), n))
    };
    let (mut off, mut on): (Vec<Measured>, Vec<Measured>) = (Vec::new(), Vec::new());
    for round in 1..=opts.repeat {
        for live in [false, true] {
            let mut c = pinned(0, &me);
            c.args(["--child", &spec.display().to_string(), "bench", "1"]);
            let scraper = live.then(|| {
                let port = std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .map(|a| a.port())
                    .unwrap_or(0);
                c.env("PERFSPEC_LIVE", format!("127.0.0.1:{port}"));
                Scraper::start(([127, 0, 0, 1], port).into())
            });
            let Some(m) = run_measured(c, &rate, Some(server.pid())) else {
                continue;
            };
            let reads = scraper.map_or(0, Scraper::stop);
            eprintln!(
                "  live round {round} {}: {:.0} req/s{}",
                if live { "served" } else { "off" },
                m.rate,
                if live {
                    format!(", {reads} scrapes of the live endpoint")
                } else {
                    String::new()
                }
            );
            if live { on.push(m) } else { off.push(m) }
        }
    }
    let median = |v: &[Measured]| {
        let mut r: Vec<f64> = v.iter().map(|m| m.rate).collect();
        r.sort_by(f64::total_cmp);
        r.get(r.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let spread = |v: &[Measured]| {
        let r: Vec<f64> = v.iter().map(|m| m.rate).collect();
        let (lo, hi) = r
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(a, b), x| (a.min(*x), b.max(*x)));
        (hi - lo) / hi.max(1.0) * 100.0
    };
    let (a, b) = (median(&off), median(&on));
    let change = (b / a - 1.0) * 100.0;
    format!(
        "### Serving the live endpoint (scraped every second)\n\n\
         | live endpoint | rounds | requests/s, median | spread of rounds |\n|---|---:|---:|---:|\n\
         | off | {} | {a:.0} | {:.1}% |\n| served and scraped | {} | {b:.0} | {:.1}% |\n\n\
         Change of the median: {change:+.2}% (goal: within ±1%; the rounds' own spread says how much of it is noise).\n",
        off.len(),
        spread(&off),
        on.len(),
        spread(&on)
    )
}

/// One HTTP/1.0 GET of `/metrics` (the connection closes after the answer).
fn read(addr: SocketAddr) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: perfspec\r\n\r\n")
        .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

/// Reads the live endpoint every second, as Prometheus would, until stopped.
struct Scraper {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl Scraper {
    fn start(addr: SocketAddr) -> Scraper {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut ok = 0;
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs(1));
                if read(addr).is_some_and(|body| body.contains("perfspec_requests_total")) {
                    ok += 1;
                }
            }
            ok
        });
        Scraper { stop, thread }
    }

    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or(0)
    }
}
