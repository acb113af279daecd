//! The JSON files a run writes match the schemas that document them (`schema/*.schema.json`,
//! JSON Schema draft 2020-12): result files of real runs against an in-process server (closed
//! and open model, errors, drops, a target that never answers), the index of a real run, and
//! hand-built reports with resource series and a baseline.

mod common;

use std::path::Path;

use common::{fixtures, scratch, spec};
use jsonschema::Validator;
use libtest_mimic::Arguments;
use perfspec::Harness;
use perfspec::report::{index, json};
use serde_json::Value;
use testkit::{Server, text};

fn validator(name: &str) -> Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schema")
        .join(name);
    let schema: Value = serde_json::from_slice(&std::fs::read(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{} is not a valid schema: {e}", path.display()))
}

fn assert_valid(v: &Validator, what: &str, text: &str) {
    let instance: Value = serde_json::from_str(text).unwrap();
    let errors: Vec<String> = v
        .iter_errors(&instance)
        .map(|e| format!("  at {}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match its schema:\n{}\n{text}",
        errors.join("\n")
    );
}

fn server() -> Server {
    let n = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    Server::http(1, move |_| {
        let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        async move {
            if i % 20 == 3 {
                text(500, "oops")
            } else {
                text(200, "ok")
            }
        }
    })
}

fn spec_text(url: &str) -> String {
    format!(
        r#"
        [target]
        url = "{url}"
        [[request]]
        name = "a"
        path = "/a"
        weight = 3
        [[request]]
        name = "b"
        path = "/b"
        [scenario.closed]
        load = {{ model = "closed", users = 2, think-time = "1ms" }}
        warmup = "300ms"
        duration = "1s"
        assert = ["p95 < 1s", "a.p99.9 < 1s", "error-rate < 1%", "throughput > 10/s", "p50 over 1s < 1s"]
        [scenario.open]
        load = {{ model = "open", rate = "400/s", max-users = 1 }}
        duration = "1s"
        assert = ["service.p99 < 1s", "requests >= 1"]
        "#
    )
}

#[test]
fn result_files_of_real_runs_match_the_schema() {
    let v = validator("result.schema.json");
    let server = server();
    let dir = scratch("schema-results");
    let s = spec(&dir, "real", &spec_text(&server.url()));
    let unreachable = spec(
        &dir,
        "down",
        "[target]\nurl = \"http://127.0.0.1:1\"\nready = \"/\"\nready-timeout = \"200ms\"\n[[request]]\nname = \"r\"\npath = \"/\"\n[scenario.s]\nload = { model = \"closed\", users = 1 }\nduration = \"1s\"\n",
    );
    let h = Harness::new().out_dir(dir.join("out"));
    for (spec, scenario, status) in [
        (&s, "closed", None),
        (&s, "open", None),
        (&unreachable, "s", Some("error")),
    ] {
        let report = h.run_scenario(spec, scenario).unwrap();
        let path = dir
            .join("out/results")
            .join(&spec.name)
            .join(format!("{scenario}.json"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert_valid(&v, &path.display().to_string(), &text);
        if let Some(status) = status {
            assert_eq!(report.status_name(), status);
        }
    }
}

#[test]
fn hand_built_results_with_series_and_baselines_match_the_schema() {
    let v = validator("result.schema.json");
    for (what, report) in [
        ("passing", fixtures::passing()),
        ("failing", fixtures::failing()),
        ("inconclusive", fixtures::inconclusive()),
        ("unmeasured", fixtures::unmeasured()),
    ] {
        let text = json::render(&report);
        assert_valid(&v, what, &text);
        if what == "failing" {
            let parsed: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(parsed["series"][1]["name"], "sut.rss");
            assert_eq!(parsed["series"][1]["unit"], "bytes");
        }
    }
}

#[test]
fn the_run_index_matches_its_schema() {
    let v = validator("index.schema.json");
    assert_valid(&v, "hand-built index", &index::render(&fixtures::run()));

    let server = server();
    let dir = scratch("schema-index");
    let specs = dir.join("perf-specs");
    std::fs::create_dir_all(&specs).unwrap();
    std::fs::write(specs.join("real.toml"), spec_text(&server.url())).unwrap();
    std::fs::write(specs.join("broken.toml"), "[target]\n").unwrap();
    let conclusion = Harness::new()
        .specs_dir(&specs)
        .out_dir(dir.join("out"))
        .run_with(Arguments::from_iter([
            "perf".to_string(),
            "--logfile".into(),
            dir.join("libtest.log").display().to_string(),
        ]));
    assert_eq!(
        conclusion.num_failed, 3,
        "5% errors fail `closed`, drops make `open` inconclusive, and the broken spec"
    );
    let text = std::fs::read_to_string(dir.join("out/index.json")).unwrap();
    assert_valid(&v, "index.json", &text);
    let parsed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed["trials"].as_array().unwrap().len(), 2);
    assert_eq!(parsed["broken_specs"][0]["name"], "broken");
    assert_eq!(parsed["status"], "fail");
    for t in parsed["trials"].as_array().unwrap() {
        let result = dir.join("out").join(t["result"].as_str().unwrap());
        assert!(
            result.is_file(),
            "{} is listed but missing",
            result.display()
        );
    }
}
