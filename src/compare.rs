//! From checks and run problems to one verdict: pure, no I/O.
//!
//! ```
//! use perfspec::compare::{Status, Verdict};
//! let v = Verdict::new(vec![], vec!["target exited during the run".into()]);
//! assert_eq!(v.status, Status::Fail);
//! ```

use crate::assertion::{Check, Outcome};

/// The overall outcome of a trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Every check held.
    Pass,
    /// A check failed or the run had a problem.
    Fail,
    /// Nothing failed, but something could not be decided.
    Inconclusive,
}

impl Status {
    /// `PASS`, `FAIL`, `INCONCLUSIVE`.
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Inconclusive => "INCONCLUSIVE",
        }
    }
}

/// The checks of one trial and what they add up to.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The overall status.
    pub status: Status,
    /// Every assertion, evaluated.
    pub checks: Vec<Check>,
    /// Problems with the run itself (the target crashed, requests were interrupted …).
    pub problems: Vec<String>,
}

impl Verdict {
    /// Combines checks and problems: any failure or problem fails; otherwise anything
    /// inconclusive makes the whole inconclusive. Checks that could not be measured on this
    /// machine neither pass nor fail the trial; reports show them.
    pub fn new(checks: Vec<Check>, problems: Vec<String>) -> Verdict {
        let status = if !problems.is_empty() || checks.iter().any(|c| c.outcome == Outcome::Fail) {
            Status::Fail
        } else if checks
            .iter()
            .any(|c| matches!(c.outcome, Outcome::Inconclusive(_)))
        {
            Status::Inconclusive
        } else {
            Status::Pass
        };
        Verdict {
            status,
            checks,
            problems,
        }
    }

    /// How many checks failed.
    pub fn failed(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.outcome == Outcome::Fail)
            .count()
    }
}
