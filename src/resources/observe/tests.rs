use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::resources::{Entity, SamplingCost};

const MIB: f64 = 1024.0 * 1024.0;

fn metric(text: &str) -> ResourceMetric {
    match crate::assertion::Assertion::parse(&format!("{text} < 1"), &[]) {
        Ok(a) => match a.metric {
            crate::assertion::Metric::Resource(r) => r,
            other => panic!("{other:?}"),
        },
        // The limit's unit does not matter here: take the metric from the error-free parse
        // with a unit that fits.
        Err(_) => {
            for unit in ["%", "MiB", "MiB/min", "W", "C"] {
                if let Ok(a) = crate::assertion::Assertion::parse(&format!("{text} < 1{unit}"), &[])
                    && let crate::assertion::Metric::Resource(r) = a.metric
                {
                    return r;
                }
            }
            panic!("{text} does not parse")
        }
    }
}

/// Samples every 250 ms from -1 s to 10 s.
fn series(f: impl Fn(f64) -> f64) -> Vec<Point> {
    (-4..=40)
        .map(|i| {
            let t = f64::from(i) / 4.0;
            Point { t, v: f(t) }
        })
        .collect()
}

fn entity(name: &str, series: Vec<(Quantity, Vec<Point>)>) -> Entity {
    Entity {
        name: name.into(),
        series: series.into_iter().collect::<BTreeMap<_, _>>(),
    }
}

fn resources(entities: Vec<Entity>, gpu: GpuStatus) -> Resources {
    Resources {
        interval: Duration::from_millis(250),
        window: Duration::from_secs(10),
        entities,
        cost: SamplingCost::default(),
        gpu,
        cpus: 2,
        sut: Some("pid 1 and descendants".into()),
        counters: None,
    }
}

fn value(o: Observed) -> f64 {
    match o {
        Observed::Value { value, .. } => value,
        other => panic!("{other:?}"),
    }
}

#[test]
fn statistics_of_the_target_over_the_window() {
    let r = resources(
        vec![entity(
            "sut",
            vec![
                // 999 % during the warm-up must not count.
                (
                    Quantity::Cpu,
                    series(|t| if t < 0.0 { 999.0 } else { 10.0 + t }),
                ),
                (Quantity::Rss, series(|_| 64.0 * MIB)),
                (Quantity::DiskWrite, series(|t| (t + 1.0).max(0.0) * 1000.0)),
            ],
        )],
        GpuStatus::Unavailable("no driver".into()),
    );
    assert_eq!(value(r.observe(metric("sut.cpu.max"))), 20.0);
    assert_eq!(value(r.observe(metric("sut.cpu.mean"))), 15.0);
    assert_eq!(value(r.observe(metric("sut.rss.last"))), 64.0 * MIB);
    // From 750 bytes at t = -0.25 (the last sample before the window) to 11,000 at t = 10.
    assert_eq!(value(r.observe(metric("sut.disk.write"))), 10_250.0);
    assert_eq!(value(r.observe(metric("sut.rss.growth"))), 0.0);
    assert!(matches!(
        r.observe(metric("sut.threads.max")),
        Observed::NotMeasurable(why) if why.contains("never sampled")
    ));
    assert!(matches!(
        r.observe(metric("sut.disk.read")),
        Observed::NotMeasurable(why) if why.contains("/proc/PID/io")
    ));
}

#[test]
fn leaks_have_a_slope_and_a_growth() {
    // 20 MiB growing by 1 MiB/s: +50 % over 10 s.
    let r = resources(
        vec![entity(
            "sut",
            vec![(Quantity::Rss, series(|t| (20.0 + t) * MIB))],
        )],
        GpuStatus::Devices(0),
    );
    assert!((value(r.observe(metric("sut.rss.slope"))) - MIB).abs() < 1.0);
    assert!((value(r.observe(metric("sut.rss.growth"))) - 0.5).abs() < 1e-9);
    let short = Resources {
        window: Duration::from_secs(1),
        ..r.clone()
    };
    assert!(matches!(
        short.observe(metric("sut.rss.growth")),
        Observed::Inconclusive(why) if why.contains("at least 8 samples in the measured time, got 5")
    ));
}

#[test]
fn gpus_per_device_and_together() {
    let gpu = |util: f64, sut: f64| {
        vec![
            (Quantity::GpuUtil, series(|_| util)),
            (Quantity::GpuMemSut, series(|_| sut)),
        ]
    };
    let r = resources(
        vec![
            entity("gpu0", gpu(20.0, MIB)),
            entity("gpu1", gpu(60.0, 2.0 * MIB)),
        ],
        GpuStatus::Devices(2),
    );
    assert_eq!(value(r.observe(metric("gpu1.util.mean"))), 60.0);
    assert_eq!(value(r.observe(metric("gpu.util.max"))), 60.0);
    assert_eq!(value(r.observe(metric("gpu.util.mean"))), 40.0);
    assert_eq!(
        value(r.observe(metric("gpu.mem.sut"))),
        3.0 * MIB,
        "summed over devices"
    );
    assert!(matches!(
        r.observe(metric("gpu2.util.max")),
        Observed::NotMeasurable(why) if why.contains("2 GPU(s)")
    ));
    let none = resources(
        vec![],
        GpuStatus::Unavailable("NVML: driver not loaded".into()),
    );
    assert!(matches!(
        none.observe(metric("gpu.util.max")),
        Observed::NotMeasurable(why) if why.contains("driver not loaded")
    ));
}

#[test]
fn an_unknown_target_process_is_not_measurable() {
    let mut r = resources(vec![], GpuStatus::Devices(0));
    r.sut = None;
    assert!(matches!(
        r.observe(metric("sut.cpu.max")),
        Observed::NotMeasurable(why) if why.contains("`url` target")
    ));
}
