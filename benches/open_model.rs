//! How true is the open model's schedule?
//!
//! `cargo xtask bench open-model` (or `cargo bench --bench open_model -- [--duration S]`).
//! The generator (one worker thread, pinned to CPU 0) sends at 1k, 5k and 20k arrivals per
//! second to a canned-response server pinned to CPU 1 and reports the achieved rate against the
//! requested one and the schedule lateness (actual minus intended start); oha `-q` (its rate
//! limit, with `--latency-correction`) runs beside it for the achieved rate. Then it finds the
//! highest rate the generator holds with lateness p99 under 2 ms and nothing dropped.
//! Figures go to stdout and to `target/perfspec/bench/open-model.md`.

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};

use support::{Opts, json_field, pinned};

struct Run {
    requested: f64,
    sent: f64,
    dropped: f64,
    window: f64,
    p50_us: f64,
    p99_us: f64,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        return support::child(&args[i + 1..]);
    }
    let opts = Opts::parse(&args);
    let server = support::Target::start(&Opts {
        server: "canned".into(),
        ..opts.clone()
    });
    let url = server.url();
    let me = std::env::current_exe().expect("own path");
    let secs = opts.duration.as_secs();
    let mut md = format!(
        "Open model, uniform arrivals, {secs} s per rate (after a 1 s warm-up), max-users 256, one \
         generator thread on CPU 0, canned server on CPU 1.\n\n\
         | requested | achieved | sent / requested | dropped | lateness p50 | lateness p99 | oha -q achieved |\n\
         |---:|---:|---:|---:|---:|---:|---:|\n"
    );
    for rate in [1_000u64, 5_000, 20_000] {
        let Some(r) = run(&me, &url, rate, secs) else {
            md.push_str(&format!("| {rate}/s | failed | | | | | |\n"));
            continue;
        };
        let oha = oha_rate(&url, rate, secs).map_or("-".into(), |a| format!("{a:.0}/s"));
        eprintln!(
            "  {rate}/s: sent {} of {}, lateness p99 {} µs, oha {oha}",
            r.sent, r.requested, r.p99_us
        );
        md.push_str(&format!(
            "| {rate}/s | {:.0}/s | {:+.3}% | {} | {:.0} µs | {:.0} µs | {oha} |\n",
            r.sent / r.window,
            (r.sent / r.requested - 1.0) * 100.0,
            r.dropped,
            r.p50_us,
            r.p99_us
        ));
    }
    let (held, first_bad) = highest_rate(&me, &url);
    md.push_str(&format!(
        "\nHighest rate held with schedule lateness p99 under 2 ms, nothing dropped and at least \
         99 % of the requested arrivals sent (3 s runs, rates ×1.25, then bisected): \
         **{held}/s** (the next rate tried, {first_bad}/s, missed)\n"
    ));
    println!("\n{md}");
    support::save("open-model.md", &md);
}

fn spec(url: &str, rate: u64, secs: u64) -> PathBuf {
    support::spec_file(
        &format!("open-{rate}"),
        &format!(
            "[target]\nurl = \"{url}\"\n[[request]]\nname = \"root\"\npath = \"/\"\n[scenario.bench]\nload = {{ model = \"open\", rate = \"{rate}/s\", max-users = 256 }}\nwarmup = \"1s\"\nduration = \"{secs}s\"\ninconclusive = \"pass\"\n"
        ),
    )
}

fn run(me: &Path, url: &str, rate: u64, secs: u64) -> Option<Run> {
    let out = pinned(0, me)
        .args([
            "--child",
            &spec(url, rate, secs).display().to_string(),
            "bench",
            "1",
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Some(Run {
        requested: json_field(&text, "requested")?,
        sent: json_field(&text, "sent")?,
        dropped: json_field(&text, "dropped")?,
        window: json_field(&text, "window_s")?,
        p50_us: json_field(&text, "lateness_p50_us")?,
        p99_us: json_field(&text, "lateness_p99_us")?,
    })
}

fn oha_rate(url: &str, rate: u64, secs: u64) -> Option<f64> {
    if !support::has("oha") {
        return None;
    }
    let out = pinned(0, Path::new("oha"))
        .args([
            "-q",
            &rate.to_string(),
            "-z",
            &format!("{secs}s"),
            "-c",
            "256",
            "--latency-correction",
            "--no-tui",
            "--output-format",
            "json",
            &format!("{url}/"),
        ])
        .output()
        .ok()?;
    support::json_path(
        &String::from_utf8_lossy(&out.stdout),
        &["summary", "requestsPerSec"],
    )
}

fn holds(r: &Run) -> bool {
    r.p99_us < 2_000.0 && r.dropped == 0.0 && r.sent >= 0.99 * r.requested
}

/// Steps the rate up by 1.25 until a run misses, then bisects twice between the last good and
/// the first bad rate.
fn highest_rate(me: &Path, url: &str) -> (u64, u64) {
    let (mut good, mut bad) = (0u64, 0u64);
    let mut rate = 20_000u64;
    while rate < 2_000_000 {
        let ok = run(me, url, rate, 3).as_ref().is_some_and(holds);
        eprintln!("  {rate}/s: {}", if ok { "held" } else { "missed" });
        if !ok {
            bad = rate;
            break;
        }
        good = rate;
        rate = rate * 5 / 4;
    }
    for _ in 0..2 {
        if bad == 0 || bad - good < 1_000 {
            break;
        }
        let mid = (good + bad) / 2;
        let ok = run(me, url, mid, 3).as_ref().is_some_and(holds);
        eprintln!("  {mid}/s: {}", if ok { "held" } else { "missed" });
        if ok { good = mid } else { bad = mid }
    }
    (good, bad)
}
