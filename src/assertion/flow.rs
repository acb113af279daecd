//! Figures of flow iterations: `flow.duration.p95`, `flow.crud.success-rate`,
//! `flow.crud.iterations`. They belong to no request: an iteration is made of several.

use super::eval::{Check, Outcome, samples_needed};
use super::{Assertion, Stat};
use crate::measure::{Measurement, stat_of};

/// A figure of the iterations of one flow, or of every flow.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowMetric {
    /// The flow (`crud`); `None`: every flow of the scenario together.
    pub flow: Option<String>,
    /// What is read.
    pub figure: FlowFigure,
}

/// What a flow metric reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FlowFigure {
    /// A statistic of the duration of succeeded iterations.
    Duration(Stat),
    /// Succeeded over finished iterations.
    SuccessRate,
    /// Finished iterations.
    Iterations,
}

impl FlowMetric {
    /// Parses the segments after `flow.`: `duration.p95`, `success-rate`, `iterations`, each
    /// optionally after a flow's name.
    pub(super) fn parse(segs: &[String]) -> Option<FlowMetric> {
        let figure = |rest: &[String]| -> Option<FlowFigure> {
            match rest {
                [d, stat] if d == "duration" => Stat::parse(stat).map(FlowFigure::Duration),
                [s] if s == "success-rate" => Some(FlowFigure::SuccessRate),
                [i] if i == "iterations" => Some(FlowFigure::Iterations),
                _ => None,
            }
        };
        if let Some(figure) = figure(segs) {
            return Some(FlowMetric { flow: None, figure });
        }
        let (name, rest) = segs.split_first()?;
        let named = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        Some(FlowMetric {
            flow: Some(Some(name.clone()).filter(|_| named)?),
            figure: figure(rest)?,
        })
    }

    /// As written: `flow.crud.duration.p95`.
    pub fn name(&self) -> String {
        let figure = match self.figure {
            FlowFigure::Duration(s) => format!("duration.{}", s.name()),
            FlowFigure::SuccessRate => "success-rate".into(),
            FlowFigure::Iterations => "iterations".into(),
        };
        match &self.flow {
            Some(f) => format!("flow.{f}.{figure}"),
            None => format!("flow.{figure}"),
        }
    }
}

/// What a flow assertion that does not parse should say.
pub(super) const HELP: &str = "flow metrics are flow.duration.STAT, flow.success-rate and \
    flow.iterations, for every flow together, or flow.NAME.duration.p95 and the like for one";

/// Evaluates a flow assertion on the run's iterations.
pub(super) fn evaluate(a: &Assertion, f: &FlowMetric, m: &Measurement) -> Check {
    let Some(flow) = m.flow(f.flow.as_deref()) else {
        let mut c = Check::judged(a, None, 0, None);
        // A run records every flow it runs, and a merge adds them up: only shard files of an
        // older perfspec, which did not carry flows, leave a result without them.
        c.outcome = Outcome::NotMeasurable(match &f.flow {
            Some(name) => format!(
                "flow `{name}` has no figures in this result (merged from shard files of an \
                 older perfspec, which carry none: run the shards again)"
            ),
            None => "no flow has figures in this result: no flow ran, or it was merged from \
                 shard files of an older perfspec, which carry none"
                .into(),
        });
        return c;
    };
    let (observed, samples) = match f.figure {
        FlowFigure::Duration(stat) => (stat_of(&flow.duration, stat), flow.succeeded),
        FlowFigure::SuccessRate => (flow.success_rate(), flow.iterations()),
        FlowFigure::Iterations => (Some(flow.iterations() as f64), flow.iterations()),
    };
    let note = Some(format!(
        "{} of {} iterations succeeded",
        flow.succeeded,
        flow.iterations()
    ));
    let mut c = Check::judged(a, observed, samples, note);
    match (f.figure, observed) {
        (FlowFigure::SuccessRate, None) | (FlowFigure::Duration(_), None) => {
            c.outcome = Outcome::Inconclusive(format!(
                "no iteration of {} {} in the measured window",
                f.flow
                    .as_deref()
                    .map_or("any flow".to_string(), |n| format!("flow `{n}`")),
                if flow.iterations() == 0 {
                    "finished"
                } else {
                    "succeeded"
                }
            ));
        }
        (FlowFigure::Duration(Stat::Percentile(p)), Some(_)) if samples < samples_needed(p) => {
            c.outcome = Outcome::Inconclusive(format!(
                "{} from {samples} succeeded iterations: a p{p} needs at least {} (5 beyond it)",
                f.name(),
                samples_needed(p)
            ));
        }
        _ => {}
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(text: &str) -> Vec<String> {
        text.split('.').map(String::from).collect()
    }

    #[test]
    fn parses_every_flow_and_one_flow() {
        let m = FlowMetric::parse(&segs("duration.p95")).unwrap();
        assert_eq!(m.flow, None);
        assert_eq!(m.figure, FlowFigure::Duration(Stat::Percentile(95.0)));
        let m = FlowMetric::parse(&segs("crud.success-rate")).unwrap();
        assert_eq!(m.flow.as_deref(), Some("crud"));
        assert_eq!(m.name(), "flow.crud.success-rate");
        assert_eq!(
            FlowMetric::parse(&segs("crud.iterations")).unwrap().figure,
            FlowFigure::Iterations
        );
        assert!(FlowMetric::parse(&segs("crud.p95")).is_none());
        assert!(FlowMetric::parse(&segs("crud.duration")).is_none());
        assert!(FlowMetric::parse(&segs("a b.iterations")).is_none());
    }
}
