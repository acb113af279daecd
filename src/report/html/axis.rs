//! Axes of the SVG charts: scales (linear, logarithmic, percentile "nines"), visible ranges,
//! round tick positions and short labels with units.

use crate::assertion::Unit;

/// How an axis maps values to positions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Scale {
    /// Linear; a y axis starts at zero.
    Linear,
    /// Logarithmic (values must be positive).
    Log,
    /// Percentiles 0..100 spread by their nines: 90, 99, 99.9 equally apart.
    Nines,
}

/// What axis values are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Quantity {
    /// Seconds from the start of measurement.
    Seconds,
    /// A percentile, 0 to 100.
    Percentile,
    /// A value of a metric unit.
    Of(Unit),
}

/// The deepest percentile an axis shows: 99.9999 (six nines).
pub(super) const MAX_NINES: f64 = 6.0;
/// Position of a percentile on the nines axis: 0 -> 0, 90 -> 1, 99 -> 2, 99.9 -> 3.
pub(crate) fn nines(percentile: f64) -> f64 {
    (-(1.0 - percentile / 100.0).log10()).clamp(0.0, MAX_NINES)
}

/// A value along an axis after its transform.
pub(super) fn along(scale: Scale, v: f64) -> f64 {
    match scale {
        Scale::Linear => v,
        Scale::Log => v.max(f64::MIN_POSITIVE).log10(),
        Scale::Nines => nines(v),
    }
}

/// The visible range of an axis, transformed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Span {
    pub(super) lo: f64,
    pub(super) hi: f64,
}

impl Span {
    pub(super) fn of(
        scale: Scale,
        values: impl Iterator<Item = f64>,
        from_zero: bool,
    ) -> Option<Span> {
        let values: Vec<f64> = values
            .filter(|v| v.is_finite() && (scale != Scale::Log || *v > 0.0))
            .collect();
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !lo.is_finite() {
            return None;
        }
        Some(match scale {
            Scale::Linear => {
                let lo = if from_zero { lo.min(0.0) } else { lo };
                let hi = if hi > lo { hi } else { lo + 1.0 };
                let pad = if from_zero { (hi - lo) * 0.08 } else { 0.0 };
                Span { lo, hi: hi + pad }
            }
            Scale::Log => {
                let (a, b) = (lo.log10(), hi.log10());
                let (a, b) = if b - a < 0.3 {
                    (a - 0.15, b + 0.15)
                } else {
                    (a, b)
                };
                Span {
                    lo: a.floor().min(a - 0.05),
                    hi: b.ceil().max(b + 0.05),
                }
            }
            Scale::Nines => Span {
                lo: 0.0,
                hi: nines(hi).ceil().max(1.0),
            },
        })
    }

    pub(super) fn at(&self, v: f64, from: f64, to: f64) -> f64 {
        from + (v - self.lo) / (self.hi - self.lo) * (to - from)
    }
}

/// Tick positions (untransformed values) for an axis. Byte axes step in round KiB, MiB or
/// GiB.
pub(super) fn ticks(scale: Scale, q: Quantity, span: Span) -> Vec<f64> {
    if scale == Scale::Linear && q == Quantity::Of(Unit::Bytes) {
        let top = span.hi.abs().max(span.lo.abs());
        let unit = [1024f64.powi(3), 1024f64.powi(2), 1024.0]
            .into_iter()
            .find(|u| top >= *u)
            .unwrap_or(1.0);
        let scaled = Span {
            lo: span.lo / unit,
            hi: span.hi / unit,
        };
        return ticks(scale, Quantity::Of(Unit::Count), scaled)
            .into_iter()
            .map(|t| t * unit)
            .collect();
    }
    match scale {
        Scale::Linear => {
            let raw = (span.hi - span.lo) / 6.0;
            let mag = 10f64.powf(raw.log10().floor());
            let step = [1.0, 2.0, 2.5, 5.0, 10.0]
                .iter()
                .map(|m| m * mag)
                .find(|s| *s >= raw)
                .unwrap_or(mag * 10.0);
            let first = (span.lo / step).ceil() as i64;
            let last = (span.hi / step).floor() as i64;
            (first..=last).map(|i| i as f64 * step).collect()
        }
        Scale::Log => {
            let decades = (span.hi - span.lo).round() as i64;
            let mults: &[f64] = if decades <= 2 {
                &[1.0, 2.0, 5.0]
            } else {
                &[1.0]
            };
            let mut out = Vec::new();
            for e in span.lo.floor() as i64..=span.hi.ceil() as i64 {
                for m in mults {
                    let v = m * 10f64.powi(e as i32);
                    let t = v.log10();
                    if t >= span.lo - 1e-9 && t <= span.hi + 1e-9 {
                        out.push(v);
                    }
                }
            }
            out
        }
        Scale::Nines => [0.0, 50.0, 90.0, 99.0, 99.9, 99.99, 99.999, 99.9999]
            .into_iter()
            .filter(|p| nines(*p) <= span.hi + 1e-9)
            .collect(),
    }
}

/// A short axis label: `2.5ms`, `1.2k/s`, `40%`, `256MiB`, `12s`, `p99.9`.
pub(crate) fn short(q: Quantity, v: f64) -> String {
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    let si = |v: f64| {
        let a = v.abs();
        if a >= 1e6 {
            format!("{}M", trim(format!("{:.1}", v / 1e6)))
        } else if a >= 1e3 {
            format!("{}k", trim(format!("{:.1}", v / 1e3)))
        } else {
            trim(format!("{v:.2}"))
        }
    };
    match q {
        Quantity::Seconds => {
            if v.abs() >= 120.0 && (v % 60.0).abs() < 1e-9 {
                format!("{}m", (v / 60.0) as i64)
            } else {
                format!("{}s", trim(format!("{v:.1}")))
            }
        }
        Quantity::Percentile => match v {
            0.0 => "0".into(),
            _ => format!("p{}", trim(format!("{v:.4}"))),
        },
        Quantity::Of(Unit::Micros) => {
            let a = v.abs();
            if a == 0.0 {
                "0".into()
            } else if a < 1e3 {
                format!("{}µs", trim(format!("{v:.1}")))
            } else if a < 1e6 {
                format!("{}ms", trim(format!("{:.2}", v / 1e3)))
            } else {
                format!("{}s", trim(format!("{:.2}", v / 1e6)))
            }
        }
        Quantity::Of(Unit::PerSecond) => format!("{}/s", si(v)),
        Quantity::Of(Unit::Count | Unit::Number) => si(v),
        Quantity::Of(Unit::Fraction) => format!("{}%", trim(format!("{:.1}", v * 100.0))),
        Quantity::Of(Unit::Bytes) => {
            let a = v.abs();
            let (d, u) = if a >= 1024.0 * 1024.0 * 1024.0 {
                (1024.0 * 1024.0 * 1024.0, "GiB")
            } else if a >= 1024.0 * 1024.0 {
                (1024.0 * 1024.0, "MiB")
            } else if a >= 1024.0 {
                (1024.0, "KiB")
            } else {
                (1.0, "B")
            };
            format!("{}{u}", trim(format!("{:.1}", v / d)))
        }
        Quantity::Of(Unit::Percent) => format!("{}%", trim(format!("{v:.1}"))),
        Quantity::Of(Unit::BytesPerSecond) => {
            format!("{}/s", short(Quantity::Of(Unit::Bytes), v))
        }
        Quantity::Of(Unit::Watts) => format!("{}W", si(v)),
        Quantity::Of(Unit::Celsius) => format!("{}°C", trim(format!("{v:.1}"))),
    }
}

/// A value for a tooltip or a label, with its full unit.
pub(crate) fn long(q: Quantity, v: f64) -> String {
    match q {
        Quantity::Of(u) => u.format(v),
        _ => short(q, v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nines_spread_rare_percentiles() {
        assert_eq!(nines(0.0), 0.0);
        assert!((nines(90.0) - 1.0).abs() < 1e-9);
        assert!((nines(99.9) - 3.0).abs() < 1e-9);
        assert_eq!(nines(100.0), MAX_NINES);
    }

    #[test]
    fn ticks_are_round_numbers() {
        let span = Span { lo: 0.0, hi: 13.0 };
        let count = Quantity::Of(Unit::Count);
        assert_eq!(
            ticks(Scale::Linear, count, span),
            vec![0.0, 2.5, 5.0, 7.5, 10.0, 12.5]
        );
        let mib = 1024.0 * 1024.0;
        let span = Span {
            lo: 0.0,
            hi: 119.0 * mib,
        };
        assert_eq!(
            ticks(Scale::Linear, Quantity::Of(Unit::Bytes), span),
            [0.0, 20.0, 40.0, 60.0, 80.0, 100.0].map(|v| v * mib)
        );
        let span = Span { lo: 2.0, hi: 4.0 };
        assert_eq!(
            ticks(Scale::Log, count, span),
            vec![100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0]
        );
        let span = Span { lo: 0.0, hi: 3.0 };
        assert_eq!(
            ticks(Scale::Nines, Quantity::Percentile, span),
            vec![0.0, 50.0, 90.0, 99.0, 99.9]
        );
    }

    #[test]
    fn short_labels_carry_units() {
        assert_eq!(short(Quantity::Of(Unit::Micros), 2_500.0), "2.5ms");
        assert_eq!(short(Quantity::Of(Unit::Micros), 500.0), "500µs");
        assert_eq!(short(Quantity::Of(Unit::PerSecond), 1_500.0), "1.5k/s");
        assert_eq!(short(Quantity::Of(Unit::Fraction), 0.4), "40%");
        assert_eq!(short(Quantity::Of(Unit::Percent), 150.0), "150%");
        assert_eq!(short(Quantity::Of(Unit::Watts), 1_500.0), "1.5kW");
        assert_eq!(short(Quantity::Of(Unit::Celsius), 61.26), "61.3°C");
        assert_eq!(
            short(Quantity::Of(Unit::BytesPerSecond), 2.0 * 1048576.0),
            "2MiB/s"
        );
        assert_eq!(
            short(Quantity::Of(Unit::Bytes), 256.0 * 1048576.0),
            "256MiB"
        );
        assert_eq!(short(Quantity::Percentile, 99.9), "p99.9");
        assert_eq!(short(Quantity::Seconds, -2.0), "-2s");
    }
}
