//! What the gate said about a trial: compared (with a stored baseline or in an A/B session),
//! no baseline yet, or a baseline blessed.

use super::{Change, Decision};

/// What the head was compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A blessed baseline file.
    Baseline {
        /// The file.
        path: String,
        /// When and from what it was blessed: `2026-11-20T10:02:11Z, abc1234`.
        blessed: String,
        /// Set when the baseline comes from another machine: both descriptions.
        other_host: Option<String>,
    },
    /// The base revision, run in alternation with the head on this machine (A/B).
    Ab {
        /// The base revision, for people: `main (3f2c1ab)`.
        base: String,
        /// A/A control: the "base" is the head itself, to show the noise floor.
        control: bool,
    },
}

impl Source {
    /// `baselines/search/steady.json (blessed 2026-11-20T10:02:11Z, abc1234)` or
    /// `A/B against main (3f2c1ab)`.
    pub fn label(&self) -> String {
        match self {
            Source::Baseline { path, blessed, .. } => format!("{path} (blessed {blessed})"),
            Source::Ab {
                base,
                control: false,
            } => format!("A/B against {base}"),
            Source::Ab {
                base,
                control: true,
            } => format!("A/A control (head against itself, built as {base})"),
        }
    }
}

/// What happened with the gate of a trial.
#[derive(Debug, Clone, PartialEq)]
pub enum GateOutcome {
    /// Compared with a base side.
    Compared {
        /// What the head was compared with.
        source: Source,
        /// The base side's response time of all requests (its runs merged, µs), for charts;
        /// `None` when it holds no histogram.
        latency: Option<hdrhistogram::Histogram<u64>>,
        /// Whether regressions fail the test (not when the baseline is from another machine
        /// and the policy is to warn).
        binding: bool,
        /// Each metric.
        changes: Vec<Change>,
        /// Why the comparison is incomplete or not allowed (a confirmation run or an A/B round
        /// that could not measure, a baseline from another machine under
        /// `host-mismatch = "fail"`): each fails the trial.
        problems: Vec<String>,
    },
    /// There is no baseline yet.
    Missing {
        /// Where it would be.
        path: String,
        /// The command that writes it.
        command: String,
        /// Whether its absence fails the test (under CI, for a scenario with a `regression`
        /// table).
        required: bool,
    },
    /// A baseline was written by this run.
    Blessed {
        /// The file.
        path: String,
        /// `metric: old -> new` for each regression metric.
        changes: Vec<String>,
    },
}

impl GateOutcome {
    /// What fails the trial whatever the metrics say.
    pub fn problems(&self) -> Vec<String> {
        match self {
            GateOutcome::Compared { problems, .. } => problems.clone(),
            GateOutcome::Missing {
                required: true,
                path,
                command,
            } => vec![format!(
                "no baseline at {path} (required under CI for a scenario with a `regression` table): run `{command}` and commit the file"
            )],
            _ => Vec::new(),
        }
    }

    /// The compared metrics; empty when nothing was compared.
    pub fn changes(&self) -> &[Change] {
        match self {
            GateOutcome::Compared { changes, .. } => changes,
            _ => &[],
        }
    }

    fn binding(&self) -> bool {
        matches!(self, GateOutcome::Compared { binding: true, .. })
    }

    /// Whether a binding regression was found.
    pub fn regressed(&self) -> bool {
        self.binding()
            && self
                .changes()
                .iter()
                .any(|c| c.decision() == Some(Decision::Regressed))
    }

    /// Whether a binding comparison could not decide a metric.
    pub fn undecided(&self) -> bool {
        self.binding() && self.changes().iter().any(Change::undecided)
    }
}
