//! One trial, top to bottom: target up -> load -> target down -> verdict -> result file.

use std::time::Duration;

use libtest_mimic::Failed;
use tokio::sync::watch;

use super::Config;
use crate::assertion::evaluate;
use crate::client::Prepared;
use crate::compare::{Status, Verdict, doubts};
use crate::data::Rows;
use crate::files::write_atomic;
use crate::load::{Plan, drive};
use crate::measure::Measurement;
use crate::report::progress::Progress;
use crate::report::{Measured, TrialReport, console, json};
use crate::spec::Spec;
use crate::target::{self, Running};

/// Runs scenario `index` of `spec` and writes its result file.
pub(crate) fn run(spec: &Spec, index: usize, config: &Config) -> TrialReport {
    let scenario = &spec.scenarios[index];
    let log = config
        .out_dir
        .join("logs")
        .join(&spec.name)
        .join(format!("{}.log", scenario.name));
    let mut report = TrialReport {
        spec: spec.name.clone(),
        scenario: scenario.clone(),
        spec_file: spec.path.display().to_string(),
        outcome: Err(String::new()),
        log: None,
        series: Vec::new(),
        baseline: None,
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all().thread_name("perfspec-load");
    if let Some(n) = config.threads {
        builder.worker_threads(n);
    }
    let runtime = builder.build();
    report.outcome = match runtime {
        Err(e) => Err(format!("cannot start the async runtime: {e}")),
        Ok(rt) => rt.block_on(measure(spec, index, config, &log, &mut report.log)),
    };
    let path = config
        .out_dir
        .join("results")
        .join(&spec.name)
        .join(format!("{}.json", scenario.name));
    if let Err(e) = write_atomic(&path, json::render(&report).as_bytes())
        && let Ok(m) = &mut report.outcome
    {
        m.verdict.problems.push(e.to_string());
        m.verdict.status = Status::Fail;
    }
    report
}

/// The libtest outcome of a finished trial: the table when it did not pass.
pub(crate) fn outcome(report: &TrialReport) -> Result<(), Failed> {
    if report.passes() {
        Ok(())
    } else {
        Err(Failed::from(console::trial_table(report)))
    }
}

async fn measure(
    spec: &Spec,
    index: usize,
    config: &Config,
    log: &std::path::Path,
    shown_log: &mut Option<String>,
) -> Result<Measured, String> {
    let scenario = &spec.scenarios[index];
    let mut running = target::start(spec, log, &config.workspace, config.allow_remote)
        .await
        .map_err(|e| e.to_string())?;
    if running.process.is_some() {
        *shown_log = Some(
            log.strip_prefix(&config.workspace)
                .unwrap_or(log)
                .display()
                .to_string(),
        );
    }
    let plan = Plan {
        addr: running.addr,
        requests: spec
            .requests
            .iter()
            .map(|r| Prepared::new(r, &running.host, &running.base_path))
            .collect(),
        weights: spec.requests.iter().map(|r| r.weight).collect(),
        rows: Rows::new(&spec.data),
        max_body: spec.defaults.max_body,
        scenario: scenario.clone(),
    };
    let name = format!("{}::{}", spec.name, scenario.name);
    let progress = config
        .progress
        .get()
        .and_then(|layout| Progress::stderr(&name, *layout));
    let measurement = drive_watching(plan, progress, &mut running).await;
    let mut problems = Vec::new();
    if let Some(p) = running.process.as_mut() {
        if let Some(status) = p.exited() {
            problems.push(format!(
                "target exited during the run ({status})\n--- last lines of {} ---\n{}",
                p.log_path().display(),
                p.log_tail(20)
            ));
        }
        // Tear down now, before the verdict: nothing outlives the trial.
        p.teardown();
    }
    let checks = evaluate(&scenario.assertions, &measurement);
    let verdict = Verdict::new(checks, problems, doubts(scenario, &measurement));
    Ok(Measured {
        measurement,
        verdict,
    })
}

/// Drives load while watching the target process: if it dies, load stops at once.
async fn drive_watching(
    plan: Plan,
    progress: Option<Progress>,
    running: &mut Running,
) -> Measurement {
    let (stop_tx, stop_rx) = watch::channel(false);
    let run = drive(plan, stop_rx, progress);
    tokio::pin!(run);
    loop {
        tokio::select! {
            m = &mut run => return m,
            () = tokio::time::sleep(Duration::from_millis(100)) => {
                if running.process.as_mut().is_some_and(|p| p.exited().is_some()) {
                    let _ = stop_tx.send(true);
                }
            }
        }
    }
}
