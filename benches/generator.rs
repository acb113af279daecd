//! How fast is the load generator, and how does it compare with oha and wrk?
//!
//! `cargo xtask bench generator` (or `cargo bench --bench generator -- [--duration S]
//! [--connections N] [--repeat N]`). One server process (testkit-target, one thread) pinned to
//! CPU 1, each generator pinned to CPU 0 with `taskset`, 64 keep-alive connections, no think
//! time. For each generator: best requests/s of the repeats and CPU time per request (user +
//! system of the generator process). Then the memory of an idle connected user: peak RSS with
//! 1,000 users minus peak RSS with 10 users. Figures go to stdout and to
//! `target/perfspec/bench/generator.md`.

#[path = "support/mod.rs"]
mod support;

use std::process::Command;

use support::{Measured, Opts, pinned, run_measured, table};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        return support::child(&args[i + 1..]);
    }
    let opts = Opts::parse(&args);
    let server = support::Target::start(&opts);
    let url = server.url();
    eprintln!(
        "server: testkit-target on {url} (pinned to CPU 1: {})",
        support::can_pin()
    );
    let me = std::env::current_exe().expect("own path");
    let secs = opts.duration.as_secs().to_string();
    let conns = opts.connections.to_string();
    let target = format!("{url}/");
    // Each tool is a command and a way to read its rate from its output.
    type Reader = Box<dyn Fn(&str) -> Option<f64>>;
    let mut tools: Vec<(&str, Vec<String>, Reader)> = Vec::new();
    let per_second = opts.duration.as_secs_f64();
    tools.push((
        "perfspec",
        vec![
            me.display().to_string(),
            "--child".into(),
            closed_spec(&url, opts.connections, opts.duration.as_secs(), 0)
                .display()
                .to_string(),
            "bench".into(),
            "1".into(),
        ],
        Box::new(move |out| support::json_field(out, "requests").map(|n| n / per_second)),
    ));
    if support::has("oha") {
        let args = [
            "oha",
            "-z",
            &format!("{secs}s"),
            "-c",
            &conns,
            "--no-tui",
            "--output-format",
            "json",
            &target,
        ];
        tools.push((
            "oha",
            args.map(String::from).to_vec(),
            Box::new(|out| support::json_path(out, &["summary", "requestsPerSec"])),
        ));
    } else {
        eprintln!("oha not installed (cargo install oha): skipped");
    }
    if support::has("wrk") {
        let args = [
            "wrk",
            "-t1",
            &format!("-c{conns}"),
            &format!("-d{secs}s"),
            &target,
        ];
        tools.push((
            "wrk",
            args.map(String::from).to_vec(),
            Box::new(support::wrk_rate),
        ));
    } else {
        eprintln!("wrk not installed (apt-get install wrk): skipped");
    }
    // Rounds interleave the tools, so a slower minute of a shared machine hits all of them.
    let mut runs: Vec<Vec<Measured>> = vec![Vec::new(); tools.len()];
    for round in 1..=opts.repeat {
        for (i, (name, argv, read)) in tools.iter().enumerate() {
            let mut c = pinned(0, std::path::Path::new(&argv[0]));
            c.args(&argv[1..]);
            let Some(m) = run_measured(c, read) else {
                continue;
            };
            eprintln!(
                "  round {round} {name}: {:.0} req/s, {:.2} µs CPU per request",
                m.rate,
                m.cpu_us_per_request()
            );
            runs[i].push(m);
        }
    }
    let rows: Vec<(&str, Vec<Measured>)> = tools.iter().map(|(n, ..)| *n).zip(runs).collect();
    let memory = memory_per_user(&me, &url);
    let mut md = String::new();
    md.push_str(&format!(
        "Generator throughput: {} keep-alive connections, {} s, {} interleaved rounds; generator on CPU 0, \
         server (`{}`, 1 thread) on CPU 1.\n\n",
        opts.connections,
        opts.duration.as_secs(),
        opts.repeat,
        opts.server
    ));
    md.push_str(&table(&rows));
    md.push_str(&format!("\nMemory per connected idle user: {memory}\n"));
    println!("\n{md}");
    support::save("generator.md", &md);
}

/// Peak RSS of the generator with 1,000 idle users minus that with 10, per user.
fn memory_per_user(me: &std::path::Path, url: &str) -> String {
    let peak = |users: u32| -> Option<f64> {
        let spec = closed_spec(url, users, 3, 1000);
        let out = Command::new(me)
            .args(["--child", &spec.display().to_string(), "bench", "1"])
            .output()
            .ok()?;
        support::json_field(&String::from_utf8_lossy(&out.stdout), "peak_rss_kib")
    };
    match (peak(10), peak(1000)) {
        (Some(small), Some(large)) => format!(
            "{:.1} KiB (peak RSS {:.0} KiB with 10 users, {:.0} KiB with 1,000)",
            (large - small) / 990.0,
            small,
            large
        ),
        _ => "not measured (the child run failed)".into(),
    }
}

/// A closed-model spec: `users` users against `url`, `think_ms` between requests.
fn closed_spec(url: &str, users: u32, secs: u64, think_ms: u64) -> std::path::PathBuf {
    let think = if think_ms == 0 {
        String::new()
    } else {
        format!(", think-time = \"{think_ms}ms\"")
    };
    support::spec_file(
        &format!("closed-{users}-{think_ms}"),
        &format!(
            "[target]\nurl = \"{url}\"\n[[request]]\nname = \"root\"\npath = \"/\"\n[scenario.bench]\nload = {{ model = \"closed\", users = {users}{think} }}\nduration = \"{secs}s\"\n"
        ),
    )
}
