//! `cargo xtask gate-study [--pairs 20] [--slowdown 10%] [--kind cpu|latency]
//! [--mode both|ab|baseline]`: how often does the regression gate cry wolf, how often does it
//! catch a real slowdown, and how long does a verdict take?
//!
//! It calibrates the study scenario (vector search over 50,000 documents on one server thread)
//! to this machine first: one closed-model user measures what one server thread serves, and the
//! open-model rate is set to a share of it (`--utilization`, 40 %), so a slower runner is not
//! overloaded. Then, per mode, it alternates comparisons of the unchanged demo (A/A: a false
//! alarm if the gate fails) and of the demo slowed down (a detection if it fails):
//!
//! - **ab**: `perfspec::commands::ab` in control mode (the head's build on both sides), with the
//!   slowdown set for the head's runs only: the A/B machinery exactly, minus a second build.
//! - **baseline**: a baseline blessed from `--bless-runs` runs, then gated runs against it.
//!
//! The slowdown is CPU-bound work (`--kind cpu`, the demo's `PERFSPEC_DEMO_SLOWDOWN`: latency
//! and CPU both grow) or latency that costs no CPU (`--kind latency`,
//! `PERFSPEC_DEMO_ADDED_LATENCY_US`, the share of the calibrated mean latency). Each comparison
//! ends passed, regressed or undecided; an undecided one is counted as such, never dropped.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use perfspec::commands::{AbOptions, ab};
use serde_json::Value;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Comparisons of each kind (unchanged, slowed) per mode.
    #[arg(long, default_value_t = 20)]
    pairs: u32,
    /// How much slower the changed demo is.
    #[arg(long, default_value = "10%")]
    slowdown: String,
    /// What the slowdown is: CPU-bound work (`cpu`) or latency that costs no CPU (`latency`).
    #[arg(long, value_enum, default_value_t = Kind::Cpu)]
    kind: Kind,
    /// Which gate to study.
    #[arg(long, value_enum, default_value_t = Mode::Both)]
    mode: Mode,
    /// The gate's threshold: a change smaller than this is not a regression.
    #[arg(long, default_value = "5%")]
    threshold: String,
    /// Runs blessed into the stored baseline.
    #[arg(long, default_value_t = 5)]
    bless_runs: u32,
    /// A/B rounds per comparison: at least MIN, at most MAX.
    #[arg(long, default_value = "3..12")]
    rounds: String,
    /// The open-model rate as a share of what one server thread serves here.
    #[arg(long, default_value_t = 0.4)]
    utilization: f64,
}

#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
enum Kind {
    Cpu,
    Latency,
}

#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
enum Mode {
    Both,
    Ab,
    Baseline,
}

/// How one comparison ended.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Ending {
    Passed,
    Regressed,
    Undecided,
    /// Could not compare (a run that could not measure …).
    Error,
}

struct Verdict {
    ending: Ending,
    seconds: f64,
    /// The change of each metric, `p95 +10.2%`.
    changes: String,
    /// The largest number of runs or rounds any metric used.
    runs: u64,
}

fn percent(text: &str, what: &str) -> Result<f64> {
    let v: f64 = text
        .trim()
        .trim_end_matches('%')
        .parse()
        .with_context(|| format!("--{what} is a percentage, e.g. 10%"))?;
    if !(v > 0.0 && v < 1000.0) {
        bail!("--{what} must be above 0% and below 1000%");
    }
    Ok(v / 100.0)
}

fn study_dir(root: &Path) -> PathBuf {
    root.join("target/gate-study")
}

/// Runs one scenario of the study's specs through `cargo test --test perf` (the dev profile of
/// this workspace is optimised: opt-level 3 for every package).
fn perf(root: &Path, name: &str, env: &[(&str, String)]) -> Result<(bool, Value)> {
    let dir = study_dir(root);
    let mut cmd = crate::cargo();
    cmd.current_dir(root)
        .args(["test", "--quiet", "--test", "perf", "--", "--exact", name])
        .env("PERFSPEC_SPECS", dir.join("specs"))
        .env("PERFSPEC_BASELINES", dir.join("baselines"))
        .env("PERFSPEC_OUT", dir.join("out"))
        .env_remove("PERFSPEC_PROFILE")
        .env_remove("CI");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().context("running cargo test --test perf")?;
    let (spec, scenario) = name.split_once("::").unwrap_or((name, ""));
    let result = dir.join(format!("out/results/{spec}/{scenario}.json"));
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(&result)
            .with_context(|| format!("no result at {}", result.display()))?,
    )?;
    Ok((out.status.success(), v))
}

/// How a gated run's result file ended.
fn ending_of(v: &Value) -> (Ending, String, u64) {
    let checks = v["baseline"]["checks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let outcomes: Vec<&str> = checks
        .iter()
        .filter_map(|c| c["outcome"].as_str())
        .collect();
    let changes = checks
        .iter()
        .map(|c| {
            format!(
                "{} {:+.1}%",
                c["metric"].as_str().unwrap_or("?"),
                c["change"].as_f64().unwrap_or(f64::NAN) * 100.0
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let runs = checks
        .iter()
        .filter_map(|c| c["runs_current"].as_u64())
        .max()
        .unwrap_or(0);
    let ending = if v["status"] == "error" || !v["problems"].as_array().is_none_or(Vec::is_empty) {
        Ending::Error
    } else if outcomes.contains(&"regressed") {
        Ending::Regressed
    } else if outcomes.contains(&"inconclusive") || outcomes.is_empty() {
        Ending::Undecided
    } else {
        Ending::Passed
    };
    (ending, changes, runs)
}

/// One closed-model user for a few seconds: what one server thread serves here, and its mean
/// latency.
fn calibrate(root: &Path) -> Result<(f64, f64)> {
    let (_, v) = perf(root, "calibrate::probe", &[])?;
    let rate = v["total"]["rate_per_s"].as_f64().unwrap_or(0.0);
    let mean = v["total"]["latency"]["mean_us"].as_f64().unwrap_or(0.0);
    if rate <= 0.0 || mean <= 0.0 {
        bail!("calibration measured nothing: {}", v["error"]);
    }
    Ok((rate, mean))
}

fn write_specs(root: &Path, rate: f64, threshold: f64) -> Result<()> {
    let dir = study_dir(root).join("specs");
    std::fs::create_dir_all(&dir)?;
    let queries = root.join("perf-specs/data/queries.txt");
    let target = format!(
        "[target]\ncommand = [\"{{bin:perfspec-demo}}\", \"--port\", \"{{port}}\", \"--threads\", \"1\", \"--corpus\", \"50000\", \"--slowdown-endpoints\", \"search\"]\nready = \"/health\"\n\n[[request]]\nname = \"search\"\nmethod = \"POST\"\npath = \"/search\"\njson = {{ query = \"{{{{query}}}}\", top-k = 10 }}\nexpect = {{ status = 200 }}\n\n[data]\nquery = {{ file = {:?} }}\n",
        queries.display().to_string()
    );
    std::fs::write(
        dir.join("calibrate.toml"),
        format!(
            "{target}\n[scenario.probe]\nload = {{ model = \"closed\", users = 1 }}\nwarmup = \"1s\"\nduration = \"4s\"\n"
        ),
    )?;
    std::fs::write(
        dir.join("gate.toml"),
        format!(
            "{target}\n[scenario.steady]\nload = {{ model = \"open\", rate = \"{rate:.0}/s\", max-users = 32 }}\nwarmup = \"1s\"\nduration = \"6s\"\nassert = [\"error-rate < 1%\"]\nregression = {{ threshold = \"{:.1}%\", warn = \"{:.1}%\", metrics = [\"p50\", \"p95\", \"sut.cpu-per-request\"], confirm = 2 }}\n",
            threshold * 100.0,
            threshold * 50.0
        ),
    )?;
    Ok(())
}

/// One A/B comparison (control build on both sides, `head_env` for the head's runs only).
fn ab_comparison(root: &Path, min: u32, max: u32, head_env: &[(&str, String)]) -> Result<Verdict> {
    let dir = study_dir(root);
    let options = AbOptions {
        filter: Some("gate::steady".into()),
        exact: true,
        control: true,
        release: false,
        min_rounds: min,
        max_rounds: max,
        out: Some(dir.join("ab-out")),
        specs: Some(dir.join("specs")),
        head_env: head_env
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        ..AbOptions::new(root)
    };
    let t = Instant::now();
    let report = ab(&options)?;
    let seconds = report.run_time.as_secs_f64().min(t.elapsed().as_secs_f64());
    let result = dir.join("ab-out/results/gate/steady.json");
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(&result)
            .with_context(|| format!("no result at {}", result.display()))?,
    )?;
    let (ending, changes, runs) = ending_of(&v);
    Ok(Verdict {
        ending,
        seconds,
        changes,
        runs,
    })
}

fn stored_comparison(root: &Path, env: &[(&str, String)]) -> Result<Verdict> {
    let t = Instant::now();
    let (_, v) = perf(root, "gate::steady", env)?;
    let (ending, changes, runs) = ending_of(&v);
    Ok(Verdict {
        ending,
        seconds: t.elapsed().as_secs_f64(),
        changes,
        runs,
    })
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// The table row of one kind of comparison.
fn row(label: &str, verdicts: &[Verdict], alarm: &str) -> String {
    let count = |e| verdicts.iter().filter(|v| v.ending == e).count();
    let mut secs: Vec<f64> = verdicts.iter().map(|v| v.seconds).collect();
    secs.sort_by(f64::total_cmp);
    let median = secs.get(secs.len() / 2).copied().unwrap_or(f64::NAN);
    let max = secs.last().copied().unwrap_or(f64::NAN);
    let runs: Vec<u64> = verdicts.iter().map(|v| v.runs).collect();
    let mean_runs = runs.iter().sum::<u64>() as f64 / runs.len().max(1) as f64;
    format!(
        "| {label} | {} | {} ({alarm}) | {} | {} | {} | {mean_runs:.1} | {median:.0} s | {max:.0} s |\n",
        verdicts.len(),
        count(Ending::Regressed),
        count(Ending::Undecided),
        count(Ending::Passed),
        count(Ending::Error),
    )
}

pub(crate) fn run(args: Args) -> Result<()> {
    let root = crate::root();
    let slowdown = percent(&args.slowdown, "slowdown")?;
    let threshold = percent(&args.threshold, "threshold")?;
    let (min, max) = args
        .rounds
        .split_once("..")
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
        .filter(|(a, b)| *a >= 2 && a <= b)
        .context("--rounds is MIN..MAX, e.g. 3..12")?;
    if !(args.utilization > 0.0 && args.utilization < 1.0) {
        bail!("--utilization is a share between 0 and 1, e.g. 0.4");
    }
    let started = Instant::now();
    let load_before = loadavg();
    let _ = std::fs::remove_dir_all(study_dir(&root));
    eprintln!("building…");
    let status = crate::cargo()
        .current_dir(&root)
        .args(["test", "--test", "perf", "--no-run"])
        .status()?;
    if !status.success() {
        bail!("build failed");
    }
    write_specs(&root, 1.0, threshold)?;
    let (capacity, mean_us) = calibrate(&root)?;
    let rate = (capacity * args.utilization).round().max(5.0);
    write_specs(&root, rate, threshold)?;
    let slow: Vec<(&str, String)> = match args.kind {
        Kind::Cpu => vec![("PERFSPEC_DEMO_SLOWDOWN", format!("{:.4}", 1.0 + slowdown))],
        Kind::Latency => vec![(
            "PERFSPEC_DEMO_ADDED_LATENCY_US",
            format!("{:.0}", mean_us * slowdown),
        )],
    };
    eprintln!(
        "calibrated: one server thread serves {capacity:.0}/s at a mean of {mean_us:.0} µs; the study runs {rate:.0}/s; slowed: {}={}",
        slow[0].0, slow[0].1
    );
    let kind = match args.kind {
        Kind::Cpu => format!("{:.0} % more CPU-bound work per request", slowdown * 100.0),
        Kind::Latency => format!(
            "{} µs of latency without CPU ({:.0} % of the mean)",
            slow[0].1,
            slowdown * 100.0
        ),
    };
    let mut md = format!(
        "Gate study (`cargo xtask gate-study --pairs {} --slowdown {} --kind {} --threshold {}`): \
         vector search over 50,000 documents on one server thread, open model at {rate:.0}/s \
         ({:.0} % of the {capacity:.0}/s one thread served here), 1 s warm-up + 6 s per run, \
         metrics p50, p95 and sut.cpu-per-request, threshold {:.1} %; slowed: {kind}. \
         Load average before: {load_before}.\n\n\
         | mode / comparison | comparisons | gate failed | undecided | passed | errors | mean runs (rounds) per verdict | median time per verdict | longest |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        args.pairs,
        args.slowdown,
        if args.kind == Kind::Cpu {
            "cpu"
        } else {
            "latency"
        },
        args.threshold,
        args.utilization * 100.0,
        threshold * 100.0
    );
    let modes: &[(&str, Mode)] = match args.mode {
        Mode::Both => &[("A/B", Mode::Ab), ("stored baseline", Mode::Baseline)],
        Mode::Ab => &[("A/B", Mode::Ab)],
        Mode::Baseline => &[("stored baseline", Mode::Baseline)],
    };
    for (label, mode) in modes {
        if *mode == Mode::Baseline {
            eprintln!("blessing {} runs…", args.bless_runs);
            let (ok, v) = perf(
                &root,
                "gate::steady",
                &[
                    ("PERFSPEC_BLESS", args.bless_runs.to_string()),
                    ("PERFSPEC_BLESS_FORCE", "1".into()),
                ],
            )?;
            if !ok {
                bail!("blessing failed: {}", v["problems"]);
            }
        }
        let (mut same, mut slowed) = (Vec::new(), Vec::new());
        for i in 1..=args.pairs {
            let compare = |env: &[(&str, String)]| match mode {
                Mode::Baseline => stored_comparison(&root, env),
                _ => ab_comparison(&root, min, max, env),
            };
            let a = compare(&[])?;
            let b = compare(&slow)?;
            eprintln!(
                "  {label} {i:>2}: unchanged [{}] {:?} in {:.0} s | slowed [{}] {:?} in {:.0} s",
                a.changes, a.ending, a.seconds, b.changes, b.ending, b.seconds
            );
            same.push(a);
            slowed.push(b);
        }
        md.push_str(&row(
            &format!("{label}: unchanged (A/A)"),
            &same,
            "false alarms",
        ));
        md.push_str(&row(&format!("{label}: slowed"), &slowed, "detections"));
    }
    md.push_str(&format!(
        "\nLoad average after: {}; total time {:.0} s.\n",
        loadavg(),
        started.elapsed().as_secs_f64()
    ));
    println!("\n{md}");
    let dir = root.join("target/perfspec/bench");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("gate-study.md"), &md)?;
    Ok(())
}
