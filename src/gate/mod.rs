//! The regression gate, pure: the rule, the base side (a stored baseline, or the base
//! revision's runs of an A/B session) and the head runs in, a [`GateOutcome`] out.
//!
//! ```
//! use perfspec::gate::{Decision, Rule, paired};
//! let rule = Rule { threshold: 0.05, warn: 0.025, noise_floor: 0.01 };
//! // Five A/B rounds: the head about 10 % slower in each.
//! let base = [100.0, 104.0, 98.0, 101.0, 103.0];
//! let head = [110.0, 114.5, 107.0, 111.5, 113.0];
//! let c = paired(&base, &head, false, rule).unwrap();
//! assert_eq!(c.decision, Decision::Regressed);
//! ```
//!
//! The harness drives the runs (confirmation runs, A/B rounds) from outside and calls
//! [`decide`] after each; the trial's verdict is built once from checks, problems, doubts and
//! the outcome (`compare::Verdict`).

mod change;
mod decide;
mod outcome;
mod stats;

pub use change::{Change, Comparison, Decision, Needed};
pub use decide::{BaseRuns, BaseSide, decide};
pub use outcome::{GateOutcome, Source};
pub use stats::{Rule, Side, compare, paired, quantile_se};
