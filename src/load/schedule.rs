//! Arrival times of the open model, computed from absolute offsets so rounding never
//! accumulates: the i-th arrival is where the cumulative rate Λ(t) = ∫ rate reaches its
//! count (i for uniform arrivals, a sum of exponential gaps for Poisson).

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::spec::{Arrivals, Open, Stage};

/// A stretch of linearly changing rate.
#[derive(Debug, Clone, Copy)]
struct Segment {
    start: f64,
    len: f64,
    r0: f64,
    r1: f64,
    /// Λ at the start of the segment.
    count0: f64,
}

impl Segment {
    fn count(&self, x: f64) -> f64 {
        self.count0 + self.r0 * x + (self.r1 - self.r0) * x * x / (2.0 * self.len)
    }

    fn end_count(&self) -> f64 {
        self.count(self.len)
    }

    /// The offset inside the segment where Λ reaches `c`.
    fn offset_of(&self, c: f64) -> f64 {
        let need = c - self.count0;
        if need <= 0.0 {
            return 0.0;
        }
        let a = (self.r1 - self.r0) / (2.0 * self.len);
        // The stable root of a·x² + r0·x − need = 0.
        let disc = (self.r0 * self.r0 + 4.0 * a * need).max(0.0);
        let denom = self.r0 + disc.sqrt();
        if denom <= 0.0 {
            self.len
        } else {
            (2.0 * need / denom).clamp(0.0, self.len)
        }
    }
}

/// The arrival times of one run.
#[derive(Debug)]
pub(crate) struct Schedule {
    segments: Vec<Segment>,
    poisson: Option<SmallRng>,
    next_count: f64,
    segment: usize,
}

impl Schedule {
    /// The schedule of `open` over `total` (warm-up included); after the stages the last rate
    /// holds.
    pub fn new(open: &Open, total: Duration) -> Schedule {
        let total = total.as_secs_f64();
        let mut segments = Vec::new();
        let (mut t, mut rate, mut count) = (0.0, open.rate, 0.0);
        let mut push = |len: f64, r1: f64, t: &mut f64, rate: &mut f64, count: &mut f64| {
            if len <= 0.0 {
                return;
            }
            let s = Segment {
                start: *t,
                len,
                r0: *rate,
                r1,
                count0: *count,
            };
            *count = s.end_count();
            *t += len;
            *rate = r1;
            segments.push(s);
        };
        for stage in &open.stages {
            match *stage {
                Stage::Ramp { over, to } => {
                    push(over.as_secs_f64(), to, &mut t, &mut rate, &mut count)
                }
                Stage::Hold(d) => push(d.as_secs_f64(), rate, &mut t, &mut rate, &mut count),
            }
        }
        if total > t {
            push(total - t, rate, &mut t, &mut rate, &mut count);
        }
        let mut poisson = match open.arrivals {
            Arrivals::Uniform => None,
            Arrivals::Poisson { seed } => Some(SmallRng::seed_from_u64(seed)),
        };
        let next_count = poisson.as_mut().map_or(0.0, exponential);
        Schedule {
            segments,
            poisson,
            next_count,
            segment: 0,
        }
    }

    /// The offset from the start of the run of the next arrival; `None` when no arrival is
    /// left.
    pub fn next(&mut self) -> Option<Duration> {
        let c = self.next_count;
        while self.segment < self.segments.len() && self.segments[self.segment].end_count() <= c {
            self.segment += 1;
        }
        let s = self.segments.get(self.segment)?;
        let at = s.start + s.offset_of(c);
        self.next_count += match &mut self.poisson {
            Some(rng) => exponential(rng),
            None => 1.0,
        };
        Some(Duration::from_secs_f64(at))
    }

    /// Λ(t): arrivals the rate asks for from the start until `t`.
    pub fn expected(&self, t: Duration) -> f64 {
        let t = t.as_secs_f64();
        match self.segments.iter().rev().find(|s| s.start <= t) {
            Some(s) => s.count((t - s.start).min(s.len)),
            None => 0.0,
        }
    }
}

/// An exponential gap with mean 1.
fn exponential(rng: &mut SmallRng) -> f64 {
    let u: f64 = rng.random::<f64>();
    -(1.0 - u).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(rate: f64, stages: Vec<Stage>, arrivals: Arrivals) -> Open {
        Open {
            rate,
            stages,
            max_users: 10,
            arrivals,
        }
    }

    fn all(s: &mut Schedule, until: f64) -> Vec<f64> {
        std::iter::from_fn(|| s.next())
            .map(|d| d.as_secs_f64())
            .take_while(|&t| t < until)
            .collect()
    }

    #[test]
    fn uniform_arrivals_are_exact() {
        let mut s = Schedule::new(
            &open(1000.0, vec![], Arrivals::Uniform),
            Duration::from_secs(5),
        );
        let times = all(&mut s, 5.0);
        assert_eq!(times.len(), 5000);
        assert!((times[1234] - 1.234).abs() < 1e-9);
        assert_eq!(s.expected(Duration::from_secs(5)), 5000.0);
    }

    #[test]
    fn a_ramp_sends_the_area_under_the_rate() {
        // 0 → 100/s over 10 s, then 100/s for 10 s: 500 + 1000 arrivals.
        let stages = vec![
            Stage::Ramp {
                over: Duration::from_secs(10),
                to: 100.0,
            },
            Stage::Hold(Duration::from_secs(10)),
        ];
        let mut s = Schedule::new(
            &open(0.0, stages, Arrivals::Uniform),
            Duration::from_secs(20),
        );
        let times = all(&mut s, 20.0);
        assert_eq!(times.len(), 1500);
        // Half the ramp's arrivals come in its last 30 %: the rate grows linearly.
        let in_first_half = times.iter().filter(|&&t| t < 5.0).count();
        assert_eq!(in_first_half, 125);
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn poisson_is_seeded_and_has_the_right_mean() {
        let run = || {
            all(
                &mut Schedule::new(
                    &open(2000.0, vec![], Arrivals::Poisson { seed: 9 }),
                    Duration::from_secs(10),
                ),
                10.0,
            )
        };
        let a = run();
        assert_eq!(a, run(), "same seed, same arrivals");
        let n = a.len() as f64;
        assert!(
            (n - 20_000.0).abs() < 4.0 * 20_000f64.sqrt(),
            "{n} arrivals"
        );
        let gaps: Vec<f64> = a.windows(2).map(|w| w[1] - w[0]).collect();
        let cv = {
            let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
            let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
            var.sqrt() / mean
        };
        assert!(
            (cv - 1.0).abs() < 0.05,
            "exponential gaps have a coefficient of variation of 1: {cv}"
        );
    }
}
