//! Which level a capacity search tries next, from what the levels tried so far did: pure.

use crate::measure::StepOutcome;
use crate::spec::{CapacityRule, Search};

/// The state of a search over levels.
#[derive(Debug, Clone)]
pub(crate) struct Levels {
    from: f64,
    to: f64,
    search: Search,
    /// Levels are whole numbers (users).
    whole: bool,
    /// The highest level that held.
    pub held: Option<f64>,
    /// The lowest level that failed.
    pub failed: Option<f64>,
    /// Set when a level could not be decided: the search stops there.
    pub undecided: Option<f64>,
}

impl Levels {
    pub fn new(rule: &CapacityRule, whole: bool) -> Levels {
        Levels {
            from: rule.from,
            to: rule.to,
            search: rule.search,
            whole,
            held: None,
            failed: None,
            undecided: None,
        }
    }

    /// The next level to try; `None` when the search is over.
    pub fn next(&self) -> Option<f64> {
        if self.undecided.is_some() {
            return None;
        }
        match (self.search, self.held, self.failed) {
            // Not even the first level held.
            (_, None, Some(_)) => None,
            (Search::Step(step), held, None) => {
                let next = held.map_or(self.from, |h| h + step);
                (next <= self.to * (1.0 + 1e-9)).then_some(next.min(self.to))
            }
            (Search::Step(_), Some(_), Some(_)) => None,
            (Search::Bisect { .. }, held, None) => match held {
                None => Some(self.from),
                Some(h) if h >= self.to => None,
                Some(h) => Some((h * 2.0).min(self.to)),
            },
            (Search::Bisect { precision }, Some(good), Some(bad)) => {
                if (bad - good) / good <= precision {
                    return None;
                }
                let mid = (good + bad) / 2.0;
                let mid = if self.whole { mid.round() } else { mid };
                (mid > good && mid < bad).then_some(mid)
            }
        }
    }

    /// Takes what `level` did.
    pub fn record(&mut self, level: f64, outcome: StepOutcome) {
        match outcome {
            StepOutcome::Held => self.held = Some(self.held.map_or(level, |h| h.max(level))),
            StepOutcome::Failed => self.failed = Some(self.failed.map_or(level, |f| f.min(level))),
            StepOutcome::Inconclusive => self.undecided = Some(level),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(from: f64, to: f64, search: Search) -> CapacityRule {
        CapacityRule {
            from,
            to,
            search,
            repeat: 0,
            max_steps: 100,
        }
    }

    /// Runs a search against a service that holds every level up to `knee`.
    fn search(rule: &CapacityRule, whole: bool, knee: f64) -> (Vec<f64>, Levels) {
        let mut l = Levels::new(rule, whole);
        let mut tried = Vec::new();
        while let Some(level) = l.next() {
            tried.push(level);
            let outcome = if level <= knee {
                StepOutcome::Held
            } else {
                StepOutcome::Failed
            };
            l.record(level, outcome);
            assert!(tried.len() < 50, "the search ends");
        }
        (tried, l)
    }

    #[test]
    fn bisection_brackets_the_knee_within_the_precision() {
        let r = rule(50.0, 5000.0, Search::Bisect { precision: 0.05 });
        let (tried, l) = search(&r, false, 400.0);
        assert_eq!(&tried[..5], &[50.0, 100.0, 200.0, 400.0, 800.0]);
        let (good, bad) = (l.held.unwrap(), l.failed.unwrap());
        assert!(good <= 400.0 && bad > 400.0);
        assert!((bad - good) / good <= 0.05, "{good}..{bad}");
        assert!(tried.len() <= 10, "{tried:?}");
        // A knee between doublings.
        let (_, l) = search(&r, false, 333.0);
        assert!(l.held.unwrap() <= 333.0 && l.held.unwrap() >= 333.0 / 1.05);
    }

    #[test]
    fn users_are_whole_and_the_top_and_bottom_end_the_search() {
        let r = rule(4.0, 100.0, Search::Bisect { precision: 0.01 });
        let (tried, l) = search(&r, true, 37.0);
        assert!(tried.iter().all(|v| v.fract() == 0.0), "{tried:?}");
        assert_eq!((l.held, l.failed), (Some(37.0), Some(38.0)));
        let (tried, l) = search(&r, true, 1000.0);
        assert_eq!(tried, vec![4.0, 8.0, 16.0, 32.0, 64.0, 100.0]);
        assert_eq!((l.held, l.failed), (Some(100.0), None));
        let (tried, l) = search(&r, true, 1.0);
        assert_eq!(tried, vec![4.0]);
        assert_eq!((l.held, l.failed), (None, Some(4.0)));
    }

    #[test]
    fn steps_go_up_until_a_level_fails() {
        let r = rule(100.0, 1000.0, Search::Step(100.0));
        let (tried, l) = search(&r, false, 450.0);
        assert_eq!(tried, vec![100.0, 200.0, 300.0, 400.0, 500.0]);
        assert_eq!((l.held, l.failed), (Some(400.0), Some(500.0)));
    }

    #[test]
    fn an_undecided_level_stops_the_search() {
        let r = rule(100.0, 1000.0, Search::Step(100.0));
        let mut l = Levels::new(&r, false);
        l.record(100.0, StepOutcome::Held);
        l.record(200.0, StepOutcome::Inconclusive);
        assert_eq!(l.next(), None);
        assert_eq!(l.held, Some(100.0));
    }
}
