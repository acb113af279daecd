//! The resources section of the trial table: one line per sampled entity (the target's
//! processes, the machine, the generator, each GPU) over the measured window, and what
//! sampling cost.

use std::fmt::Write;

use super::Measured;
use super::table::render;
use crate::assertion::{Metric, Source};
use crate::resources::{GpuStatus, Quantity, Resources, Summary, fit_window};
use crate::units::{fmt_byte_rate, fmt_bytes, fmt_count, fmt_duration, fmt_percent};

/// The section, empty when nothing was sampled.
pub fn resources_section(m: &Measured) -> String {
    let Some(r) = &m.measurement.resources else {
        return String::new();
    };
    let mut out = format!(
        "\n  resources: every {}, {} samples; sampling cost {} of one core ({:.0} µs per sample)\n",
        fmt_duration(r.interval),
        fmt_count(r.cost.samples as f64),
        fmt_percent(r.cost.percent_of_core() / 100.0),
        r.cost.per_sample().as_secs_f64() * 1e6
    );
    out.push_str(&processes_table(r));
    if r.gpus().next().is_some() {
        out.push_str(&gpu_table(r));
    }
    let asks_gpu = m.verdict.checks().iter().any(
        |c| matches!(c.assertion.metric, Metric::Resource(x) if matches!(x.source, Source::Gpu(_))),
    );
    if let (GpuStatus::Unavailable(why), true) = (&r.gpu, asks_gpu) {
        let _ = writeln!(out, "  gpu: not measurable ({why})");
    }
    out
}

fn pct(s: Option<f64>) -> String {
    s.map_or("-".into(), |v| fmt_percent(v / 100.0))
}

/// `sut`, `system` and `generator`: CPU, memory, its trend, threads, disk.
fn processes_table(r: &Resources) -> String {
    let mut rows = vec![
        [
            "",
            "cpu mean",
            "cpu max",
            "mem max",
            "mem growth",
            "mem slope",
            "threads",
            "disk read",
            "disk write",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for e in r.entities.iter().filter(|e| !e.name.starts_with("gpu")) {
        let sum = |q| r.summary(&e.name, q);
        let cpu = sum(Quantity::Cpu);
        // Processes report RSS; the machine reports memory in use.
        let mem_q = if e.name == "system" {
            Quantity::Mem
        } else {
            Quantity::Rss
        };
        let fit = fit_window(e.series(mem_q), r.window).filter(|_| e.name != "system");
        let label = match e.name.as_str() {
            "system" => format!("system ({} CPUs)", r.cpus),
            "sut" => match sum(Quantity::Processes).map(|p| p.max) {
                Some(n) if n > 1.0 => format!("sut ({n:.0} processes)"),
                _ => "sut".into(),
            },
            other => other.to_string(),
        };
        let total = |q| {
            sum(q)
                .and_then(|s: Summary| s.total)
                .map_or("-".into(), fmt_bytes)
        };
        rows.push(vec![
            label,
            pct(cpu.as_ref().map(|s| s.mean)),
            pct(cpu.as_ref().map(|s| s.max)),
            sum(mem_q).map_or("-".into(), |s| fmt_bytes(s.max)),
            fit.and_then(|f| f.growth(r.window))
                .map_or("-".into(), |g| format!("{}{}", sign(g), fmt_percent(g))),
            fit.map_or("-".into(), |f| {
                format!("{}{}", sign(f.slope), fmt_byte_rate(f.slope))
            }),
            sum(Quantity::Threads).map_or("-".into(), |s| fmt_count(s.max)),
            total(Quantity::DiskRead),
            total(Quantity::DiskWrite),
        ]);
    }
    render(&rows, "  ")
}

fn sign(v: f64) -> &'static str {
    if v >= 0.0 { "+" } else { "" }
}

/// One line per GPU: utilisation, memory (the device's and the target's), power, temperature.
fn gpu_table(r: &Resources) -> String {
    let mut rows = vec![
        [
            "",
            "util mean",
            "util max",
            "mem max",
            "sut mem max",
            "power mean",
            "temp max",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for e in r.gpus() {
        let sum = |q| r.summary(&e.name, q);
        rows.push(vec![
            e.name.clone(),
            pct(sum(Quantity::GpuUtil).map(|s| s.mean)),
            pct(sum(Quantity::GpuUtil).map(|s| s.max)),
            sum(Quantity::GpuMem).map_or("-".into(), |s| fmt_bytes(s.max)),
            sum(Quantity::GpuMemSut).map_or("-".into(), |s| fmt_bytes(s.max)),
            sum(Quantity::GpuPower).map_or("-".into(), |s| format!("{:.1} W", s.mean)),
            sum(Quantity::GpuTemp).map_or("-".into(), |s| format!("{:.0} °C", s.max)),
        ]);
    }
    render(&rows, "  ")
}
