//! Units of metric values, and limits written with units (`300ms`, `1%`, `20/s`, `512MiB`).

use super::Metric;
use crate::units;

/// The canonical unit of a metric's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Microseconds.
    Micros,
    /// A fraction (0.01 is 1 %).
    Fraction,
    /// Per second.
    PerSecond,
    /// A plain count.
    Count,
    /// Bytes.
    Bytes,
    /// A percentage as written (80.0 is 80 %): CPU (of one core for processes, of all cores
    /// for the system), GPU utilisation.
    Percent,
    /// Bytes per second (limits are usually written per minute: `1MiB/min`).
    BytesPerSecond,
    /// Watts.
    Watts,
    /// Degrees Celsius.
    Celsius,
    /// A plain number in the unit the service exports it in (its own metrics).
    Number,
}

impl Unit {
    /// Formats a value of this unit for people.
    pub fn format(self, v: f64) -> String {
        match self {
            Unit::Micros => units::fmt_us(v),
            Unit::Fraction => units::fmt_percent(v),
            Unit::PerSecond => units::fmt_rate(v),
            Unit::Count => units::fmt_count(v),
            Unit::Bytes => units::fmt_bytes(v),
            Unit::Percent => units::fmt_percent(v / 100.0),
            Unit::BytesPerSecond => units::fmt_byte_rate(v),
            Unit::Watts => format!("{v:.1} W"),
            Unit::Celsius => format!("{v:.0} °C"),
            Unit::Number => units::fmt_number(v),
        }
    }

    /// The suffix JSON field names carry for this unit.
    pub fn json_suffix(self) -> &'static str {
        match self {
            Unit::Micros => "us",
            Unit::Fraction => "fraction",
            Unit::PerSecond => "per_s",
            Unit::Count => "count",
            Unit::Bytes => "bytes",
            Unit::Percent => "percent",
            Unit::BytesPerSecond => "bytes_per_s",
            Unit::Watts => "watts",
            Unit::Celsius => "celsius",
            Unit::Number => "value",
        }
    }
}

/// Parses the limit of an assertion into the metric's canonical unit.
pub(super) fn parse_value(
    metric: &Metric,
    name: &str,
    text: &str,
) -> Result<f64, (String, String)> {
    let unit = metric.unit();
    let example = match unit {
        Unit::Micros => format!("{name} < 300ms"),
        Unit::Fraction => format!("{name} < 1%"),
        Unit::PerSecond => format!("{name} > 20/s"),
        Unit::Count => format!("{name} >= 100"),
        Unit::Bytes => format!("{name} < 512MiB"),
        Unit::Percent => format!("{name} < 80%"),
        Unit::BytesPerSecond => format!("{name} < 1MiB/min"),
        Unit::Watts => format!("{name} < 300W"),
        Unit::Celsius => format!("{name} < 85C"),
        Unit::Number => format!("{name} < 20"),
    };
    let expected = match unit {
        Unit::Micros => "a time (us, ms, s, m, h)",
        Unit::Fraction => "a percentage (%)",
        Unit::PerSecond => "a rate (/s, /min)",
        Unit::Count => "a plain number",
        Unit::Bytes => "a size (B, KiB, MiB, GiB, KB, MB, GB)",
        Unit::Percent => "a percentage (%)",
        Unit::BytesPerSecond => "a size per time (KiB/s, MiB/min, GiB/h)",
        Unit::Watts => "a power in watts (W)",
        Unit::Celsius => "a temperature in degrees Celsius (C)",
        Unit::Number => "a plain number (in the unit the service exports)",
    };
    let wrong = || {
        (
            format!("`{text}` is not {expected}, which `{name}` needs"),
            format!("for example \"{example}\""),
        )
    };
    if text.is_empty() {
        return Err((
            format!("assertion on `{name}` has no value"),
            format!("for example \"{example}\""),
        ));
    }
    let (number, suffix) = units::number_and_unit(text).ok_or_else(wrong)?;
    let value = match (unit, suffix) {
        (Unit::Micros, s) if units::time_unit_us(s).is_some() => {
            number * units::time_unit_us(s).expect("checked by the guard")
        }
        (Unit::Fraction, "%") => number / 100.0,
        (Unit::PerSecond, s) if s.starts_with('/') => {
            units::parse_rate(text).map_err(|_| wrong())?
        }
        (Unit::Count, "") => number,
        (Unit::Bytes, s) => number * units::bytes_factor(s).ok_or_else(wrong)?,
        (Unit::Percent, "%") => number,
        (Unit::BytesPerSecond, s) if s.contains('/') => {
            units::parse_byte_rate(text).map_err(|_| wrong())?
        }
        (Unit::Watts, "W") => number,
        (Unit::Celsius, "C" | "°C") => number,
        (Unit::Number, "") => number,
        _ => return Err(wrong()),
    };
    Ok(value)
}

/// Limits that make an assertion meaningless: `p95 < 0ms` never holds, an error rate above
/// 100 %, a fraction of a request.
pub(super) fn impossible(metric: &Metric, op: super::Op, limit: f64) -> Option<(String, String)> {
    use super::Op;
    if let Metric::Resource(r) = metric {
        return super::resource::impossible(*r, op, limit);
    }
    // Gauges go below zero and ratios above one: the service decides what its numbers mean.
    if let Metric::Scraped(_) = metric {
        return None;
    }
    if matches!(op, Op::Lt) && limit <= 0.0 {
        return Some((
            "this can never hold: the metric is never below zero".into(),
            "write a positive limit".into(),
        ));
    }
    if metric.unit() == Unit::Fraction && limit > 1.0 {
        return Some((
            "a share above 100% means nothing".into(),
            "write a percentage from 0% to 100%".into(),
        ));
    }
    if metric.unit() == Unit::Count && limit.fract() != 0.0 {
        return Some((
            "counts are whole numbers".into(),
            format!("e.g. {}", limit.ceil()),
        ));
    }
    None
}
