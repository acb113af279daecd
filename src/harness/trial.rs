//! One trial, top to bottom: target up -> load -> target down -> verdict -> result file.

use std::sync::Arc;
use std::time::Duration;

use libtest_mimic::Failed;
use tokio::sync::watch;

use super::{Config, sharding};
use crate::assertion::{evaluate, find_recovery};
use crate::capacity;
use crate::client::Prepared;
use crate::compare::{Verdict, doubts};
use crate::data::Rows;
use crate::load::{Endpoint, Plan, drive};
use crate::measure::{Liveness, Measurement};
use crate::report::progress::Progress;
use crate::report::{Measured, TrialReport, console};
use crate::secrets::CapturedSecrets;
use crate::spec::{Scenario, Spec, Target};
use crate::target::{self, Running};
use crate::{resources, scrape};

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
    let mut slot = None;
    let secrets = Arc::new(CapturedSecrets::default());
    let refused = sharding::refusal(scenario, config);
    report.outcome = match runtime {
        // The trials after an interruption end at once: the harness is winding down.
        _ if super::signals::interrupted().is_some() => Err(format!(
            "not run: {}",
            super::signals::interrupted().unwrap_or_default()
        )),
        Err(e) => Err(format!("cannot start the async runtime: {e}")),
        Ok(_) if refused.is_some() => Err(refused.unwrap_or_default()),
        Ok(rt) => {
            let mut outcome = rt.block_on(measure(
                spec,
                index,
                config,
                &log,
                &mut report.log,
                &mut slot,
                &secrets,
            ));
            // A shard's verdict comes from the merge: no gate per shard.
            if let (Ok(first), None) = (&mut outcome, &config.shard) {
                let mut rerun = || {
                    rt.block_on(measure(
                        spec, index, config, &log, &mut None, &mut None, &secrets,
                    ))
                };
                super::gate::after_first(spec, scenario, config, first, &mut rerun);
            }
            outcome
        }
    };
    if let Some(Ok(run)) = &config.shard {
        sharding::write_shard_file(spec, scenario, config, run, slot, &mut report);
    }
    super::finish::finish(spec, config, report, &log, &secrets)
}

/// An id for one run of a scenario on the live endpoint: microseconds since the epoch, in hex.
fn run_id() -> String {
    let us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    format!("{us:x}")
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
    slot: &mut Option<std::time::SystemTime>,
    secrets: &Arc<CapturedSecrets>,
) -> Result<Measured, String> {
    let scenario = &spec.scenarios[index];
    let weights: Vec<(String, u32)> = spec
        .requests
        .iter()
        .map(|r| (r.name.clone(), r.weight))
        .collect();
    // A capacity search is a loop of ordinary runs, one per level.
    let Some(mut search) = capacity::Search::new(scenario, &weights) else {
        return measure_once(spec, scenario, config, log, shown_log, slot, secrets).await;
    };
    while let Some(step) = search.next_run() {
        let run = measure_once(spec, &step, config, log, shown_log, &mut None, secrets).await?;
        search.record(run);
    }
    search
        .finish()
        .ok_or_else(|| "the capacity search ran no step".to_string())
}

/// One run of `scenario`: target up, load, target down, verdict.
async fn measure_once(
    spec: &Spec,
    scenario: &Scenario,
    config: &Config,
    log: &std::path::Path,
    shown_log: &mut Option<String>,
    slot: &mut Option<std::time::SystemTime>,
    secrets: &Arc<CapturedSecrets>,
) -> Result<Measured, String> {
    let shard = config.shard.as_ref().and_then(|s| s.as_ref().ok());
    let shared_scenario = shard.map(|s| sharding::scenario_share(scenario, s.shard));
    let scenario = shared_scenario.as_ref().unwrap_or(scenario);
    let (endpoint, mut running, host, base) = match &spec.target {
        Target::Component(c) => {
            let component = config
                .components
                .get(&c.name)
                .ok_or_else(|| unknown_component(spec, c, config))?;
            (
                Endpoint::Component(component.clone()),
                None,
                String::new(),
                String::new(),
            )
        }
        _ => {
            let running = target::start(spec, log, &config.workspace, config.allow_remote)
                .await
                .map_err(|e| match super::signals::interrupted() {
                    Some(why) => format!("{why} while the target was starting"),
                    None => e.to_string(),
                })?;
            if running.process.is_some() {
                *shown_log = Some(
                    log.strip_prefix(&config.workspace)
                        .unwrap_or(log)
                        .display()
                        .to_string(),
                );
            }
            let (transport, host, base) = (
                running.transport.clone(),
                running.host.clone(),
                running.base_path.clone(),
            );
            (Endpoint::Http(transport), Some(running), host, base)
        }
    };
    let plan = Plan {
        endpoint,
        requests: spec
            .requests
            .iter()
            .map(|r| Prepared::new(r, &host, &base))
            .collect(),
        weights: spec.requests.iter().map(|r| r.weight).collect(),
        flows: scenario
            .flows
            .iter()
            .map(|&i| spec.flows[i].clone())
            .collect(),
        rows: Rows::new(&spec.data),
        max_body: spec.defaults.max_body,
        scenario: scenario.clone(),
        shard: shard.map(|s| s.shard),
        secrets: secrets.clone(),
        live: match config.live.server(config.allow_remote) {
            None => None,
            Some(Err(e)) => return Err(e),
            Some(Ok(server)) => Some(
                server.feed(
                    &spec.name,
                    &scenario.name,
                    &run_id(),
                    &spec
                        .requests
                        .iter()
                        .map(|r| r.name.clone())
                        .collect::<Vec<_>>(),
                ),
            ),
        },
    };
    // Shards begin together: wait for this scenario's common start, once the target is up.
    *slot = config
        .slots
        .wait(
            sharding::planned_length(scenario),
            super::signals::interrupted,
        )
        .await?;
    // Samplers start once the target is ready and stop after load, before teardown.
    let spawned = running
        .as_ref()
        .and_then(|r| r.process.as_ref())
        .map(target::Process::pid);
    // Of several shards only one samples the target (its figures are not multiplied).
    let samples_target = shard.is_none_or(crate::shard::ShardRun::samples_target);
    let sut = if samples_target {
        resources::find_target(&spec.target, spawned)?
    } else {
        None
    };
    // The service's own metrics: read once before the load, then on the sampler's clock.
    let scraping = match (spec.target.metrics_path(), running.as_ref()) {
        (Some(path), Some(r)) if samples_target => Some(scrape::start(
            scrape::Endpoint {
                addr: r.transport.addr(),
                host: r.host.clone(),
                path: path.to_string(),
                tls: r.transport.tls_for_http1(),
            },
            scenario.sample_interval,
        )),
        _ => None,
    };
    let mut extra: Vec<Box<dyn resources::Sampler>> = scraping
        .iter()
        .filter_map(scrape::Scraping::ticker)
        .collect();
    extra.extend(plan.live.as_ref().map(|feed| feed.sampler()));
    let component = match &spec.target {
        Target::Component(c) => config.components.get(&c.name).map(|k| (c.name.as_str(), k)),
        _ => None,
    };
    let sampling = resources::start(
        scenario.sample_interval,
        resources::Watch {
            sut_roots: sut.as_deref(),
            component,
            instructions: counts_instructions(scenario),
            wants_gpu: scenario.wants_gpu() && samples_target,
        },
        config.gpu.clone(),
        extra,
    );
    let name = format!("{}::{}", spec.name, scenario.name);
    let progress = config
        .progress
        .get()
        .and_then(|layout| Progress::stderr(&name, *layout));
    let t0 = tokio::time::Instant::now();
    let mut measurement = drive_watching(plan, running.as_mut(), t0, progress).await;
    let measure_from = (t0 + scenario.warmup).into_std();
    let sampled = sampling.finish(measure_from, measurement.window);
    // After the sampler stopped: the last read of the service's metrics follows the load.
    measurement.metrics = scraping.map(|s| s.finish(measure_from, measurement.window));
    let mut problems = resources::problems(scenario, &sampled);
    measurement.resources = Some(sampled);
    measurement.course.alive =
        sut.as_deref().map(
            |pids| match pids.iter().find(|&&pid| !resources::exists(pid)) {
                Some(pid) => Liveness::Exited(format!("process {pid} is gone")),
                None => Liveness::Alive,
            },
        );
    let exited = running
        .as_mut()
        .and_then(|r| r.process.as_mut())
        .and_then(|p| p.exited().map(|exit| (exit, p)));
    if let Some((exit, _)) = &exited {
        measurement.course.alive = Some(Liveness::Exited(format!(
            "the target exited during the run ({exit})"
        )));
    }
    if let Some(why) = super::signals::interrupted() {
        problems.push(format!(
            "{why}: perfspec stopped the load and the target; the figures cover the run until then"
        ));
    } else if let Some((exit, p)) = exited {
        problems.push(format!(
            "target exited during the run ({exit}{})\n--- last lines of {} ---\n{}",
            exit.left_note(),
            p.log_path().display(),
            p.log_tail(20)
        ));
    }
    if let Some(p) = running.as_mut().and_then(|r| r.process.as_mut()) {
        // Tear down now, before the verdict: nothing outlives the trial.
        p.teardown();
    }
    if let Some(abort) = &measurement.course.aborted {
        problems.push(abort.reason());
    }
    if shard.is_some() {
        // A shard passes unless it failed to run; its assertions are judged on the merge.
        let verdict = Verdict::new(vec![], problems, vec![]);
        return Ok(Measured {
            measurement,
            verdict,
        });
    }
    Ok(judge(scenario, measurement, problems))
}

/// The verdict of a finished measurement: the recovery, the assertions, the doubts. A merge
/// of shards is judged here too.
pub(crate) fn judge(
    scenario: &Scenario,
    mut measurement: Measurement,
    problems: Vec<String>,
) -> Measured {
    if let Some(rule) = &scenario.recovery {
        measurement.course.recovery = Some(find_recovery(rule, &measurement));
    }
    let checks = evaluate(&scenario.assertions, &measurement);
    let verdict = Verdict::new(checks, problems, doubts(scenario, &measurement));
    Measured {
        measurement,
        verdict,
    }
}

/// Whether the scenario asserts or gates on instructions (counters are opened only then).
fn counts_instructions(s: &crate::spec::Scenario) -> bool {
    s.assertions
        .iter()
        .map(|a| &a.metric)
        .chain(s.regression.metrics.iter().map(|g| &g.metric))
        .any(|m| {
            matches!(m, crate::assertion::Metric::Resource(r)
                if r.quantity == crate::resources::Quantity::Instructions)
        })
}

/// A component the spec names but `tests/perf.rs` did not register.
fn unknown_component(spec: &Spec, c: &crate::spec::ComponentTarget, config: &Config) -> String {
    let known: Vec<&str> = config.components.keys().map(String::as_str).collect();
    let help = if known.is_empty() {
        "no component is registered: register one in tests/perf.rs with Harness::new().component(\"name\", |input| async { … }).run()".to_string()
    } else {
        let hint = crate::spec::closest_name(&c.name, known.iter().copied())
            .map_or(String::new(), |k| format!("did you mean `{k}`? "));
        format!("{hint}registered components: {}", known.join(", "))
    };
    spec.diagnostic(
        c.span.clone(),
        format!("unknown component `{}`", c.name),
        Some(help),
    )
    .to_string()
}

/// Drives load from `t0` while watching the target process: if it dies, or the run is
/// interrupted, load stops at once.
async fn drive_watching(
    plan: Plan,
    mut running: Option<&mut Running>,
    t0: tokio::time::Instant,
    progress: Option<Progress>,
) -> Measurement {
    let (stop_tx, stop_rx) = watch::channel(false);
    let run = drive(plan, stop_rx, t0, progress);
    tokio::pin!(run);
    loop {
        tokio::select! {
            m = &mut run => return m,
            () = tokio::time::sleep(Duration::from_millis(100)) => {
                let exited = running.as_mut().and_then(|r| r.process.as_mut()).is_some_and(|p| p.exited().is_some());
                if exited || super::signals::interrupted().is_some() {
                    let _ = stop_tx.send(true);
                }
            }
        }
    }
}
