//! How fast and how lean is the load generator, beside wrk and oha in the same run?
//!
//! `cargo xtask bench generator` (or `cargo bench --bench generator -- [--duration S]
//! [--connections N] [--repeat N] [--quiet-wait S] [--quiet-threshold PERCENT]
//! [--million N]`). First a quiet gate: wait (at most `--quiet-wait`, 120 s) until the
//! machine is less than `--quiet-threshold` (10 %) busy, and say how quiet it got. Then, with
//! one server process (testkit-target `--canned`, one thread) pinned to CPU 1 and every
//! generator pinned to CPU 0 (`taskset`), 64 keep-alive connections, no think time:
//!
//! 1. HTTP/1.1: perfspec, oha and wrk in interleaved rounds; requests/s and CPU per completed
//!    request (user + system of the generator process, over the requests it completed).
//! 2. HTTPS keep-alive (the same canned server behind TLS): perfspec against its plain-HTTP
//!    figure, with wrk and oha over TLS beside it.
//! 3. The open model at 20,000 arrivals/s: CPU per completed request against the closed
//!    model's, and schedule lateness p99 / p99.9.
//! 4. Memory: per connected idle user (peak RSS with 1,000 users minus with 10), and for
//!    1,000,000 requests (peak RSS after 1M requests minus after 10k).
//!
//! Every row says how much CPU other processes took while it ran (its contamination). Figures
//! go to stdout and to `target/perfspec/bench/generator.md`.

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::quiet;
use support::{Measured, Opts, Reader, median, pinned, run_measured, table};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        return support::child(&args[i + 1..]);
    }
    let opts = Opts::parse(&args);
    let flag = |name: &str, default: f64| -> f64 {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1)?.parse().ok())
            .unwrap_or(default)
    };
    let gate = quiet::wait_for_quiet(
        flag("--quiet-threshold", 10.0) / 100.0,
        Duration::from_secs_f64(flag("--quiet-wait", 120.0)),
    );
    eprintln!("{gate}");
    let load_before = quiet::loadavg();
    let me = std::env::current_exe().expect("own path");
    let bench = Bench {
        me: me.clone(),
        opts: opts.clone(),
    };
    let mut md = format!(
        "{gate}; load average at the start {load_before}.\n\nGenerators on CPU 0, server (`testkit-target --{}`, 1 thread) on CPU 1 (pinned: {}); {} keep-alive connections, {} s per run, {} interleaved rounds.\n\n",
        opts.server,
        support::can_pin(),
        opts.connections,
        opts.duration.as_secs(),
        opts.repeat
    );

    let http = support::Target::start(&opts);
    let plain = bench.rounds(&http, &["perfspec", "oha", "wrk"]);
    md.push_str("### HTTP/1.1\n\n");
    md.push_str(&table(&plain));
    let wrk_ratio = ratio(&plain, "perfspec", "wrk", |m| m.rate);
    let cpu_ratio = ratio(&plain, "perfspec", "wrk", Measured::cpu_us_per_request);
    md.push_str(&format!(
        "\nperfspec / wrk: {} requests/s (goal ≥ 0.95), {} CPU per request.\n",
        fmt_ratio(wrk_ratio),
        fmt_ratio(cpu_ratio)
    ));

    let certs = std::env::temp_dir().join(format!("perfspec-bench-certs-{}", std::process::id()));
    testkit::TestCert::localhost().write_to(&certs);
    let https = support::Target::start_with(&opts, &["--tls", &certs.display().to_string()]);
    let mut secure = bench.rounds(&https, &["perfspec", "oha", "wrk"]);
    for (name, _) in secure.iter_mut() {
        *name = match *name {
            "perfspec" => "perfspec https",
            "oha" => "oha https",
            _ => "wrk https",
        };
    }
    md.push_str("\n### HTTPS keep-alive (TLS 1.3, the same canned server behind rustls)\n\n");
    md.push_str(&table(&secure));
    let tls_rate = median_of(&secure, "perfspec https", |m| m.rate)
        .zip(median_of(&plain, "perfspec", |m| m.rate))
        .map(|(s, p)| s / p);
    md.push_str(&format!(
        "\nperfspec https / perfspec http: {} requests/s (goal within 15 %: ≥ 0.85).\n",
        fmt_ratio(tls_rate)
    ));
    drop(https);
    let _ = std::fs::remove_dir_all(&certs);

    md.push_str("\n### Open model at 20,000/s\n\n");
    md.push_str(&bench.open_model(&http, &plain));
    md.push_str("\n### Memory\n\n");
    md.push_str(&format!(
        "- per connected idle user: {}\n",
        bench.memory_per_user(&http)
    ));
    md.push_str(&format!(
        "- for many requests: {}\n",
        bench.memory_for_requests(&http, flag("--million", 1_000_000.0) as u64)
    ));
    md.push_str(&format!(
        "\nLoad average at the end: {}.\n",
        quiet::loadavg()
    ));
    println!("\n{md}");
    support::save("generator.md", &md);
}

struct Bench {
    me: PathBuf,
    opts: Opts,
}

impl Bench {
    /// Interleaved rounds of `tools` against `server`: a slower minute of a shared machine hits
    /// all of them.
    fn rounds<'a>(
        &self,
        server: &support::Target,
        tools: &[&'a str],
    ) -> Vec<(&'a str, Vec<Measured>)> {
        let url = server.url();
        let (secs, conns) = (self.opts.duration.as_secs(), self.opts.connections);
        let mut commands: Vec<(&str, Vec<String>, Reader)> = Vec::new();
        for &tool in tools {
            let argv: Vec<String> = match tool {
                "perfspec" => {
                    let spec = closed_spec(&url, conns, secs, 0, None);
                    self.child_argv(&spec)
                }
                "oha" if support::has("oha") => {
                    let mut a = vec![
                        "oha".into(),
                        "-z".into(),
                        format!("{secs}s"),
                        "-c".into(),
                        conns.to_string(),
                        "--no-tui".into(),
                        "--output-format".into(),
                        "json".into(),
                    ];
                    if url.starts_with("https") {
                        a.push("--insecure".into());
                    }
                    a.push(format!("{url}/"));
                    a
                }
                "wrk" if support::has("wrk") => vec![
                    "wrk".into(),
                    "-t1".into(),
                    format!("-c{conns}"),
                    format!("-d{secs}s"),
                    format!("{url}/"),
                ],
                other => {
                    eprintln!(
                        "{other} not installed (wrk: apt-get install wrk; oha: cargo install oha): skipped"
                    );
                    continue;
                }
            };
            let read: Reader = match tool {
                "perfspec" => Box::new(perfspec_rate),
                "oha" => Box::new(support::oha_rate),
                _ => Box::new(support::wrk_rate),
            };
            commands.push((tool, argv, read));
        }
        let mut runs: Vec<Vec<Measured>> = vec![Vec::new(); commands.len()];
        for round in 1..=self.opts.repeat {
            for (i, (name, argv, read)) in commands.iter().enumerate() {
                let mut c = pinned(0, Path::new(&argv[0]));
                c.args(&argv[1..]);
                let Some(m) = run_measured(c, read.as_ref(), Some(server.pid())) else {
                    continue;
                };
                eprintln!(
                    "  round {round} {name} {url}: {:.0} req/s, {:.2} µs CPU per request, others {:.0}% of a core",
                    m.rate,
                    m.cpu_us_per_request(),
                    m.others * 100.0
                );
                runs[i].push(m);
            }
        }
        commands.iter().map(|(n, ..)| *n).zip(runs).collect()
    }

    fn child_argv(&self, spec: &Path) -> Vec<String> {
        vec![
            self.me.display().to_string(),
            "--child".into(),
            spec.display().to_string(),
            "bench".into(),
            "1".into(),
        ]
    }

    /// The open model at 20k/s: its CPU per completed request against the closed model's.
    fn open_model(&self, server: &support::Target, closed: &[(&str, Vec<Measured>)]) -> String {
        let secs = self.opts.duration.as_secs();
        let spec = support::spec_file(
            "open-20k",
            &format!(
                "[target]\nurl = \"{}\"\n[[request]]\nname = \"root\"\npath = \"/\"\n[scenario.bench]\nload = {{ model = \"open\", rate = \"20000/s\", max-users = 256 }}\nduration = \"{secs}s\"\ninconclusive = \"pass\"\n",
                server.url()
            ),
        );
        let argv = self.child_argv(&spec);
        let mut runs = Vec::new();
        for _ in 0..self.opts.repeat {
            let mut c = pinned(0, Path::new(&argv[0]));
            c.args(&argv[1..]);
            if let Some(m) = run_measured(c, &perfspec_rate, Some(server.pid())) {
                eprintln!(
                    "  open 20k/s: {:.2} µs CPU per request",
                    m.cpu_us_per_request()
                );
                runs.push(m);
            }
        }
        if runs.is_empty() {
            return "failed: the open-model run did not complete\n".into();
        }
        // The closed model paced to the same rate (3 ms think time): what pacing alone costs
        // per request, without the dispatcher. Timers round sleeps up, so the rate of 64 users
        // is measured first (2 s, not reported) and sets how many users reach 20,000/s.
        let users = {
            let probe = closed_spec(&server.url(), 64, 2, 3, None);
            let argv = self.child_argv(&probe);
            let mut c = pinned(0, Path::new(&argv[0]));
            c.args(&argv[1..]);
            run_measured(c, &perfspec_rate, Some(server.pid()))
                .filter(|m| m.rate > 0.0)
                .map_or(64, |m| {
                    ((64.0 * 20_000.0 / m.rate).round() as u32).clamp(16, 512)
                })
        };
        let paced_spec = closed_spec(&server.url(), users, secs, 3, None);
        let paced_argv = self.child_argv(&paced_spec);
        let mut paced = Vec::new();
        for _ in 0..self.opts.repeat {
            let mut c = pinned(0, Path::new(&paced_argv[0]));
            c.args(&paced_argv[1..]);
            if let Some(m) = run_measured(c, &perfspec_rate, Some(server.pid())) {
                eprintln!(
                    "  closed, paced: {:.0} req/s, {:.2} µs CPU per request",
                    m.rate,
                    m.cpu_us_per_request()
                );
                paced.push(m);
            }
        }
        let mut paced_cpu: Vec<f64> = paced.iter().map(Measured::cpu_us_per_request).collect();
        let mut paced_rate: Vec<f64> = paced.iter().map(|m| m.rate).collect();
        let paced = (!paced.is_empty()).then(|| (median(&mut paced_cpu), median(&mut paced_rate)));
        let field = |m: &Measured, f: &str| support::json_field(&m.out, f).unwrap_or(f64::NAN);
        let mut cpu: Vec<f64> = runs.iter().map(Measured::cpu_us_per_request).collect();
        let mut p99: Vec<f64> = runs.iter().map(|m| field(m, "lateness_p99_us")).collect();
        let mut p999: Vec<f64> = runs.iter().map(|m| field(m, "lateness_p999_us")).collect();
        let mut dropped: Vec<f64> = runs.iter().map(|m| field(m, "dropped")).collect();
        let mut rate: Vec<f64> = runs.iter().map(|m| m.rate).collect();
        let worst_others = runs.iter().map(|m| m.others).fold(0.0, f64::max);
        let cpu = median(&mut cpu);
        let paced_line = match paced {
            None => "The paced closed-model run did not complete.\n".to_string(),
            Some((pc, pr)) => format!(
                "The closed model paced to the same rate ({users} users, 3 ms think time: {pr:.0}/s) costs {pc:.2} µs per request; the open model costs {} of that.\n",
                fmt_ratio(Some(cpu / pc))
            ),
        };
        let closed_cpu = median_of(closed, "perfspec", Measured::cpu_us_per_request);
        format!(
            "| achieved | CPU per completed request | vs closed model (goal ≤ 1.3) | lateness p99 | lateness p99.9 (goal < 2 ms) | dropped | others' CPU during its runs |\n|---:|---:|---:|---:|---:|---:|---:|\n| {:.0}/s | {cpu:.2} µs | {} | {:.0} µs | {:.0} µs | {:.0} | up to {:.0}% of a core |\n\n(medians of {} runs; the closed model's figure is from the HTTP/1.1 table above, at full speed)\n\n{paced_line}",
            median(&mut rate),
            fmt_ratio(closed_cpu.map(|c| cpu / c)),
            median(&mut p99),
            median(&mut p999),
            median(&mut dropped),
            worst_others * 100.0,
            runs.len()
        )
    }

    /// Peak RSS of the generator with 1,000 idle users minus that with 10, per user.
    fn memory_per_user(&self, server: &support::Target) -> String {
        let peak = |users: u32| {
            let spec = closed_spec(&server.url(), users, 3, 1000, None);
            self.peak_rss(&spec)
        };
        match (peak(10), peak(1000)) {
            (Some(small), Some(large)) => format!(
                "{:.1} KiB (goal ≤ 24 KiB; peak RSS {:.0} KiB with 10 users, {:.0} KiB with 1,000)",
                (large - small) / 990.0,
                small,
                large
            ),
            _ => "not measured (the child run failed)".into(),
        }
    }

    /// Peak RSS after `n` requests minus after 10,000 (64 users, no think time).
    fn memory_for_requests(&self, server: &support::Target, n: u64) -> String {
        let peak = |count: u64| {
            let spec = closed_spec(&server.url(), 64, 600, 0, Some(count));
            self.peak_rss(&spec)
        };
        match (peak(10_000), peak(n)) {
            (Some(small), Some(large)) => format!(
                "{:.1} MiB more for {n} requests than for 10,000 (goal ≤ 20 MiB for 1M; peak RSS {:.1} MiB for {n}, {:.1} MiB for 10,000)",
                (large - small) / 1024.0,
                large / 1024.0,
                small / 1024.0
            ),
            _ => "not measured (the child run failed)".into(),
        }
    }

    fn peak_rss(&self, spec: &Path) -> Option<f64> {
        let out = Command::new(&self.me)
            .args(["--child", &spec.display().to_string(), "bench", "1"])
            .output()
            .ok()?;
        support::json_field(&String::from_utf8_lossy(&out.stdout), "peak_rss_kib")
    }
}

/// perfspec's child line: completed requests over the measured window.
fn perfspec_rate(out: &str) -> Option<(f64, f64)> {
    let n = support::json_field(out, "requests")?;
    let window = support::json_field(out, "window_s")?;
    Some((n / window.max(1e-3), n))
}

fn median_of(
    rows: &[(&str, Vec<Measured>)],
    name: &str,
    f: impl Fn(&Measured) -> f64,
) -> Option<f64> {
    let runs = &rows.iter().find(|(n, _)| *n == name)?.1;
    if runs.is_empty() {
        return None;
    }
    let mut v: Vec<f64> = runs.iter().map(f).collect();
    Some(median(&mut v))
}

fn ratio(
    rows: &[(&str, Vec<Measured>)],
    a: &str,
    b: &str,
    f: impl Fn(&Measured) -> f64 + Copy,
) -> Option<f64> {
    Some(median_of(rows, a, f)? / median_of(rows, b, f)?)
}

fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or("not measured".into(), |r| format!("{r:.2}×"))
}

/// A closed-model spec: `users` users against `url`, `think_ms` between requests, optionally
/// stopping after `iterations` requests.
fn closed_spec(
    url: &str,
    users: u32,
    secs: u64,
    think_ms: u64,
    iterations: Option<u64>,
) -> PathBuf {
    let think = if think_ms == 0 {
        String::new()
    } else {
        format!(", think-time = \"{think_ms}ms\"")
    };
    let tls = if url.starts_with("https") {
        "tls = { insecure = true }\n"
    } else {
        ""
    };
    let iterations = iterations.map_or(String::new(), |n| format!("iterations = {n}\n"));
    support::spec_file(
        &format!(
            "closed-{users}-{think_ms}-{}",
            url.split(':').next().unwrap_or("http")
        ),
        &format!(
            "[target]\nurl = \"{url}\"\n{tls}[[request]]\nname = \"root\"\npath = \"/\"\n[scenario.bench]\nload = {{ model = \"closed\", users = {users}{think} }}\nduration = \"{secs}s\"\n{iterations}"
        ),
    )
}
