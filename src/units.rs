//! Quantities with units: parsing of durations, byte sizes, rates and percentages as written
//! in specs, and their human formatting in reports.
//!
//! Parsers return a short `Err(String)` saying what would be valid; callers attach the file,
//! line and key.

use std::time::Duration;

/// Splits a leading number off `s`: `"12.5ms"` gives `(12.5, "ms")`; the rest is not trimmed.
fn leading_number(s: &str) -> Option<(f64, &str)> {
    let end = s
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .map_or(s.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let number: String = s[..end].chars().filter(|&c| c != '_').collect();
    let value: f64 = number.parse().ok()?;
    value.is_finite().then_some((value, &s[end..]))
}

/// Splits `"12.5 ms"` into `(12.5, "ms")`: whitespace around the unit is ignored.
fn split_number(s: &str) -> Option<(f64, &str)> {
    leading_number(s.trim()).map(|(v, unit)| (v, unit.trim()))
}

/// What a duration looks like, for help texts.
pub const DURATION_HELP: &str = "a duration is a number with a unit, such as \"250ms\", \"1.5s\", \"2m\" or \"1m 30s\" (units: us, ms, s, m, h)";

/// Seconds per duration unit, long names included.
fn duration_unit(unit: &str) -> Option<f64> {
    Some(match unit {
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hour" | "hours" => 3600.0,
        _ => return None,
    })
}

/// Parses `"500ms"`, `"1.5s"`, `"100us"`, `"2m"`, `"1m 30s"`, `"2 s"`, `"1h"`. Errors are
/// short (say what is wrong); [`DURATION_HELP`] says what is valid.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err("the duration is empty".into());
    }
    let mut total = 0.0f64;
    while !rest.is_empty() {
        let (value, after) =
            leading_number(rest).ok_or_else(|| format!("{text:?} is not a duration"))?;
        let after = after.trim_start();
        let len = after
            .find(|c: char| !(c.is_alphabetic()))
            .unwrap_or(after.len());
        let unit = &after[..len];
        let factor = match duration_unit(unit) {
            Some(f) => f,
            None if unit.is_empty() => return Err(format!("duration {text:?} has no unit")),
            None => return Err(format!("unknown unit `{unit}` in duration {text:?}")),
        };
        total += value * factor;
        rest = after[len..].trim_start();
    }
    // Bound durations to something a test run can mean: 30 days.
    if total > 30.0 * 86_400.0 {
        return Err(format!("duration {text:?} is longer than 30 days"));
    }
    Ok(Duration::from_secs_f64(total))
}

/// What a rate looks like, for help texts.
pub const RATE_HELP: &str = "a rate is a number per time unit, such as \"200/s\" or \"600/min\"";

/// Parses `"200/s"`, `"12000/min"`, `"5/ms"` into requests per second.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let (value, unit) = split_number(text).ok_or_else(|| format!("{text:?} is not a rate"))?;
    let Some(per) = unit.strip_prefix('/') else {
        return Err(format!("rate {text:?} has no time unit"));
    };
    let factor = duration_unit(per.trim())
        .ok_or_else(|| format!("unknown unit `/{}` in rate {text:?}", per.trim()))?;
    Ok(value / factor)
}

/// What a size looks like, for help texts.
pub const BYTES_HELP: &str =
    "a size is a number with a unit, such as \"512MiB\" (units: B, KiB, MiB, GiB, KB, MB, GB)";

/// Parses `"512MiB"`, `"1.5 GiB"`, `"100KB"`, `"64B"` into bytes.
pub fn parse_bytes(text: &str) -> Result<f64, String> {
    let (value, unit) = split_number(text).ok_or_else(|| format!("{text:?} is not a size"))?;
    match bytes_factor(unit) {
        Some(f) => Ok(value * f),
        None if unit.is_empty() => Err(format!("size {text:?} has no unit")),
        None => Err(format!("unknown unit `{unit}` in size {text:?}")),
    }
}

/// What a byte rate looks like, for help texts.
pub const BYTE_RATE_HELP: &str =
    "a byte rate is a size per time unit, such as \"1MiB/min\", \"64KiB/s\" or \"1GiB/h\"";

/// Parses `"1MiB/min"`, `"64 KiB/s"`, `"1GiB/h"` into bytes per second.
pub fn parse_byte_rate(text: &str) -> Result<f64, String> {
    let Some((size, per)) = text.split_once('/') else {
        return Err(format!(
            "byte rate {text:?} has no time unit (write e.g. \"1MiB/min\")"
        ));
    };
    let bytes = parse_bytes(size)?;
    let seconds = duration_unit(per.trim())
        .ok_or_else(|| format!("unknown unit `/{}` in byte rate {text:?}", per.trim()))?;
    Ok(bytes / seconds)
}

/// Microseconds per time unit, for limits written in assertions.
pub fn time_unit_us(unit: &str) -> Option<f64> {
    duration_unit(unit).map(|s| s * 1e6)
}

/// The factor of a byte unit, `None` for anything else.
pub fn bytes_factor(unit: &str) -> Option<f64> {
    Some(match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        _ => return None,
    })
}

/// Parses a number written with a leading value and a unit, returning both.
pub fn number_and_unit(text: &str) -> Option<(f64, &str)> {
    split_number(text)
}

/// Formats microseconds as `850 µs`, `12.3 ms`, `1.24 s`.
pub fn fmt_us(us: f64) -> String {
    let abs = us.abs();
    if abs < 1_000.0 {
        format!("{us:.0} µs")
    } else if abs < 1_000_000.0 {
        format!("{:.1} ms", us / 1e3)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

/// Formats a duration for humans: `250ms`, `1.5s`, `2m 30s`.
pub fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{}ms", d.as_millis())
    } else if s < 120.0 {
        let text = format!("{s:.1}");
        format!("{}s", text.trim_end_matches(".0"))
    } else {
        let m = d.as_secs() / 60;
        let rest = d.as_secs() % 60;
        if rest == 0 {
            format!("{m}m")
        } else {
            format!("{m}m {rest}s")
        }
    }
}

/// Formats bytes with binary units: `512 B`, `3.2 MiB`.
pub fn fmt_bytes(bytes: f64) -> String {
    let abs = bytes.abs();
    let (value, unit) = if abs < 1024.0 {
        return format!("{bytes:.0} B");
    } else if abs < 1024.0 * 1024.0 {
        (bytes / 1024.0, "KiB")
    } else if abs < 1024.0 * 1024.0 * 1024.0 {
        (bytes / (1024.0 * 1024.0), "MiB")
    } else {
        (bytes / (1024.0 * 1024.0 * 1024.0), "GiB")
    };
    format!("{value:.1} {unit}")
}

/// Formats a byte rate per minute, the scale leaks are read at: `1.5 MiB/min`.
pub fn fmt_byte_rate(bytes_per_s: f64) -> String {
    format!("{}/min", fmt_bytes(bytes_per_s * 60.0))
}

/// Formats a count with thousands separators: `12,345`.
pub fn fmt_count(n: f64) -> String {
    let rounded = n.round();
    if (n - rounded).abs() > 1e-9 {
        return format!("{n:.1}");
    }
    let digits = format!("{:.0}", rounded.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if rounded < 0.0 {
        format!("-{out}")
    } else {
        out
    }
}

/// Formats a rate: `61.7/s`, `12,000/s`.
pub fn fmt_rate(per_s: f64) -> String {
    if per_s.abs() >= 1000.0 {
        format!("{}/s", fmt_count(per_s.round()))
    } else if per_s.abs() >= 10.0 {
        format!("{per_s:.1}/s")
    } else {
        format!("{per_s:.2}/s")
    }
}

/// Formats a number the service exported, in its own unit: whole numbers with thousands
/// separators (`12,345`), others with four significant digits (`0.2718`, `1.235e-5`).
pub fn fmt_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return fmt_count(v);
    }
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e6).contains(&a) {
        return format!("{v:.3e}");
    }
    let digits = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
    let text = format!("{v:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// Formats a relative change: `+12.3%`, `-4.0%`; beyond ±1000 % it only says so, because
/// such figures come from intervals too wide to mean more.
pub fn fmt_change(change: f64) -> String {
    if change > 10.0 {
        ">+1000%".into()
    } else if change.is_nan() {
        "-".into()
    } else {
        format!("{:+.1}%", change * 100.0)
    }
}

/// Formats a fraction as a percentage: `0.0123` -> `1.23%`.
pub fn fmt_percent(fraction: f64) -> String {
    let p = fraction * 100.0;
    if p == 0.0 {
        "0%".into()
    } else if p.abs() < 0.1 {
        format!("{p:.3}%")
    } else if p.abs() < 10.0 {
        format!("{p:.2}%")
    } else {
        format!("{p:.1}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("1m 30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("250us").unwrap(), Duration::from_micros(250));
        assert_eq!(parse_duration("2 s").unwrap(), Duration::from_secs(2));
        assert_eq!(
            parse_duration("1 min 30 seconds").unwrap(),
            Duration::from_secs(90)
        );
        assert!(
            parse_duration("5 parsecs")
                .unwrap_err()
                .contains("unknown unit `parsecs`")
        );
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("10").unwrap_err().contains("no unit"));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("99999h").is_err());
    }

    #[test]
    fn rates_and_sizes() {
        assert_eq!(parse_rate("200/s").unwrap(), 200.0);
        assert_eq!(parse_rate("600/min").unwrap(), 10.0);
        assert!(parse_rate("200").is_err());
        assert!(parse_rate("200/fortnight").is_err());
        assert_eq!(parse_bytes("512MiB").unwrap(), 512.0 * 1024.0 * 1024.0);
        assert_eq!(parse_bytes("1.5 KiB").unwrap(), 1536.0);
        assert!(parse_bytes("12 furlongs").is_err());
        assert_eq!(parse_byte_rate("1MiB/min").unwrap(), 1024.0 * 1024.0 / 60.0);
        assert_eq!(parse_byte_rate("64 KiB / s").unwrap(), 65536.0);
        assert!(
            parse_byte_rate("1MiB")
                .unwrap_err()
                .contains("no time unit")
        );
        assert!(
            parse_byte_rate("1MiB/week")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert_eq!(fmt_byte_rate(1024.0 * 1024.0 / 60.0), "1.0 MiB/min");
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_us(850.0), "850 µs");
        assert_eq!(fmt_us(12_345.0), "12.3 ms");
        assert_eq!(fmt_us(1_240_000.0), "1.24 s");
        assert_eq!(fmt_count(1_234_567.0), "1,234,567");
        assert_eq!(fmt_count(12.0), "12");
        assert_eq!(fmt_rate(61.74), "61.7/s");
        assert_eq!(fmt_percent(0.0123), "1.23%");
        assert_eq!(fmt_bytes(3.2 * 1024.0 * 1024.0), "3.2 MiB");
        assert_eq!(fmt_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(fmt_duration(Duration::from_secs(150)), "2m 30s");
    }
}
