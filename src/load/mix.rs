//! The weighted request mix and think-time draws.

use std::time::Duration;

use rand::Rng;
use rand::rngs::SmallRng;

use crate::spec::Think;

/// Picks request indices in proportion to their weights.
#[derive(Debug, Clone)]
pub(crate) struct Mix {
    cumulative: Vec<u64>,
}

impl Mix {
    /// A mix of `weights` (each at least 1).
    pub fn new(weights: &[u32]) -> Mix {
        let mut total = 0u64;
        let cumulative = weights
            .iter()
            .map(|&w| {
                total += u64::from(w.max(1));
                total
            })
            .collect();
        Mix { cumulative }
    }

    /// The next request index.
    pub fn pick(&self, rng: &mut SmallRng) -> usize {
        match self.cumulative.as_slice() {
            [] | [_] => 0,
            c => {
                let x = rng.random_range(0..c[c.len() - 1]);
                c.partition_point(|&limit| limit <= x)
            }
        }
    }
}

/// One draw of the think time.
pub(crate) fn think_time(think: Think, rng: &mut SmallRng) -> Duration {
    match think {
        Think::Fixed(d) => d,
        Think::Uniform(a, b) if b > a => a + (b - a).mul_f64(rng.random::<f64>()),
        Think::Uniform(a, _) => a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn weights_are_respected() {
        let mix = Mix::new(&[3, 1]);
        let mut rng = SmallRng::seed_from_u64(1);
        let mut counts = [0u32; 2];
        for _ in 0..40_000 {
            counts[mix.pick(&mut rng)] += 1;
        }
        let share = f64::from(counts[0]) / 40_000.0;
        assert!(
            (share - 0.75).abs() < 0.01,
            "share of the weight-3 request: {share}"
        );
    }

    #[test]
    fn think_time_stays_in_range() {
        let mut rng = SmallRng::seed_from_u64(2);
        let (a, b) = (Duration::from_millis(100), Duration::from_millis(500));
        for _ in 0..1000 {
            let t = think_time(Think::Uniform(a, b), &mut rng);
            assert!(t >= a && t <= b, "{t:?}");
        }
        assert_eq!(think_time(Think::Fixed(a), &mut rng), a);
    }
}
