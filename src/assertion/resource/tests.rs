use super::*;

fn ok(text: &str) -> ResourceMetric {
    let segs: Vec<&str> = text.split('.').collect();
    resolve(text, &segs).unwrap_or_else(|e| panic!("{text}: {e:?}"))
}

#[test]
fn cost_metrics_are_fixed_per_request_figures() {
    let cpu = ok("sut.cpu-per-request");
    assert_eq!((cpu.reduce, cpu.unit()), (Reduce::PerRequest, Unit::Micros));
    let ins = ok("sut.instructions-per-request");
    assert_eq!(
        (ins.quantity, ins.unit()),
        (Quantity::Instructions, Unit::Count)
    );
    let segs = ["sut", "cpu-per-request", "mean"];
    assert!(resolve("sut.cpu-per-request.mean", &segs).is_err());
}

#[test]
fn names_round_trip() {
    for text in EXAMPLES
        .iter()
        .chain(&["gpu0.util.p99", "gpu12.mem.sut", "system.mem.last"])
    {
        assert_eq!(ok(text).name(), *text);
    }
    assert_eq!(ok("sut.rss.slope").unit(), Unit::BytesPerSecond);
    assert_eq!(ok("sut.rss.growth").unit(), Unit::Fraction);
    assert_eq!(ok("gpu.power.mean").unit(), Unit::Watts);
    assert_eq!(ok("sut.disk.write").reduce, Reduce::Total);
    assert!(ok("system.cpu.max").bounded_percent() && !ok("sut.cpu.max").bounded_percent());
    assert_eq!(Source::parse("gpu1x"), None);
}
