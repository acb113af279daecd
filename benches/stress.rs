//! How true are capacity search, recovery time and abort-on?
//!
//! `cargo xtask bench stress` (or `cargo bench --bench stress`). Three studies against targets
//! whose answer is known exactly:
//!
//! - **capacity**: the demo's worker pool (`GET /work`, k workers of s ms: capacity k/s) is
//!   searched by bisection to 5 %; the figure is the capacity found against the known one and
//!   the wall time of the whole search (goal: within 5 % in under 2 minutes).
//! - **recovery**: the pool with a queue of N is overloaded until the queue is full, then the
//!   rate drops to R; the backlog drains in N / (k/s − R). The figure is `recovery-time`
//!   against that (goal: within 1 s).
//! - **abort-on**: an in-process server that starts failing (or slows down) at a known time
//!   after the first request; the figure is how long after the breach the run was aborted,
//!   against the condition's window (goal: within one window).
//!
//! The machine's load average is printed before and after: on a shared machine the figures
//! say as much about the neighbours as about perfspec. Figures go to stdout and to
//! `target/perfspec/bench/stress.md`.

#[path = "support/mod.rs"]
mod support;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use perfspec::Harness;
use perfspec::spec::Spec;

fn main() {
    // Built before anything is timed (the harness then finds it built).
    perfspec::workspace_bin(
        "perfspec-demo",
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
    )
    .expect("build perfspec-demo");
    let mut md = format!("Load average before: {}\n\n", loadavg());
    md.push_str(&capacity());
    md.push_str(&recovery());
    md.push_str(&abort_on());
    md.push_str(&format!("\nLoad average after: {}\n", loadavg()));
    println!("\n{md}");
    support::save("stress.md", &md);
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The demo started by the harness with a pool of `workers` × `ms` (and a queue limit).
fn demo_target(workers: u32, ms: u32, queue: Option<u32>) -> String {
    let queue = queue.map_or(String::new(), |q| format!(", \"--pool-queue\", \"{q}\""));
    format!(
        "[target]\ncommand = [\"{{bin:perfspec-demo}}\", \"--port\", \"{{port}}\", \"--threads\", \"1\", \"--corpus\", \"10\", \"--pool-workers\", \"{workers}\", \"--pool-ms\", \"{ms}\"{queue}]\nready = \"/health\"\n[[request]]\nname = \"work\"\npath = \"/work\"\n"
    )
}

fn run(name: &str, text: &str) -> perfspec::report::TrialReport {
    let path = support::spec_file(name, text);
    let spec = Spec::load(&path).expect("bench spec");
    Harness::new()
        .out_dir(path.with_extension("out"))
        .run_scenario(&spec, "s")
        .expect("scenario")
}

/// Where the search starts, as a share of the known capacity: not a power of two, so doubling
/// never lands on the capacity itself.
const START: f64 = 0.13;

fn capacity() -> String {
    let mut md = String::from(
        "### Capacity search\n\nThe demo's pool of k workers of s ms (capacity k/s), open model, bisection to 5 % \
         from 13 % of the capacity (0.5 s warm-up + 2 s per step), assertions `p95 < 5 × s` and \
         `error-rate < 1%`.\n\n\
         | pool | known | found (held) | lowest failed | error | steps (runs) | search time |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    for (workers, ms) in [(4u32, 10u32), (8, 10), (16, 10)] {
        let known = f64::from(workers) * 1000.0 / f64::from(ms);
        let text = format!(
            "{}[scenario.s]\nload = {{ model = \"open\", rate = \"{}/s\", max-users = 2048 }}\ncapacity = {{ from = \"{}/s\", to = \"{}/s\", precision = \"5%\" }}\nwarmup = \"500ms\"\nduration = \"2s\"\nmax-lateness = \"20ms\"\nassert = [\"p95 < {}ms\", \"error-rate < 1%\"]\n",
            demo_target(workers, ms, None),
            known * START,
            known * START,
            known * 8.0,
            5 * ms
        );
        let t = Instant::now();
        let report = run(&format!("capacity-{workers}x{ms}"), &text);
        let took = t.elapsed().as_secs_f64();
        let row = match report
            .outcome
            .as_ref()
            .ok()
            .and_then(|m| m.measurement.course.capacity.clone())
        {
            Some(c) => {
                let found = c.held.unwrap_or(0.0);
                let runs: usize = c.steps.iter().map(|s| s.runs.len()).sum();
                format!(
                    "| {workers} × {ms} ms | {known:.0}/s | {found:.1}/s | {} | {:+.1}% | {} ({runs}) | {took:.0} s |\n",
                    c.failed.map_or("-".into(), |f| format!("{f:.1}/s")),
                    (found / known - 1.0) * 100.0,
                    c.steps.len(),
                )
            }
            None => {
                format!("| {workers} × {ms} ms | {known:.0}/s | failed | | | | {took:.0} s |\n")
            }
        };
        eprint!("  {row}");
        md.push_str(&row);
    }
    md
}

fn recovery() -> String {
    let mut md = String::from(
        "\n### Recovery time\n\nThe pool (4 workers of 10 ms: 400/s) with a queue of N: R/s for 3 s (the reference), 800/s until \
         the queue has been full for a second, then R/s again; the backlog of N drains in N / (400 − R) s. \
         `recovery = { after = \"stress\", reference = \"steady\" }` (1 s windows, 3 in a row, p95 within 50 % of the reference).\n\n\
         | queue N | R | known | measured | error |\n|---:|---:|---:|---:|---:|\n",
    );
    for (queue, rate) in [(400u32, 100u32), (600, 100), (1000, 200), (1200, 100)] {
        let known = f64::from(queue) / (400.0 - f64::from(rate));
        let fill = (f64::from(queue) / 400.0).ceil() + 1.0;
        let text = format!(
            "{}[scenario.s]\nload = {{ model = \"open\", rate = \"{rate}/s\", max-users = 4000, stages = [\n  {{ hold = \"4s\", phase = \"steady\" }},\n  {{ ramp = \"50ms\", to = \"800/s\", phase = \"stress\" }},\n  {{ hold = \"{}ms\", phase = \"stress\" }},\n  {{ ramp = \"50ms\", to = \"{rate}/s\", phase = \"recovery\" }},\n  {{ hold = \"12s\", phase = \"recovery\" }},\n] }}\nwarmup = \"1s\"\nmax-lateness = \"20ms\"\nrecovery = {{ after = \"stress\", reference = \"steady\" }}\nassert = [\"recovery-time < 1m\"]\n",
            demo_target(4, 10, Some(queue)),
            (fill * 1000.0) as u64 - 50,
        );
        let report = run(&format!("recovery-{queue}-{rate}"), &text);
        let measured = report
            .outcome
            .as_ref()
            .ok()
            .and_then(|m| m.measurement.course.recovery.as_ref()?.time_s());
        let row = match measured {
            Some(t) => format!(
                "| {queue} | {rate}/s | {known:.2} s | {t:.0} s | {:+.2} s |\n",
                t - known
            ),
            None => format!("| {queue} | {rate}/s | {known:.2} s | not seen | |\n"),
        };
        eprint!("  {row}");
        md.push_str(&row);
    }
    md
}

fn abort_on() -> String {
    let mut md = String::from(
        "\n### Abort-on\n\nAn in-process server that breaks 3.5 s after the first request it gets (500s, or 200 ms answers), \
         closed model, 4 users, 2 ms think time, 60 s planned. Delay: from the breach to the abort (the condition seen) and \
         to the end of load.\n\n\
         | condition | window | breach | aborted at | delay to abort | delay to stop |\n|---|---:|---:|---:|---:|---:|\n",
    );
    let breach = 3.5;
    for (condition, slow) in [
        ("error-rate over 2s > 20%", false),
        ("error-rate over 5s > 20%", false),
        ("error-rate over 10s > 20%", false),
        ("p95 over 5s > 100ms", true),
    ] {
        // The breach is timed from the first request, which comes as load starts.
        let first = Arc::new(OnceLock::<Instant>::new());
        let server = testkit::Server::http(1, move |_req| {
            let broken = first.get_or_init(Instant::now).elapsed().as_secs_f64() >= breach;
            async move {
                match (broken, slow) {
                    (false, _) => testkit::text(200, "ok"),
                    (true, false) => testkit::text(500, "broken"),
                    (true, true) => {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        testkit::text(200, "slow")
                    }
                }
            }
        });
        let text = format!(
            "[target]\nurl = \"{}\"\n[[request]]\nname = \"r\"\npath = \"/\"\n[scenario.s]\nload = {{ model = \"closed\", users = 4, think-time = \"2ms\" }}\nduration = \"60s\"\nabort-on = [\"{condition}\"]\n",
            server.url()
        );
        let report = run("abort", &text);
        let window: f64 = condition
            .split_whitespace()
            .nth(2)
            .and_then(|w| w.trim_end_matches('s').parse().ok())
            .unwrap_or(0.0);
        let row = match report.outcome.as_ref().ok().map(|m| {
            (
                m.measurement.course.aborted.clone(),
                m.measurement.window.as_secs_f64(),
            )
        }) {
            Some((Some(a), stopped)) => format!(
                "| `{condition}` | {window:.0} s | {breach:.1} s | {:.2} s | {:.2} s | {:.2} s |\n",
                a.at_s,
                a.at_s - breach,
                stopped - breach
            ),
            _ => format!("| `{condition}` | {window:.0} s | {breach:.1} s | not aborted | | |\n"),
        };
        eprint!("  {row}");
        md.push_str(&row);
        drop(server);
    }
    md
}
