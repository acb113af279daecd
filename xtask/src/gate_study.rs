//! `cargo xtask gate-study [--runs 20] [--bless-runs 5] [--slowdown 1.2]`: how often does the
//! regression gate cry wolf, and how often does it catch a real slowdown? It blesses the study
//! scenario (`benches/gate-study/gate.toml`), then alternates runs of the unchanged service and
//! of the service slowed by the factor (the demo's PERFSPEC_DEMO_SLOWDOWN), each a full gated
//! run of `cargo test --release --test perf`, and counts false alarms and detections.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::Value;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Runs of each kind (unchanged, slowed).
    #[arg(long, default_value_t = 20)]
    runs: u32,
    /// Runs blessed into the baseline.
    #[arg(long, default_value_t = 5)]
    bless_runs: u32,
    /// How much slower the changed service is.
    #[arg(long, default_value_t = 1.2)]
    slowdown: f64,
}

struct Outcome {
    failed: bool,
    changes: Vec<(String, f64, String)>,
}

fn perf(root: &Path, bless: Option<u32>, slowdown: Option<f64>) -> Result<Outcome> {
    let mut cmd = crate::cargo();
    cmd.current_dir(root)
        .args([
            "test",
            "--quiet",
            "--release",
            "--test",
            "perf",
            "--",
            "--exact",
            "gate::steady",
        ])
        .env("PERFSPEC_SPECS", root.join("benches/gate-study"))
        .env(
            "PERFSPEC_BASELINES",
            root.join("target/gate-study/baselines"),
        )
        .env("PERFSPEC_OUT", root.join("target/gate-study/out"))
        .env_remove("PERFSPEC_PROFILE")
        .env_remove("CI");
    if let Some(n) = bless {
        cmd.env("PERFSPEC_BLESS", n.to_string());
    }
    if let Some(f) = slowdown {
        cmd.env("PERFSPEC_DEMO_SLOWDOWN", f.to_string());
    }
    let out = cmd
        .output()
        .context("running cargo test --release --test perf")?;
    let result = root.join("target/gate-study/out/results/gate/steady.json");
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(&result)
            .with_context(|| format!("no result at {}", result.display()))?,
    )?;
    let changes = v["baseline"]["checks"]
        .as_array()
        .map(|checks| {
            checks
                .iter()
                .map(|c| {
                    (
                        c["metric"].as_str().unwrap_or("?").to_string(),
                        c["change"].as_f64().unwrap_or(f64::NAN),
                        c["outcome"].as_str().unwrap_or("-").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if !out.status.success() && v["status"] != "fail" {
        bail!(
            "the perf run failed without a verdict:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    Ok(Outcome {
        failed: !out.status.success(),
        changes,
    })
}

pub(crate) fn run(args: Args) -> Result<()> {
    let root = crate::root();
    let started = Instant::now();
    eprintln!("building (release)…");
    let status = crate::cargo()
        .current_dir(&root)
        .args(["test", "--release", "--test", "perf", "--no-run"])
        .status()?;
    if !status.success() {
        bail!("build failed");
    }
    let _ = std::fs::remove_dir_all(root.join("target/gate-study"));
    eprintln!("blessing {} runs…", args.bless_runs);
    let blessed = perf(&root, Some(args.bless_runs), None)?;
    if blessed.failed {
        bail!("blessing failed; see target/gate-study/out/results/gate/steady.json");
    }
    let (mut alarms, mut detections) = (0, 0);
    let (mut same_changes, mut slow_changes): (Vec<f64>, Vec<f64>) = (vec![], vec![]);
    let (mut same_time, mut slow_time) = (0.0, 0.0);
    for i in 1..=args.runs {
        let t = Instant::now();
        let same = perf(&root, None, None)?;
        same_time += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let slow = perf(&root, None, Some(args.slowdown))?;
        slow_time += t.elapsed().as_secs_f64();
        alarms += u32::from(same.failed);
        detections += u32::from(slow.failed);
        let show = |o: &Outcome| {
            o.changes
                .iter()
                .map(|(m, c, r)| format!("{m} {:+.1}% {r}", c * 100.0))
                .collect::<Vec<_>>()
                .join(", ")
        };
        eprintln!(
            "  {i:>2}: unchanged [{}] {} | slowed [{}] {}",
            show(&same),
            if same.failed { "ALARM" } else { "ok" },
            show(&slow),
            if slow.failed { "DETECTED" } else { "missed" }
        );
        same_changes.extend(same.changes.iter().map(|c| c.1));
        slow_changes.extend(slow.changes.iter().map(|c| c.1));
    }
    let median = |v: &mut Vec<f64>| {
        v.retain(|x| x.is_finite());
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN) * 100.0
    };
    let n = args.runs;
    let md = format!(
        "Gate study (`cargo xtask gate-study`): `benches/gate-study/gate.toml` (search over 50,000 \
         vectors, open model 100/s, 1 s warm-up + 6 s, metrics p50 and p95, threshold 10 %, \
         confirm = 2), baseline of {} runs, then {n} unchanged and {n} runs {:.0} % slower, \
         alternating.\n\n\
         | | runs | gate failed | median change | mean time per run |\n|---|---:|---:|---:|---:|\n\
         | unchanged | {n} | {alarms} (false alarms) | {:+.1}% | {:.1} s |\n\
         | {:.0} % slower | {n} | {detections} (detections) | {:+.1}% | {:.1} s |\n\n\
         Total time {:.0} s.\n",
        args.bless_runs,
        (args.slowdown - 1.0) * 100.0,
        median(&mut same_changes),
        same_time / f64::from(n),
        (args.slowdown - 1.0) * 100.0,
        median(&mut slow_changes),
        slow_time / f64::from(n),
        started.elapsed().as_secs_f64()
    );
    println!("\n{md}");
    let dir = root.join("target/perfspec/bench");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("gate-study.md"), &md)?;
    Ok(())
}
