//! What do flows cost the generator, and how true is the per-turn time to first token?
//!
//! `cargo xtask bench flows` (or `cargo bench --bench flows -- [--duration S] [--repeat N]
//! [--connections N]`).
//!
//! 1. CPU per request: the same three requests (`/a`, `/b`, `/c`) against one canned server
//!    process (testkit-target `--canned`, pinned to CPU 1), sent by a generator process pinned
//!    to CPU 0 (64 closed-model users, no think time) as a plain weighted mix, as a flow of
//!    three steps, and as a flow whose first step captures a response header that the second
//!    sends on (`{{user.len}}`). Interleaved rounds; the generator's own CPU time over the
//!    requests it completed, median of the rounds. Goal: a flow costs under 5 % more CPU per
//!    request than the mix.
//! 2. Per-turn TTFT against the server's truth: the bundled `perf-specs/conversation.toml`
//!    (three-turn conversations with the demo, whose prompt cache makes turn 1 slower) in
//!    process; per turn, the TTFT perfspec measured beside the first-token time the demo reports
//!    in Server-Timing (`ttft`, from the request's arrival, the instant it sends the token at),
//!    p50 and mean. Goal: within 1 ms. The two are distributions over the same requests, not
//!    paired per request.
//!
//! Figures go to stdout and to `target/perfspec/bench/flows.md`, with the machine's load.

#[path = "support/mod.rs"]
mod support;

use std::path::Path;

use perfspec::assertion::Stat;
use perfspec::measure::stat_of;
use support::{Opts, json_field, median, pinned, quiet, spec_file};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        return support::child(&args[i + 1..]);
    }
    let opts = Opts::parse(&args);
    let mut md = format!(
        "Machine: {} CPUs, load average at the start {}; generator on CPU 0, server on CPU 1 (pinned: {}).\n\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        quiet::loadavg(),
        support::can_pin()
    );
    md.push_str(&cpu_per_request(&opts));
    md.push_str(&turns());
    md.push_str(&format!(
        "\nLoad average at the end {}.\n",
        quiet::loadavg()
    ));
    println!("{md}");
    support::save("flows.md", &md);
}

/// The three ways of sending `/a`, `/b`, `/c`: name, spec text.
fn specs(url: &str, users: u32, secs: u64) -> Vec<(&'static str, String)> {
    let requests = format!(
        "[target]\nurl = \"{url}\"\n[[request]]\nname = \"a\"\npath = \"/a\"\n[[request]]\nname = \"b\"\npath = \"/b\"\n[[request]]\nname = \"c\"\npath = \"/c\"\n"
    );
    let scenario = |flows: &str| {
        format!(
            "[scenario.run]\nload = {{ model = \"closed\", users = {users} }}\nwarmup = \"1s\"\nduration = \"{secs}s\"\ninconclusive = \"pass\"\n{flows}"
        )
    };
    let captured = format!(
        "[target]\nurl = \"{url}\"\n[[request]]\nname = \"a\"\npath = \"/a\"\n[[request]]\nname = \"b\"\npath = \"/b\"\nheaders = {{ x-len = \"{{{{user.len}}}}\" }}\n[[request]]\nname = \"c\"\npath = \"/c\"\n"
    );
    vec![
        ("mix", format!("{requests}{}", scenario(""))),
        (
            "flow",
            format!(
                "{requests}[[flow]]\nname = \"abc\"\nsteps = [{{ request = \"a\" }}, {{ request = \"b\" }}, {{ request = \"c\" }}]\n{}",
                scenario("flows = [\"abc\"]\n")
            ),
        ),
        (
            "flow + capture",
            format!(
                "{captured}[[flow]]\nname = \"abc\"\nsteps = [{{ request = \"a\", capture = {{ len = {{ header = \"content-length\" }} }} }}, {{ request = \"b\" }}, {{ request = \"c\" }}]\n{}",
                scenario("flows = [\"abc\"]\n")
            ),
        ),
    ]
}

fn cpu_per_request(opts: &Opts) -> String {
    let server = support::Target::start(opts);
    let me = std::env::current_exe().expect("own path");
    let specs = specs(&server.url(), opts.connections, opts.duration.as_secs());
    let files: Vec<_> = specs
        .iter()
        .map(|(name, text)| spec_file(&name.replace([' ', '+'], ""), text))
        .collect();
    let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); specs.len()];
    let mut rate: Vec<Vec<f64>> = vec![Vec::new(); specs.len()];
    for round in 0..opts.repeat {
        for (i, file) in files.iter().enumerate() {
            let out = pinned(0, &me)
                .arg("--child")
                .arg(file)
                .arg("run")
                .arg("1")
                .output()
                .expect("generator child");
            let out = String::from_utf8_lossy(&out.stdout);
            let (Some(requests), Some(cpu_s), Some(window)) = (
                json_field(&out, "requests"),
                json_field(&out, "cpu_s"),
                json_field(&out, "window_s"),
            ) else {
                eprintln!("  {}: no figures in {out}", specs[i].0);
                continue;
            };
            eprintln!(
                "  round {round} {}: {:.0} requests/s, {:.2} µs CPU per request",
                specs[i].0,
                requests / window,
                cpu_s * 1e6 / requests
            );
            cpu[i].push(cpu_s * 1e6 / requests);
            rate[i].push(requests / window);
        }
    }
    let mut md = format!(
        "### Generator CPU per request: flow against mix\n\n{} closed-model users, no think time, {} s per run, {} interleaved rounds, one generator thread.\n\n| how | requests/s, median | CPU per request, median | against the mix |\n|---|---:|---:|---:|\n",
        opts.connections,
        opts.duration.as_secs(),
        opts.repeat
    );
    let base = median(&mut cpu[0].clone());
    for (i, (name, _)) in specs.iter().enumerate() {
        if cpu[i].is_empty() {
            md.push_str(&format!("| {name} | – | – | – |\n"));
            continue;
        }
        let c = median(&mut cpu[i]);
        md.push_str(&format!(
            "| {name} | {:.0} | {c:.2} µs | {:+.1} % |\n",
            median(&mut rate[i]),
            (c / base - 1.0) * 100.0
        ));
    }
    md.push_str("\nGoal: a flow under +5 % CPU per request against the mix.\n\n");
    md
}

fn turns() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("perf-specs/conversation.toml");
    let spec = perfspec::spec::Spec::load(&path).expect("the bundled conversation spec");
    let out = std::env::temp_dir().join(format!("perfspec-bench-turns-{}", std::process::id()));
    let report = perfspec::Harness::new()
        .out_dir(&out)
        .run_scenario(&spec, "consultation")
        .expect("scenario");
    let _ = std::fs::remove_dir_all(&out);
    let mut md = String::from(
        "### Per-turn TTFT against the server's truth\n\n`perf-specs/conversation.toml` (8 users, three-turn conversations, demo with `--prefill-us 500`). Client: TTFT perfspec measured from the send; server: the first-token time the demo reports in Server-Timing, from the request's arrival.\n\n| turn | streams | client p50 | server p50 | difference p50 | client mean | server mean | difference mean |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let m = match &report.outcome {
        Ok(m) => &m.measurement,
        Err(e) => return format!("{md}\ncould not measure: {e}\n"),
    };
    let ms = |us: f64| format!("{:.3} ms", us / 1000.0);
    for t in &m.course.turns {
        let Some(chat) = t.measurement.requests.first() else {
            continue;
        };
        let (Some(client), Some(server)) = (chat.stream.as_ref(), chat.stages.get("ttft")) else {
            continue;
        };
        let q = |h, s| stat_of(h, s).unwrap_or(f64::NAN);
        let p50 = Stat::Percentile(50.0);
        let (c50, s50) = (q(&client.ttft, p50), q(server, p50));
        let (cm, sm) = (q(&client.ttft, Stat::Mean), q(server, Stat::Mean));
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            t.turn,
            chat.ok,
            ms(c50),
            ms(s50),
            ms(c50 - s50),
            ms(cm),
            ms(sm),
            ms(cm - sm)
        ));
    }
    md.push_str("\nGoal: every difference within 1 ms.\n");
    md
}
