use std::path::Path;

use super::*;

fn sample() -> Baseline {
    let mut h = crate::measure::new_histogram();
    for v in [100u64, 200, 300] {
        h.record(v).unwrap();
    }
    Baseline {
        schema: SCHEMA.into(),
        schema_version: SCHEMA_VERSION,
        spec: "search".into(),
        scenario: "steady".into(),
        profile: None,
        provenance: provenance(Path::new(".")),
        load: "closed, 1 user".into(),
        runs: 1,
        window_s: vec![1.0],
        scopes: BTreeMap::new(),
        histograms: BTreeMap::from([("search".to_string(), encode(&h))]),
    }
}

#[test]
fn writes_reads_and_checks_the_scenario() {
    let dir = std::env::temp_dir().join(format!("perfspec-baseline-{}", std::process::id()));
    let p = path(&dir, Some("ci-runner"), "search", "steady");
    assert!(p.ends_with("ci-runner/search/steady.json"));
    let b = sample();
    b.write(&p).unwrap();
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.ends_with("}\n") && text.contains("\n  \"schema\": \"perfspec-baseline\""));
    assert_eq!(Baseline::read(&p, "search", "steady").unwrap(), b);
    let e = Baseline::read(&p, "search", "peak")
        .unwrap_err()
        .to_string();
    assert!(e.contains("is for search::steady, not search::peak"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_files_get_clear_errors() {
    let p = Path::new("baselines/search/steady.json");
    let err = |text: &str| {
        Baseline::parse(text, p, "search", "steady")
            .unwrap_err()
            .to_string()
    };
    let e = err("{\"schema\": \"perfspec-baseline\",\n \"schema_version\": 1,\n \"spec\": ");
    assert!(
        e.starts_with("baseline baselines/search/steady.json:3:") && e.contains("corrupt"),
        "{e}"
    );
    let e = err("{\"schema\": \"perfspec-baseline\", \"schema_version\": 7}");
    assert!(e.contains("schema 7 (written by a newer perfspec)"), "{e}");
    let e = err("{\"schema\": \"something-else\"}");
    assert!(e.contains("not a perfspec baseline"), "{e}");
    let mut b = serde_json::to_value(sample()).unwrap();
    b["histograms"]["search"] = "garbage!".into();
    let e = err(&b.to_string());
    assert!(e.contains("histogram of `search`: not base64"), "{e}");
    let e = Baseline::read(Path::new("/nonexistent/x.json"), "a", "b")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("cannot read baseline /nonexistent/x.json"),
        "{e}"
    );
}
