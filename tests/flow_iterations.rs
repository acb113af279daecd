//! Flow iterations end to end over loopback: counted, timed and cleaned up by their
//! teardown against a server that fails some creates and reads, and a captured token kept out
//! of the target's log.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{measured, request_count as requests, request_errors as errors, run, scratch, spec};
use testkit::{Server, text};

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
