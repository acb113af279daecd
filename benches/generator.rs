//! How fast and how lean is the load generator, beside wrk and oha in the same run?
//!
//! `cargo xtask bench generator` (or `cargo bench --bench generator -- [--duration S]
//! [--connections N] [--repeat N] [--quiet-wait S] [--quiet-threshold PERCENT]
//! [--million N] [--tls-floor]`; `--tls-floor` measures only what TLS itself costs). First a
//! quiet gate: wait (at most `--quiet-wait`, 120 s) until the machine is less than
//! `--quiet-threshold` (10 %) busy, and say how quiet it got. Then, with
//! one server process (testkit-target `--canned`, one thread) pinned to CPU 1 and every
//! generator pinned to CPU 0 (`taskset`), 64 keep-alive connections, no think time:
//!
//! 1. HTTP/1.1: perfspec, oha and wrk in interleaved rounds; requests/s and CPU per completed
//!    request (user + system of the generator process, over the requests it completed).
//! 2. HTTPS keep-alive (the same canned server behind TLS): perfspec and wrk against their
//!    plain HTTP run again in the same rounds (the ratio is each round's, then the median),
//!    oha over TLS beside them; then what TLS itself costs here, in memory (`support/tls_floor.rs`).
//! 3. The open model at 20,000 arrivals/s: CPU per completed request against the closed
//!    model's, and schedule lateness p99 / p99.9.
//! 4. Memory: per connected idle user (peak RSS with 1,000 users minus with 10), and for
//!    1,000,000 requests (peak RSS after 1M requests minus after 10k).
//!
//! Every row says how much CPU other processes took while it ran (its contamination). Figures
//! go to stdout and to `target/perfspec/bench/generator.md`.

#[path = "generator/memory.rs"]
mod memory;
#[path = "support/mod.rs"]
mod support;
#[path = "support/tls_floor.rs"]
mod tls_floor;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::quiet;
use support::{Measured, Opts, Reader, median, pinned, run_measured, table};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        return support::child(&args[i + 1..]);
    }
    let opts = Opts::parse(&args);
    if args.iter().any(|a| a == "--tls-floor") {
        let cert = testkit::TestCert::localhost();
        return println!("{}", tls_floor::section(&cert, None, None));
    }
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
    let plain = bench.rounds(&[
        ("perfspec", "perfspec", &http),
        ("oha", "oha", &http),
        ("wrk", "wrk", &http),
    ]);
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
    let cert = testkit::TestCert::localhost();
    cert.write_to(&certs);
    let https = support::Target::start_with(&opts, &["--tls", &certs.display().to_string()]);
    // perfspec's plain HTTP again, in the same rounds as its HTTPS: the ratio is taken within
    // each round, so the machine's drift between sections does not enter it.
    let secure = bench.rounds(&[
        ("perfspec http", "perfspec", &http),
        ("perfspec https", "perfspec", &https),
        ("oha https", "oha", &https),
        ("wrk http", "wrk", &http),
        ("wrk https", "wrk", &https),
    ]);
    md.push_str("\n### HTTPS keep-alive (TLS 1.3, the same canned server behind rustls)\n\n");
    md.push_str(&table(&secure));
    let tls_rate = paired(&secure, "perfspec https", "perfspec http", |m| m.rate);
    let tls_cpu_ratio = paired(
        &secure,
        "perfspec https",
        "perfspec http",
        Measured::cpu_us_per_request,
    );
    let cpu = |n| median_of(&secure, n, Measured::cpu_us_per_request);
    let (plain_cpu, tls_cpu) = (cpu("perfspec http"), cpu("perfspec https"));
    let wrk_tls = paired(&secure, "wrk https", "wrk http", |m| m.rate);
    md.push_str(&format!(
        "\nperfspec https / perfspec http, the median of each round's ratio: {} requests/s (goal within 15 %: ≥ 0.85), {} CPU per request; wrk https / wrk http the same way: {} requests/s.\n\n",
        fmt_ratio(tls_rate),
        fmt_ratio(tls_cpu_ratio),
        fmt_ratio(wrk_tls)
    ));
    drop(https);
    md.push_str(&tls_floor::section(&cert, plain_cpu, tls_cpu));
    let _ = std::fs::remove_dir_all(&certs);

    md.push_str("\n### Open model at 20,000/s\n\n");
    md.push_str(&bench.open_model(&http, &plain));
    md.push_str("\n### Memory\n\n");
    md.push_str(&format!(
        "- per connected idle user: {}\n",
        memory::per_user(&me, &http)
    ));
    md.push_str(&format!(
        "- for many requests: {}\n",
        memory::for_requests(&me, &http, flag("--million", 1_000_000.0) as u64)
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
    /// Interleaved rounds of `runs` (a label, the tool, its server): a slower minute of a
    /// shared machine hits all of them.
    fn rounds<'a>(
        &self,
        runs: &[(&'a str, &str, &support::Target)],
    ) -> Vec<(&'a str, Vec<Measured>)> {
        let (secs, conns) = (self.opts.duration.as_secs(), self.opts.connections);
        let mut commands: Vec<(&str, Vec<String>, Reader, &support::Target)> = Vec::new();
        for &(label, tool, server) in runs {
            let url = server.url();
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
            commands.push((label, argv, read, server));
        }
        let mut runs: Vec<Vec<Measured>> = vec![Vec::new(); commands.len()];
        for round in 1..=self.opts.repeat {
            for (i, (name, argv, read, server)) in commands.iter().enumerate() {
                let mut c = pinned(0, Path::new(&argv[0]));
                c.args(&argv[1..]);
                let Some(mut m) = run_measured(c, read.as_ref(), Some(server.pid())) else {
                    continue;
                };
                m.round = round;
                eprintln!(
                    "  round {round} {name}: {:.0} req/s, {:.2} µs CPU per request, others {:.0}% of a core",
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

/// The median over rounds of `f(a) / f(b)` measured in the same round (a round where either
/// run failed is left out).
fn paired(
    rows: &[(&str, Vec<Measured>)],
    a: &str,
    b: &str,
    f: impl Fn(&Measured) -> f64,
) -> Option<f64> {
    let runs = |n: &str| rows.iter().find(|(name, _)| *name == n).map(|(_, r)| r);
    let (a, b) = (runs(a)?, runs(b)?);
    let mut r: Vec<f64> = a
        .iter()
        .filter_map(|x| Some(f(x) / f(b.iter().find(|y| y.round == x.round)?)))
        .collect();
    (!r.is_empty()).then(|| median(&mut r))
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
