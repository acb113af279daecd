//! The end of a trial once its outcome is known: series for the reports, secrets out of every
//! text and of the target's log, the push, and the result file (a merge of shards ends the
//! same way).

use super::Config;
use crate::compare::Verdict;
use crate::files::write_atomic;
use crate::report::{TrialReport, json, views};
use crate::secrets::CapturedSecrets;
use crate::spec::Spec;

/// Completes `report`: series, redaction, push, result file.
pub(crate) fn finish(
    spec: &Spec,
    config: &Config,
    mut report: TrialReport,
    log: &std::path::Path,
    captured: &CapturedSecrets,
) -> TrialReport {
    let scenario = report.scenario.clone();
    if let Ok(m) = &report.outcome {
        report.series = views::series_of(&m.measurement);
        report
            .series
            .extend(views::metric_series(&m.measurement, &scenario.assertions));
        report.baseline = m.verdict.gate().and_then(views::baseline_view);
    }
    // Secrets (environment values, credential headers, captured credentials) leave no trace:
    // not in any report, not in the target's log.
    let mut secrets = spec.secrets.clone();
    secrets.extend(captured.values());
    report.redact(&secrets);
    if captured.overflowed() {
        withhold_log(log);
    } else {
        redact_log(log, &secrets);
    }
    push(&mut report, config);
    let path = config
        .out_dir
        .join("results")
        .join(&spec.name)
        .join(format!("{}.json", scenario.name));
    let text = crate::report::redact(&json::render(&report), &secrets);
    if let Err(e) = write_atomic(&path, text.as_bytes()) {
        match &mut report.outcome {
            Ok(m) => {
                let verdict =
                    std::mem::replace(&mut m.verdict, Verdict::new(vec![], vec![], vec![]));
                m.verdict = verdict.with_problem(e.to_string());
            }
            Err(why) => why.push_str(&format!(
                "
(its result file was not written either: {e})"
            )),
        }
    }
    report
}

/// Pushes the trial's final figures when the run asks for it; a failed push fails the trial.
fn push(report: &mut TrialReport, config: &Config) {
    let Some(dest) = &config.push else { return };
    let result = dest.as_ref().map_err(String::clone).and_then(|d| {
        crate::export::push::push(d, report, &crate::export::push::commit(&config.workspace))
    });
    if let (Err(e), Ok(m)) = (result, &mut report.outcome) {
        m.verdict = m.verdict.clone().with_problem(e);
    }
}

/// Replaces the target's log by a line saying why: more credentials were captured than can be
/// redacted one by one.
fn withhold_log(log: &std::path::Path) {
    if log.exists() {
        let why = format!(
            "perfspec withheld this log: the flows captured more than {} distinct credentials, too many to redact from it one by one\n",
            crate::secrets::MAX_CAPTURED
        );
        let _ = write_atomic(log, why.as_bytes());
    }
}

/// Rewrites the target's log without secrets (the target may have printed what it received).
fn redact_log(log: &std::path::Path, secrets: &[String]) {
    if secrets.is_empty() {
        return;
    }
    let Ok(bytes) = std::fs::read(log) else {
        return;
    };
    let text = String::from_utf8_lossy(&bytes);
    let clean = crate::report::redact(&text, secrets);
    if clean != text {
        let _ = write_atomic(log, clean.as_bytes());
    }
}
