//! Flows end to end over loopback: captured values are sent on (the server checks them), a
//! capture that finds nothing is counted as `capture-missing` and stops the iteration, and
//! `expect.json` fails a response whose value differs.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{measured, run, scratch, spec};
use perfspec::measure::ErrorKind;
use testkit::{Server, text};

/// What the server saw.
#[derive(Default)]
struct Seen {
    logins: AtomicU64,
    creates: AtomicU64,
    gets: AtomicU64,
    /// Requests whose token, session header or item id was not one the server issued.
    wrong: AtomicU64,
}

/// A login issuing a token (body) and a session id (header); items that need both and are
/// answered with their id. `id_key` names the id field of a create's answer (a wrong one makes
/// the capture miss).
fn server(seen: Arc<Seen>, id_key: &'static str) -> Server {
    Server::http(1, move |req| {
        let seen = seen.clone();
        async move {
            let header = |name: &str| {
                req.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string()
            };
            let authorized =
                header("authorization") == "Bearer tok-42" && header("x-session") == "s-7";
            let path = req.uri().path().to_string();
            match (req.method().as_str(), path.as_str()) {
                ("POST", "/login") => {
                    seen.logins.fetch_add(1, Ordering::Relaxed);
                    let mut r = text(200, r#"{"token": "tok-42"}"#);
                    r.headers_mut().insert("x-session", "s-7".parse().unwrap());
                    r
                }
                ("POST", "/items") if authorized => {
                    let n = seen.creates.fetch_add(1, Ordering::Relaxed) + 1000;
                    text(201, format!(r#"{{"{id_key}": {n}}}"#))
                }
                ("GET", p) if authorized => {
                    seen.gets.fetch_add(1, Ordering::Relaxed);
                    let id: u64 = p
                        .strip_prefix("/items/")
                        .and_then(|i| i.parse().ok())
                        .unwrap_or(0);
                    if (1000..1000 + seen.creates.load(Ordering::Relaxed)).contains(&id) {
                        text(200, format!(r#"{{"items": [{{"id": {id}}}]}}"#))
                    } else {
                        seen.wrong.fetch_add(1, Ordering::Relaxed);
                        text(404, "no such item")
                    }
                }
                _ => {
                    seen.wrong.fetch_add(1, Ordering::Relaxed);
                    text(401, "unauthorized")
                }
            }
        }
    })
}

fn flow_spec(url: &str) -> String {
    format!(
        r#"
        [target]
        url = "{url}"
        [[request]]
        name = "login"
        method = "POST"
        path = "/login"
        [[request]]
        name = "create"
        method = "POST"
        path = "/items"
        headers = {{ authorization = "Bearer {{{{user.token}}}}", x-session = "{{{{user.session}}}}" }}
        json = {{ name = "x" }}
        [[request]]
        name = "get"
        path = "/items/{{{{user.id}}}}"
        headers = {{ authorization = "Bearer {{{{user.token}}}}", x-session = "{{{{user.session}}}}" }}
        [[flow]]
        name = "crud"
        setup = [{{ request = "login", capture = {{ token = {{ json = "/token" }}, session = {{ header = "X-Session" }} }} }}]
        steps = [
          {{ request = "create", capture = {{ id = {{ json = "/id" }} }} }},
          {{ request = "get", think = "5ms" }},
        ]
        [scenario.crud]
        load = {{ model = "closed", users = 2 }}
        duration = "1s"
        flows = ["crud"]
        assert = ["errors == 0"]
    "#
    )
}

fn errors(m: &perfspec::report::Measured, request: &str) -> Vec<(ErrorKind, u64)> {
    let stats = m
        .measurement
        .requests
        .iter()
        .find(|r| r.name == request)
        .unwrap_or_else(|| panic!("no request {request}"));
    stats.errors.iter().map(|(k, n)| (*k, *n)).collect()
}

fn requests(m: &perfspec::report::Measured, request: &str) -> u64 {
    let stats = m
        .measurement
        .requests
        .iter()
        .find(|r| r.name == request)
        .unwrap();
    stats.requests()
}

#[test]
fn captured_values_are_sent_on_and_setup_runs_once_per_user() {
    let seen = Arc::new(Seen::default());
    let server = server(seen.clone(), "id");
    let dir = scratch("flows-captured");
    let s = spec(&dir, "flows", &flow_spec(&server.url()));
    let report = run(&dir, &s, "crud");
    let m = measured(&report);
    assert_eq!(
        seen.wrong.load(Ordering::Relaxed),
        0,
        "a captured value was not sent on"
    );
    assert_eq!(seen.logins.load(Ordering::Relaxed), 2, "one login per user");
    let gets = seen.gets.load(Ordering::Relaxed);
    assert!(gets >= 10, "only {gets} gets in a second");
    for r in ["login", "create", "get"] {
        assert_eq!(errors(m, r), vec![], "{r}");
    }
    // Each step is measured under its request's name; a get follows each create.
    let (creates, got) = (requests(m, "create"), requests(m, "get"));
    assert!(creates.abs_diff(got) <= 2, "create {creates}, get {got}");
    assert_eq!(
        m.verdict.status(),
        perfspec::compare::Status::Pass,
        "{}",
        perfspec::report::console::trial_table(&report)
    );
}

#[test]
fn a_missing_capture_is_counted_and_stops_the_iteration() {
    let seen = Arc::new(Seen::default());
    // The create answers `{"ident": N}`: the `/id` capture finds nothing.
    let server = server(seen.clone(), "ident");
    let dir = scratch("flows-missing");
    let s = spec(&dir, "flows", &flow_spec(&server.url()));
    let report = run(&dir, &s, "crud");
    let m = measured(&report);
    let creates = requests(m, "create");
    assert!(creates >= 10, "only {creates} creates");
    assert_eq!(
        errors(m, "create"),
        vec![(ErrorKind::CaptureMissing, creates)]
    );
    // The get needs the id: it is never sent without it (nor with an empty one).
    assert_eq!(seen.gets.load(Ordering::Relaxed), 0);
    assert_eq!(seen.wrong.load(Ordering::Relaxed), 0);
    assert_eq!(requests(m, "get"), 0);
    assert_eq!(m.verdict.status(), perfspec::compare::Status::Fail);
    let table = perfspec::report::console::trial_table(&report);
    assert!(table.contains("capture-missing"), "{table}");
}

#[test]
fn expect_json_fails_a_response_whose_value_differs() {
    let server = Server::http(1, |req| async move {
        let id = if req.uri().path() == "/three" { 3 } else { 4 };
        text(200, format!(r#"{{"items": [{{"id": {id}}}]}}"#))
    });
    let dir = scratch("flows-expect-json");
    let s = spec(
        &dir,
        "expect",
        &format!(
            r#"
        [target]
        url = "{}"
        [[request]]
        name = "right"
        path = "/three"
        expect = {{ json = {{ "/items/0/id" = 3 }} }}
        [[request]]
        name = "wrong"
        path = "/four"
        expect = {{ json = {{ "/items/0/id" = 3 }} }}
        [scenario.check]
        load = {{ model = "closed", users = 1 }}
        iterations = 40
        duration = "5s"
    "#,
            server.url()
        ),
    );
    let report = run(&dir, &s, "check");
    let m = measured(&report);
    assert_eq!(errors(m, "right"), vec![]);
    let wrong = requests(m, "wrong");
    assert!(wrong > 0);
    assert_eq!(errors(m, "wrong"), vec![(ErrorKind::Expectation, wrong)]);
}

/// The open model with flows: each arrival is a session whose steps follow each other on one
/// user (the second waits for the first's reply, and sends what it captured); sessions beyond
/// `max-users` are dropped, and each step's latency counts from its own intended start.
#[test]
fn open_model_sessions_run_their_steps_in_order_and_are_capped() {
    let seen = Arc::new(Seen::default());
    let s = seen.clone();
    let server = Server::http(1, move |req| {
        let seen = s.clone();
        async move {
            if req.uri().path() == "/start" {
                let n = seen.creates.fetch_add(1, Ordering::Relaxed);
                return text(200, format!(r#"{{"id": {n}}}"#));
            }
            // The follow-up: slow, and only for an id the server issued.
            tokio::time::sleep(std::time::Duration::from_millis(40)).await;
            let id: u64 = req
                .uri()
                .path()
                .strip_prefix("/next/")
                .and_then(|i| i.parse().ok())
                .unwrap_or(u64::MAX);
            if id < seen.creates.load(Ordering::Relaxed) {
                seen.gets.fetch_add(1, Ordering::Relaxed);
            } else {
                seen.wrong.fetch_add(1, Ordering::Relaxed);
            }
            text(200, "ok")
        }
    });
    let dir = scratch("flows-open");
    let text = format!(
        r#"
        [target]
        url = "{}"
        [[request]]
        name = "start"
        path = "/start"
        [[request]]
        name = "next"
        path = "/next/{{{{user.id}}}}"
        [[flow]]
        name = "session"
        steps = [{{ request = "start", capture = {{ id = {{ json = "/id" }} }} }}, {{ request = "next", think = "150ms" }}]
        [scenario.open]
        load = {{ model = "open", rate = "40/s", max-users = 2 }}
        duration = "2s"
        flows = ["session"]
        inconclusive = "pass"
    "#,
        server.url()
    );
    let s = spec(&dir, "open", &text);
    let report = run(&dir, &s, "open");
    let m = measured(&report);
    assert_eq!(
        seen.wrong.load(Ordering::Relaxed),
        0,
        "a step was sent without its capture"
    );
    let (starts, nexts) = (requests(m, "start"), requests(m, "next"));
    assert!(starts >= 8, "only {starts} sessions");
    // Each session's second step follows its first (the last ones may be cut by the end).
    assert!(starts.abs_diff(nexts) <= 2, "start {starts}, next {nexts}");
    // Two users, each session at least 190 ms: at most about 10 sessions a second of 40.
    assert!(
        m.measurement.generator.dropped > 0,
        "no session was dropped"
    );
    // The second step counts from the first's completion plus its think time, not from the
    // arrival: about 40 ms, not 190.
    let next = m
        .measurement
        .requests
        .iter()
        .find(|r| r.name == "next")
        .unwrap();
    let p50_ms = next.latency.value_at_quantile(0.5) as f64 / 1000.0;
    assert!(
        (40.0..150.0).contains(&p50_ms),
        "next p50 {p50_ms} ms: from its own intended start"
    );
}

/// Items with a teardown: creates fail with 503 for every 5th item (the iteration fails at
/// once, nothing to delete), reads fail with 500 for every 4th (the iteration fails, and its
/// teardown still deletes the item). The server counts what it saw.
#[derive(Default)]
struct Items {
    creates: AtomicU64,
    created: AtomicU64,
    deletes: AtomicU64,
    /// Deletes of an id that was never created, or deleted twice.
    wrong: AtomicU64,
    live: std::sync::Mutex<std::collections::BTreeSet<u64>>,
}

fn items_server(items: Arc<Items>) -> Server {
    Server::http(1, move |req| {
        let items = items.clone();
        async move {
            let id: Option<u64> = req
                .uri()
                .path()
                .strip_prefix("/items/")
                .and_then(|i| i.parse().ok());
            match (req.method().as_str(), id) {
                ("POST", None) => {
                    let n = items.creates.fetch_add(1, Ordering::Relaxed);
                    if n % 5 == 4 {
                        return text(503, "busy");
                    }
                    items.created.fetch_add(1, Ordering::Relaxed);
                    items.live.lock().unwrap().insert(n);
                    text(201, format!(r#"{{"id": {n}}}"#))
                }
                ("GET", Some(id)) if id % 4 == 3 => text(500, "broken"),
                ("GET", Some(_)) => text(200, "{}"),
                ("DELETE", Some(id)) => {
                    items.deletes.fetch_add(1, Ordering::Relaxed);
                    if !items.live.lock().unwrap().remove(&id) {
                        items.wrong.fetch_add(1, Ordering::Relaxed);
                    }
                    text(204, "")
                }
                _ => text(404, "no"),
            }
        }
    })
}

#[test]
fn flow_iterations_are_counted_timed_and_cleaned_up_by_the_teardown() {
    let items = Arc::new(Items::default());
    let server = items_server(items.clone());
    let dir = scratch("flows-iterations");
    let text = format!(
        r#"
        [target]
        url = "{}"
        [[request]]
        name = "create"
        method = "POST"
        path = "/items"
        expect = {{ status = 201 }}
        [[request]]
        name = "get"
        path = "/items/{{{{user.id}}}}"
        [[request]]
        name = "delete"
        method = "DELETE"
        path = "/items/{{{{user.id}}}}"
        expect = {{ status = 204 }}
        [[flow]]
        name = "crud"
        steps = [
          {{ request = "create", capture = {{ id = {{ json = "/id" }} }} }},
          {{ request = "get", think = "5ms" }},
        ]
        teardown = [{{ request = "delete" }}]
        [scenario.crud]
        load = {{ model = "closed", users = 2 }}
        warmup = "0s"
        duration = "1500ms"
        flows = ["crud"]
        inconclusive = "pass"
        assert = [
          "flow.crud.success-rate > 40%",
          "flow.success-rate > 99%",
          "flow.crud.duration.min >= 5ms",
          "flow.iterations >= 10",
        ]
    "#,
        server.url()
    );
    let s = spec(&dir, "items", &text);
    let report = run(&dir, &s, "crud");
    let m = measured(&report);
    let flow = &m.measurement.course.flows[0];
    let (creates, gets, deletes) = (
        requests(m, "create"),
        requests(m, "get"),
        requests(m, "delete"),
    );
    let create_errors: u64 = errors(m, "create").iter().map(|(_, n)| n).sum();
    let get_errors: u64 = errors(m, "get").iter().map(|(_, n)| n).sum();
    assert!(
        create_errors > 0 && get_errors > 0,
        "{create_errors} {get_errors}"
    );
    // An iteration fails at a create (it ends at once: no id, nothing to delete) or at a
    // read (its teardown still deletes the item); every other one that finished succeeded.
    // Only iterations cut off by the end of the run (at most one per user) are in neither
    // count.
    assert!(flow.failed <= create_errors + get_errors, "{flow:?}");
    assert!(flow.failed + 2 >= create_errors + get_errors, "{flow:?}");
    let deleted = deletes - errors(m, "delete").iter().map(|(_, n)| n).sum::<u64>();
    assert_eq!(
        flow.succeeded + (flow.failed - create_errors),
        deleted,
        "each delete ends an iteration: {flow:?}"
    );
    assert!(creates - create_errors - gets <= 2, "{creates} {gets}");
    // The teardown deleted exactly the items that were created, each once (at most one per
    // user was left by the end of the run).
    assert_eq!(items.wrong.load(Ordering::Relaxed), 0);
    let left = items.live.lock().unwrap().len();
    assert!(left <= 2, "{left} items were never deleted");
    // The duration of a succeeded iteration holds the read's think time.
    assert!(flow.duration.min() >= 5_000, "{}", flow.duration.min());
    assert_eq!(flow.duration.len(), flow.succeeded);
    let outcomes: Vec<(&str, &str)> = m
        .verdict
        .checks()
        .iter()
        .map(|c| (c.assertion.text.as_str(), c.outcome.label()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("flow.crud.success-rate > 40%", "PASS"),
            ("flow.success-rate > 99%", "FAIL"),
            ("flow.crud.duration.min >= 5ms", "PASS"),
            ("flow.iterations >= 10", "PASS"),
        ]
    );
    // The result file lists the flow's figures.
    let result: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("out/results/items/crud.json")).unwrap(),
    )
    .unwrap();
    let f = &result["course"]["flows"][0];
    assert_eq!(f["name"], "crud");
    assert_eq!(f["succeeded"], flow.succeeded);
    assert_eq!(f["failed"], flow.failed);
    assert!(
        f["duration_us"]["p95_us"].as_f64().unwrap() >= 5000.0,
        "{f}"
    );
    let table = perfspec::report::console::trial_table(&report);
    assert!(table.contains("iterations"), "{table}");
}

#[test]
fn a_captured_token_is_redacted_from_the_targets_log() {
    let dir = scratch("flows-secret");
    let text = r#"
        [target]
        command = ["{bin:testkit-target}", "--port", "{port}", "--issue-tokens", "--echo-credentials"]
        ready = "/health"
        [[request]]
        name = "login"
        method = "POST"
        path = "/login"
        [[request]]
        name = "work"
        path = "/"
        headers = { authorization = "Bearer {{user.token}}" }
        [[flow]]
        name = "session"
        setup = [{ request = "login", capture = { token = { json = "/token" } } }]
        steps = [{ request = "work" }]
        [scenario.s]
        load = { model = "closed", users = 2, think-time = "50ms" }
        duration = "1s"
        flows = ["session"]
        assert = ["errors == 0"]
    "#;
    let s = spec(&dir, "secret", text);
    let report = run(&dir, &s, "s");
    measured(&report);
    let log = std::fs::read_to_string(dir.join("out/logs/secret/s.log")).unwrap();
    assert!(
        log.contains("authorization: Bearer [REDACTED]"),
        "the target printed the header, redacted:\n{log}"
    );
    assert!(!log.contains("issued-secret"), "a token in the log:\n{log}");
    let result = std::fs::read_to_string(dir.join("out/results/secret/s.json")).unwrap();
    assert!(!result.contains("issued-secret"));
}
