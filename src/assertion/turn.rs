//! The `in turn N` clause (`ttft.p95 in turn 2 < 300ms`): a check on the chat requests sent as
//! turn N of their multi-turn conversations, read from that turn's own measurement.

use std::ops::Range;

use super::eval::{Check, Outcome, evaluate_one};
use super::{Assertion, AssertionError, Metric, error};
use crate::measure::Measurement;

const IN_TURN: &str = " in turn";

/// Splits `METRIC [over WINDOW] in turn N` (the text before the operator) into the part before
/// ` in turn` and the turn's index.
pub(super) fn clause(lhs: &str) -> Result<(&str, Option<u32>), AssertionError> {
    let Some(i) = lhs.rfind(IN_TURN) else {
        return Ok((lhs, None));
    };
    let at = i + IN_TURN.len();
    let raw = &lhs[at..];
    // `in turnover` is a phase named `turnover`, and `in turn` alone a phase named `turn`.
    if !raw.starts_with(' ') || raw.trim().is_empty() {
        return Ok((lhs, None));
    }
    let n = raw.trim();
    let start = at + (raw.len() - raw.trim_start().len());
    let range = start..start + n.len().max(1);
    match n.parse::<u32>() {
        Ok(turn) if turn >= 1 => Ok((&lhs[..i], Some(turn))),
        _ => Err(error(
            range,
            format!("`in turn` needs a turn index from 1, not {n:?}"),
            "name a turn of the chat steps, e.g. \"ttft.p95 in turn 2 < 300ms\"",
        )),
    }
}

/// Refuses `in turn N` for metrics that are not made of requests, and together with a phase.
pub(super) fn check_scoped(
    metric: &Metric,
    phase: bool,
    text: &str,
    range: Range<usize>,
) -> Result<(), AssertionError> {
    let why = match metric {
        _ if phase => {
            "a turn is read over the whole measured time: `in PHASE` and `in turn N` do not combine"
        }
        Metric::Resource(_) | Metric::Scraped(_) => {
            "resources and the service's metrics are not kept per turn; `in turn N` applies to request metrics"
        }
        Metric::Dropped => "dropped arrivals belong to no request, nor to a turn",
        Metric::Flow(_) => {
            "a flow's iteration holds every turn of its conversations; `in turn N` applies to request metrics"
        }
        Metric::Capacity | Metric::CapacityUsers | Metric::RecoveryTime | Metric::SutAlive => {
            "this belongs to the whole run; `in turn N` applies to request metrics"
        }
        _ => return Ok(()),
    };
    Err(error(
        range,
        format!("`{text}` cannot be limited to a turn"),
        why,
    ))
}

/// The same check on the turn's own measurement.
pub(super) fn evaluate(a: &Assertion, turn: u32, m: &Measurement) -> Check {
    let inner = Assertion {
        turn: None,
        ..a.clone()
    };
    let Some(t) = m.turn(turn) else {
        let mut c = Check::judged(a, None, 0, None);
        // A run measures every turn its chat steps have, and a merge adds them up turn by
        // turn: only shard files of an older perfspec, which did not carry turns, lack them.
        c.outcome = Outcome::Inconclusive(format!(
            "turn {turn} was not measured: no chat step of this run has {turn} turns, or it \
             was merged from shard files of an older perfspec, which carry no turns"
        ));
        return c;
    };
    let mut c = evaluate_one(&inner, &t.measurement);
    c.assertion = a.clone();
    c.note = Some(match c.note.take() {
        Some(n) => format!("turn {turn}; {n}"),
        None => format!("turn {turn}"),
    });
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_clauses() {
        assert_eq!(
            clause("ttft.p95 in turn 2 ").unwrap(),
            ("ttft.p95", Some(2))
        );
        assert_eq!(
            clause("p95 in turnover ").unwrap(),
            ("p95 in turnover ", None)
        );
        assert_eq!(clause("p95 ").unwrap(), ("p95 ", None));
        assert_eq!(clause("p95 in turn ").unwrap(), ("p95 in turn ", None));
        let e = clause("ttft.p95 in turn 0 ").unwrap_err();
        assert!(e.message.contains("from 1"), "{e:?}");
        assert_eq!(e.range, 17..18);
        let e = clause("ttft.p95 in turn two ").unwrap_err();
        assert_eq!(e.range, 17..20);
    }
}
