//! The load over time as pure functions of the stages. Arrival times of the open model,
//! computed from absolute offsets so rounding never accumulates: the i-th arrival is where the
//! cumulative rate Λ(t) = ∫ rate reaches its count (i for uniform arrivals, a sum of
//! exponential gaps for Poisson). The users of the closed model: when each one is active, so
//! that the number active follows the stages.

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::spec::{Arrivals, Closed, Open, Stage};

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

/// When each user of the closed model is active, as offsets from the start of the run: user
/// `i` is active while the number of users the stages ask for (linear between stages) is
/// above `i`. Without stages, users start evenly over the ramp-up and stay. Users that are
/// never active are left out of the list's end; the last level holds until `total`.
pub(crate) fn user_windows(closed: &Closed, total: Duration) -> Vec<Vec<(Duration, Duration)>> {
    let total = total.as_secs_f64();
    let ramp = if closed.stages.is_empty() && !closed.ramp_up.is_zero() {
        vec![Stage::Ramp {
            over: closed.ramp_up,
            to: f64::from(closed.users),
        }]
    } else {
        closed.stages.clone()
    };
    let start = if closed.stages.is_empty() && !closed.ramp_up.is_zero() {
        0.0
    } else {
        f64::from(closed.users)
    };
    // (start, end, level at start, level at end)
    let mut pieces = Vec::new();
    let (mut t, mut level) = (0.0, start);
    for stage in &ramp {
        let len = stage.length().as_secs_f64();
        let to = match *stage {
            Stage::Ramp { to, .. } => to,
            Stage::Hold(_) => level,
        };
        pieces.push((t, t + len, level, to));
        t += len;
        level = to;
    }
    if total > t {
        pieces.push((t, total, level, level));
    }
    let most = pieces
        .iter()
        .map(|p| p.2.max(p.3))
        .fold(0.0f64, f64::max)
        .ceil() as usize;
    (0..most)
        .map(|i| {
            let i = i as f64;
            let mut windows: Vec<(f64, f64)> = Vec::new();
            for &(a, b, l0, l1) in &pieces {
                // Where the level is above i within [a, b): linear, so one stretch at most.
                let (from, to) = if l0 > i && l1 > i {
                    (a, b)
                } else if l0 > i {
                    (a, a + (b - a) * (l0 - i) / (l0 - l1))
                } else if l1 > i {
                    (a + (b - a) * (i - l0) / (l1 - l0), b)
                } else {
                    continue;
                };
                match windows.last_mut() {
                    Some(last) if (last.1 - from).abs() < 1e-9 => last.1 = to,
                    _ if to > from => windows.push((from, to)),
                    _ => {}
                }
            }
            windows
                .into_iter()
                .map(|(a, b)| (Duration::from_secs_f64(a), Duration::from_secs_f64(b)))
                .collect()
        })
        .collect()
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

    fn closed(users: u32, ramp_up: u64, stages: Vec<Stage>) -> Closed {
        Closed {
            users,
            ramp_up: Duration::from_secs(ramp_up),
            think: crate::spec::Think::Fixed(Duration::ZERO),
            stages,
        }
    }

    fn secs(w: &[Vec<(Duration, Duration)>]) -> Vec<Vec<(f64, f64)>> {
        w.iter()
            .map(|u| {
                u.iter()
                    .map(|(a, b)| (a.as_secs_f64(), b.as_secs_f64()))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn closed_users_follow_the_ramp_up_and_the_stages() {
        let total = Duration::from_secs(20);
        // 4 users over a 2 s ramp-up: one every half second, as before stages existed.
        assert_eq!(
            secs(&user_windows(&closed(4, 2, vec![]), total)),
            vec![
                vec![(0.0, 20.0)],
                vec![(0.5, 20.0)],
                vec![(1.0, 20.0)],
                vec![(1.5, 20.0)]
            ]
        );
        // Up to 4 over 4 s, hold 4 s, down to 2 over 2 s, then 2 hold to the end.
        let s = vec![
            Stage::Ramp {
                over: Duration::from_secs(4),
                to: 4.0,
            },
            Stage::Hold(Duration::from_secs(4)),
            Stage::Ramp {
                over: Duration::from_secs(2),
                to: 2.0,
            },
        ];
        let w = secs(&user_windows(&closed(0, 0, s), total));
        assert_eq!(w.len(), 4);
        assert_eq!(w[0], vec![(0.0, 20.0)]);
        assert_eq!(w[1], vec![(1.0, 20.0)]);
        assert_eq!(
            w[2],
            vec![(2.0, 10.0)],
            "the third user leaves at the bottom"
        );
        assert_eq!(w[3], vec![(3.0, 9.0)], "the fourth halfway down");
        // Down to none and up again: a user comes back.
        let s = vec![
            Stage::Ramp {
                over: Duration::from_secs(2),
                to: 0.0,
            },
            Stage::Hold(Duration::from_secs(2)),
            Stage::Ramp {
                over: Duration::from_secs(2),
                to: 2.0,
            },
        ];
        let w = secs(&user_windows(&closed(2, 0, s), Duration::from_secs(8)));
        assert_eq!(w[0], vec![(0.0, 2.0), (4.0, 8.0)]);
        assert_eq!(w[1], vec![(0.0, 1.0), (5.0, 8.0)]);
        // Without stages or ramp-up, every user runs from start to end.
        assert_eq!(
            secs(&user_windows(&closed(2, 0, vec![]), Duration::from_secs(3))),
            vec![vec![(0.0, 3.0)], vec![(0.0, 3.0)]]
        );
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
