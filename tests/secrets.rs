//! Secrets stay secret: values from the environment (`{{env:NAME}}`) and credential headers are
//! redacted in every report, result file and log, even when the target prints them.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::scratch;
use perfspec::Harness;
use perfspec::spec::{Context, Spec};

const TOKEN: &str = "tok-3f9a7c21-very-secret";
const COOKIE: &str = "hunter2-cookie-value";

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn no_artifact_holds_a_secret() {
    let dir = scratch("secrets");
    let text = r#"
        [target]
        command = ["{bin:testkit-target}", "--port", "{port}", "--echo-credentials", "--crash-after-ms", "1500"]
        ready = "/health"
        [defaults]
        headers = { authorization = "Bearer {{env:PERFSPEC_TEST_TOKEN}}" }
        [[request]]
        name = "r"
        path = "/"
        headers = { cookie = "session=hunter2-cookie-value" }
        [scenario.s]
        load = { model = "closed", users = 1, think-time = "100ms" }
        duration = "3s"
        assert = ["error-rate < 1%"]
    "#;
    let path = dir.join("secret.toml");
    std::fs::write(&path, text).unwrap();
    let cx = Context {
        env: Some(BTreeMap::from([(
            "PERFSPEC_TEST_TOKEN".to_string(),
            TOKEN.to_string(),
        )])),
        ..Default::default()
    };
    let spec = Spec::parse(text, &path, &cx).unwrap();
    assert!(
        spec.secrets.iter().any(|s| s == TOKEN) && spec.secrets.iter().any(|s| s.contains(COOKIE)),
        "{:?}",
        spec.secrets
    );
    let out = dir.join("out");
    let report = Harness::new()
        .out_dir(&out)
        .run_scenario(&spec, "s")
        .unwrap();

    // The target crashed mid-run: the failure quotes its log, where it printed the credentials.
    let table = perfspec::report::console::trial_table(&report);
    assert!(table.contains("target exited during the run"), "{table}");
    assert!(
        table.contains("[REDACTED]"),
        "the log tail was quoted, redacted:\n{table}"
    );
    for secret in [TOKEN, COOKIE] {
        assert!(
            !table.contains(secret),
            "the failure message holds {secret}:\n{table}"
        );
    }
    // The whole run, as `cargo test --test perf` and `cargo xtask bless-baseline` do it: the
    // run-level reports (HTML, Markdown, JUnit, index) and the baseline too. The variable is
    // set before the harness reads the environment; this file has this one test.
    let specs = dir.join("perf-specs");
    std::fs::create_dir_all(&specs).unwrap();
    std::fs::write(specs.join("secret.toml"), text).unwrap();
    // SAFETY: no other thread of this test binary reads or writes the environment now.
    unsafe { std::env::set_var("PERFSPEC_TEST_TOKEN", TOKEN) };
    let baselines = dir.join("baselines");
    let conclusion = Harness::new()
        .specs_dir(&specs)
        .out_dir(&out)
        .baselines_dir(&baselines)
        .ci(false)
        .bless(1, true)
        .run_with(libtest_mimic::Arguments::from_iter([
            "perf".to_string(),
            "--logfile".into(),
            dir.join("libtest.log").display().to_string(),
        ]));
    assert_eq!(conclusion.num_failed, 1, "the target crashes mid-run");
    let mut all = Vec::new();
    files(&out, &mut all);
    files(&baselines, &mut all);
    for expected in [
        "report.html",
        "summary.md",
        "junit.xml",
        "index.json",
        "s.json",
    ] {
        assert!(
            all.iter().any(|p| p.ends_with(expected)),
            "{expected} was written: {all:?}"
        );
    }
    assert!(
        all.iter().any(|p| p.starts_with(&baselines)),
        "a baseline was blessed: {all:?}"
    );
    let log = std::fs::read_to_string(out.join("logs/secret/s.log")).unwrap();
    assert!(
        log.contains("authorization: Bearer [REDACTED]"),
        "the target printed the token, now redacted:\n{log}"
    );
    for file in all {
        let content = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        for secret in [TOKEN, COOKIE] {
            assert!(
                !content.contains(secret),
                "{} holds {secret}",
                file.display()
            );
        }
    }
}

#[test]
fn target_env_values_and_secret_data_stay_out_of_the_log_and_reports() {
    let dir = scratch("env-secrets");
    let text = r#"
        [target]
        command = ["{bin:testkit-target}", "--port", "{port}", "--echo-credentials",
                   "--print-env", "API_TOKEN", "--print-env", "DATABASE_URL",
                   "--print-env", "PLAIN_SETTING", "--crash-after-ms", "1200"]
        ready = "/health"
        env = { API_TOKEN = "envtok-9d8c7b6a", DATABASE_URL = "postgres://app:pw-5e4f3a2b@db/app", PLAIN_SETTING = "visible-value" }
        secret-env = ["DATABASE_URL"]
        [data]
        user = { values = ["usertok-aaaa1111", "usertok-bbbb2222"], secret = true }
        [[request]]
        name = "r"
        path = "/"
        headers = { authorization = "Bearer {{user}}" }
        [scenario.s]
        load = { model = "closed", users = 1, think-time = "100ms" }
        duration = "3s"
    "#;
    let path = dir.join("envsecret.toml");
    std::fs::write(&path, text).unwrap();
    let spec = Spec::parse(text, &path, &Context::default()).unwrap();
    let secrets = [
        "envtok-9d8c7b6a",
        "postgres://app:pw-5e4f3a2b@db/app",
        "usertok-aaaa1111",
        "usertok-bbbb2222",
    ];
    let out = dir.join("out");
    let report = Harness::new()
        .out_dir(&out)
        .run_scenario(&spec, "s")
        .unwrap();
    let table = perfspec::report::console::trial_table(&report);
    assert!(
        table.contains("API_TOKEN=[REDACTED]"),
        "the log tail:\n{table}"
    );
    let log = std::fs::read_to_string(out.join("logs/envsecret/s.log")).unwrap();
    for line in [
        "API_TOKEN=[REDACTED]",
        "DATABASE_URL=[REDACTED]",
        "PLAIN_SETTING=visible-value",
        "authorization: Bearer [REDACTED]",
    ] {
        assert!(log.contains(line), "{line}:\n{log}");
    }
    let mut all = Vec::new();
    files(&out, &mut all);
    for file in all {
        let content = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        for secret in secrets {
            assert!(
                !content.contains(secret),
                "{} holds {secret}",
                file.display()
            );
        }
    }
    assert!(!table.contains("usertok-"), "{table}");
}

#[test]
fn body_contains_takes_environment_values_and_keeps_them_secret() {
    const VALUE: &str = "expected-token-77aa";
    let server = testkit::Server::http(1, |req| async move {
        // Echoes the query, so the body holds the value only when the request sent it.
        testkit::text(200, format!("ok {}", req.uri().query().unwrap_or("")))
    });
    let dir = scratch("body-env");
    let text = format!(
        "[target]\nurl = \"{}\"\n[[request]]\nname = \"r\"\npath = \"/\"\nquery = {{ t = \"{{{{env:PERFSPEC_BODY_TOKEN}}}}\" }}\nexpect = {{ body-contains = \"{{{{env:PERFSPEC_BODY_TOKEN}}}}\" }}\n[scenario.s]\nload = {{ model = \"closed\", users = 1 }}\nduration = \"300ms\"\nassert = [\"errors == 0\", \"requests > 10\"]\n",
        server.url()
    );
    let path = dir.join("body.toml");
    std::fs::write(&path, &text).unwrap();
    let cx = Context {
        env: Some(BTreeMap::from([(
            "PERFSPEC_BODY_TOKEN".to_string(),
            VALUE.to_string(),
        )])),
        ..Default::default()
    };
    let spec = Spec::parse(&text, &path, &cx).unwrap();
    assert_eq!(
        spec.requests[0].expect.body_contains.as_deref(),
        Some(VALUE),
        "filled in when the spec loads"
    );
    let out = dir.join("out");
    let report = Harness::new()
        .out_dir(&out)
        .run_scenario(&spec, "s")
        .unwrap();
    let m = report.outcome.as_ref().expect("measured");
    assert_eq!(
        m.verdict.status(),
        perfspec::compare::Status::Pass,
        "{}",
        perfspec::report::console::trial_table(&report)
    );
    let result = std::fs::read_to_string(out.join("results/body/s.json")).unwrap();
    assert!(!result.contains(VALUE));
}
