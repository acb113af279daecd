//! The `in PHASE` clause (`p95 in steady < 300ms`, `error-rate over 5s in stress < 5%`) and
//! the bare `sut.alive` check.

use std::ops::Range;

use super::{Assertion, AssertionError, Metric, Op, error};

const IN: &str = " in ";

/// Splits `METRIC [over WINDOW] in PHASE` (the text before the operator) into the part before
/// ` in ` and the phase name.
pub(super) fn clause(lhs: &str) -> Result<(&str, Option<String>), AssertionError> {
    let Some(i) = lhs.rfind(IN) else {
        return Ok((lhs, None));
    };
    let at = i + IN.len();
    let raw = &lhs[at..];
    let name = raw.trim();
    let start = at + (raw.len() - raw.trim_start().len());
    let range = start..start + name.len().max(1);
    if name.is_empty() {
        return Err(error(
            range,
            "`in` needs a phase name",
            "name a phase of the stages, e.g. \"p95 in steady < 300ms\"",
        ));
    }
    if let Some(w) = name.find(" over ") {
        return Err(error(
            start + w + 1..start + name.len(),
            "the window comes before the phase",
            format!(
                "write \"… over {} in {} …\"",
                name[w + " over ".len()..].trim(),
                name[..w].trim()
            ),
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(error(
            range,
            format!("invalid phase name {name:?}"),
            "phase names use letters, digits, `-` and `_`, as the stages name them",
        ));
    }
    Ok((&lhs[..i], Some(name.to_string())))
}

/// Refuses `in PHASE` for metrics that are not made of the requests of a stretch of time.
pub(super) fn check_scoped(
    metric: &Metric,
    text: &str,
    range: Range<usize>,
) -> Result<(), AssertionError> {
    let why = match metric {
        Metric::Resource(_) => {
            "resources are checked over the whole measured time; `in PHASE` applies to request metrics"
        }
        Metric::Capacity | Metric::CapacityUsers => {
            "capacity is the result of a whole search; `in PHASE` applies to request metrics"
        }
        Metric::RecoveryTime => {
            "recovery is measured after the phase named in `recovery = { after = … }`"
        }
        Metric::SutAlive => "the target must stay alive for the whole run",
        Metric::Flow(_) => {
            "flow iterations are counted over the whole measured time; `in PHASE` applies to request metrics"
        }
        _ => return Ok(()),
    };
    Err(error(
        range,
        format!("`{text}` cannot be limited to a phase"),
        why,
    ))
}

/// `sut.alive` written alone: the target's process stays alive for the whole run.
pub(super) fn alive(text: &str) -> Option<Result<Assertion, AssertionError>> {
    (text.trim() == "sut.alive").then(|| {
        Ok(Assertion {
            text: text.to_string(),
            scope: None,
            metric: Metric::SutAlive,
            op: Op::Eq,
            limit: 1.0,
            window: None,
            phase: None,
            turn: None,
        })
    })
}

impl Assertion {
    /// Where the phase name is in the text, when there is one.
    pub fn phase_range(&self) -> Option<Range<usize>> {
        let name = self.phase.as_deref()?;
        let op = self.text.find(['<', '>', '=', '!'])?;
        let at = self.text[..op].rfind(IN)? + IN.len();
        let start = at + self.text[at..op].find(name)?;
        Some(start..start + name.len())
    }
}
