//! Sharded load merged against one process offering the same load, in the same run.
//!
//! `cargo xtask bench shards` (or `cargo bench --bench shards -- [--users N] [--shards N]
//! [--duration S] [--rate R] [--merge-files N]`). Against one server process
//! (`testkit-target`, hyper, one thread, pinned to CPU 1 when possible):
//!
//! 1. Closed model: one process with `--users` (10,000) users, think time 1 s, then
//!    `--shards` (4) shard processes of the same scenario from a common start
//!    (`PERFSPEC_SHARD`, `PERFSPEC_START_AT` through [`perfspec::Harness::shard`]), merged
//!    with `perfspec::commands::merge`: merged p50/p90/p99 against the single process's.
//! 2. Open model at `--rate` (2,000/s): the merged `requested` against the schedule's
//!    count and the one-process run's; every shard's share.
//! 3. Merging `--merge-files` (100) shard files: the time of `perfspec::commands::merge`
//!    (read, check, add up, judge, write every report).
//!
//! The machine's load average is printed before and after. Figures go to stdout and to
//! `target/perfspec/bench/shards.md`.

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use perfspec::Harness;
use perfspec::assertion::Stat;
use perfspec::shard::ShardRun;
use serde_json::Value;
use support::{Opts, Target, quiet};

fn flag(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--shard-child") {
        return shard_child(&args[i + 1..]);
    }
    let users = flag(&args, "--users", 10_000);
    let shards = flag(&args, "--shards", 4) as u32;
    let secs = flag(&args, "--duration", 10);
    let rate = flag(&args, "--rate", 2_000);
    let files = flag(&args, "--merge-files", 100) as u32;
    let mut opts = Opts::parse(&args);
    opts.server = "hyper".into();
    let target = Target::start(&opts);
    let mut md = format!(
        "Load average at the start: {}. One server (`testkit-target`, hyper, 1 thread, pinned: {}).\n\n",
        quiet::loadavg(),
        support::can_pin()
    );
    let spec = support::spec_file(
        "sharded",
        &format!(
            "[target]\nurl = \"{}\"\n[[request]]\nname = \"r\"\npath = \"/\"\n\
             [scenario.closed]\nload = {{ model = \"closed\", users = {users}, ramp-up = \"2s\", think-time = \"1s\" }}\nwarmup = \"3s\"\nduration = \"{secs}s\"\n\
             [scenario.open]\nload = {{ model = \"open\", rate = \"{rate}/s\", max-users = 2000 }}\nwarmup = \"1s\"\nduration = \"{secs}s\"\n",
            target.url()
        ),
    );
    let dir = spec.parent().unwrap().to_path_buf();

    // 1. Closed: one process, then the shards.
    let single = single(&spec, "closed", &dir.join("single"));
    let merged = sharded(&spec, "closed", shards, &dir.join("closed"));
    md.push_str(&format!(
        "## Closed model: {users} users, think time 1 s, {secs} s measured\n\n| run | requests | p50 ms | p90 ms | p99 ms |\n|---|---|---|---|---|\n"
    ));
    let row = |name: &str, r: &Figures| {
        format!(
            "| {name} | {} | {:.2} | {:.2} | {:.2} |\n",
            r.requests,
            r.p[0] / 1e3,
            r.p[1] / 1e3,
            r.p[2] / 1e3
        )
    };
    md.push_str(&row("one process", &single));
    md.push_str(&row(&format!("{shards} shards, merged"), &merged));
    md.push_str(&format!(
        "\nMerged / one process: p50 {:+.1} %, p90 {:+.1} %, p99 {:+.1} %.\n\n",
        (merged.p[0] / single.p[0] - 1.0) * 100.0,
        (merged.p[1] / single.p[1] - 1.0) * 100.0,
        (merged.p[2] / single.p[2] - 1.0) * 100.0
    ));

    // 2. Open: the union of the shards is the schedule.
    let one = single_open(&spec, &dir.join("single-open"));
    let out = dir.join("open");
    let merged_open = sharded(&spec, "open", shards, &out);
    let shares: Vec<u64> = (1..=shards)
        .map(|k| {
            let f = json(&out.join(format!(
                "{k}/shards/sharded/open/{k}-of-{shards}.shard.json"
            )));
            f["measurement"]["generator"]["requested"]
                .as_u64()
                .unwrap_or(0)
        })
        .collect();
    md.push_str(&format!(
        "## Open model: {rate}/s for {secs} s\n\nSchedule: {} arrivals; one process requested {}; shards requested {shares:?}, merged {} ({}); sent merged {}, one process {}.\n\n",
        rate * secs,
        one.0,
        merged_open.requested,
        if merged_open.requested == rate * secs && one.0 == rate * secs {
            "exact"
        } else {
            "NOT exact"
        },
        merged_open.sent,
        one.1,
    ));

    // 3. Merging many shard files.
    let many = dir.join("many");
    let template = out.join(format!("1/shards/sharded/open/1-of-{shards}.shard.json"));
    fabricate(&template, files, &many);
    let t = Instant::now();
    let report = perfspec::commands::merge(
        std::slice::from_ref(&many),
        &merger(&spec, &dir.join("many-out")),
    )
    .expect("merge");
    let took = t.elapsed();
    md.push_str(&format!(
        "## Merge\n\n{files} shard files ({} KiB each) merged, judged and reported in {:.0} ms ({}).\n\nLoad average at the end: {}.\n",
        std::fs::metadata(&template).map_or(0, |m| m.len() / 1024),
        took.as_secs_f64() * 1e3,
        report.scenarios[0].status,
        quiet::loadavg()
    ));
    println!("{md}");
    support::save("shards.md", &md);
    let _ = std::fs::remove_dir_all(&dir);
}

struct Figures {
    requests: u64,
    sent: u64,
    requested: u64,
    p: [f64; 3],
}

fn merger(spec: &Path, out: &Path) -> Harness {
    Harness::new()
        .specs_dir(spec.parent().unwrap())
        .out_dir(out)
        .baselines_dir(out.join("no-baselines"))
        .ci(false)
}

fn single(spec: &Path, scenario: &str, out: &Path) -> Figures {
    let s = perfspec::spec::Spec::load(spec).expect("bench spec");
    let r = Harness::new()
        .out_dir(out)
        .run_scenario(&s, scenario)
        .unwrap();
    let m = &r.outcome.as_ref().expect("measured").measurement;
    let t = m.total();
    let p = |q| t.stat(Stat::Percentile(q)).unwrap_or(f64::NAN);
    Figures {
        requests: t.requests(),
        sent: m.generator.sent,
        requested: m.generator.requested.unwrap_or(0),
        p: [p(50.0), p(90.0), p(99.0)],
    }
}

fn single_open(spec: &Path, out: &Path) -> (u64, u64) {
    let f = single(spec, "open", out);
    (f.requested, f.sent)
}

/// Runs `shards` shard processes of `scenario` from a common start, then merges them.
fn sharded(spec: &Path, scenario: &str, shards: u32, out: &Path) -> Figures {
    let start = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        + 4.0;
    let me = std::env::current_exe().unwrap();
    let children: Vec<_> = (1..=shards)
        .map(|k| {
            Command::new(&me)
                .arg("--shard-child")
                .arg(spec)
                .arg(scenario)
                .arg(format!("{k}/{shards}"))
                .arg(format!("{start:.3}"))
                .arg(out.join(k.to_string()))
                .spawn()
                .expect("shard process")
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success(), "a shard failed");
    }
    let merged_out = out.join("merged");
    perfspec::commands::merge(&[out.to_path_buf()], &merger(spec, &merged_out)).expect("merge");
    let r = json(&merged_out.join(format!("results/sharded/{scenario}.json")));
    let p = |k: &str| r["total"]["latency"][k].as_f64().unwrap_or(f64::NAN);
    Figures {
        requests: r["total"]["requests"].as_u64().unwrap_or(0),
        sent: r["generator"]["sent"].as_u64().unwrap_or(0),
        requested: r["generator"]["requested"].as_u64().unwrap_or(0),
        p: [p("p50_us"), p("p90_us"), p("p99_us")],
    }
}

/// `--shard-child SPEC SCENARIO K/N START OUT`: one shard, as its own process.
fn shard_child(args: &[String]) {
    let spec = perfspec::spec::Spec::load(Path::new(&args[0])).expect("bench spec");
    let run = ShardRun::from_values(Some(&args[2]), Some(&args[3]), None, SystemTime::now())
        .expect("a shard")
        .expect("valid shard settings");
    let r = Harness::new()
        .out_dir(&args[4])
        .shard(run)
        .run_scenario(&spec, &args[1])
        .expect("scenario");
    if let Err(e) = &r.outcome {
        eprintln!("shard {}: {e}", args[2]);
        std::process::exit(1);
    }
}

/// `count` shard files made from one real one: the same measurement as shards 1..count of a
/// run of `count` shards (a merge does the same work whatever the figures are).
fn fabricate(template: &Path, count: u32, dir: &Path) {
    let _ = std::fs::create_dir_all(dir);
    let mut v = json(template);
    for k in 1..=count {
        v["shard"] = k.into();
        v["shards"] = count.into();
        v["sampled_target"] = (k == 1).into();
        let path: PathBuf = dir.join(format!("{k}-of-{count}.shard.json"));
        std::fs::write(&path, v.to_string()).unwrap();
    }
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_default()).unwrap_or(Value::Null)
}
