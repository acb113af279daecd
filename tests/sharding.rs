//! Sharded load on loopback: three processes of the perf binary, each one shard
//! (`PERFSPEC_SHARD=K/3`) of the same scenarios from a common start, against one server on
//! 127.0.0.1:0; then `perfspec::commands::merge`. Merged counts are the shards' sums, the open
//! schedule's union is the requested schedule, percentiles match a one-process run within
//! noise, the verdict comes from the merge, and bad shards are errors naming their files;
//! flows and chat turns are added up and decide their assertions on the merge (`flows.rs`).

mod common;
// Flows and chat turns, sharded and merged (beside this file: the crate root's modules would
// be looked for in tests/, where flows.rs is a test of its own).
#[path = "sharding/flows.rs"]
mod flows;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{perf_binary, scratch};
use perfspec::Harness;
use perfspec::assertion::Stat;
use perfspec::commands::{MergeCommandError, merge};
use perfspec::shard::MergeError;
use serde_json::Value;
use testkit::{Server, text};

const SHARDS: u32 = 3;

fn server() -> Server {
    Server::http(2, |_| async {
        tokio::time::sleep(Duration::from_millis(2)).await;
        text(200, "ok")
    })
}

/// `open` passes; `closed` asks for a throughput no loopback run reaches: only the merge
/// can say so, the shards pass.
fn spec_text(url: &str) -> String {
    format!(
        r#"[target]
url = "{url}"

[[request]]
name = "r"
path = "/"

[scenario.open]
load = {{ model = "open", rate = "150/s", max-users = 30 }}
warmup = "1s"
duration = "2s"
graceful-stop = "1s"
assert = ["p95 < 5s", "errors == 0"]

[scenario.closed]
load = {{ model = "closed", users = 7 }}
warmup = "1s"
duration = "2s"
graceful-stop = "1s"
assert = ["throughput > 1000000/s"]
"#
    )
}

fn write_spec(dir: &Path, text: &str) -> PathBuf {
    let specs = dir.join("specs");
    std::fs::create_dir_all(&specs).unwrap();
    std::fs::write(specs.join("sharded.toml"), text).unwrap();
    specs
}

/// Unix seconds `secs` from now, with milliseconds.
fn start_in(secs: f64) -> String {
    let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    format!("{:.3}", t.as_secs_f64() + secs)
}

/// Runs all `shards` shards of trial `trial` (`SPEC::SCENARIO`) at once, each its own process
/// writing to `out/K`.
fn run_shards(perf: &Path, specs: &Path, out: &Path, trial: &str, shards: u32) -> Vec<Output> {
    let start = start_in(3.0);
    let children: Vec<_> = (1..=shards)
        .map(|k| {
            Command::new(perf)
                .args([trial, "--exact"])
                .args(["--shard", &format!("{k}/{shards}")])
                .env("PERFSPEC_SPECS", specs)
                .env("PERFSPEC_OUT", out.join(k.to_string()))
                .env("PERFSPEC_START_AT", &start)
                .env_remove("PERFSPEC_SHARD")
                .env_remove("GITHUB_STEP_SUMMARY")
                .env_remove("CI")
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("the perf binary starts")
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

fn all_output(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Shard `k` of `shards` of `spec::scenario`, run with `PERFSPEC_OUT=out/K`.
fn shard_path(out: &Path, k: u32, shards: u32, spec: &str, scenario: &str) -> PathBuf {
    out.join(k.to_string()).join(format!(
        "shards/{spec}/{scenario}/{k}-of-{shards}.shard.json"
    ))
}

fn shard_file(out: &Path, k: u32, name: &str) -> PathBuf {
    shard_path(out, k, SHARDS, "sharded", name)
}

/// Checks `instance` against `schema/NAME`.
fn assert_valid(name: &str, instance: &Value) {
    let v = testkit::schema_validator(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("schema")
            .join(name),
    );
    let errors: Vec<String> = v
        .iter_errors(instance)
        .map(|e| format!("  at {}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "not valid against {name}:\n{}",
        errors.join("\n")
    );
}

fn merger(specs: &Path, out: &Path) -> Harness {
    Harness::new()
        .specs_dir(specs)
        .out_dir(out)
        .baselines_dir(out.join("no-baselines"))
        .ci(false)
}

#[test]
fn shards_merge_exactly_into_one_verdict() {
    let server = server();
    let dir = scratch("sharding");
    let specs = write_spec(&dir, &spec_text(&server.url()));
    let perf = perf_binary();
    let out = dir.join("shards");

    for name in ["open", "closed"] {
        for o in run_shards(&perf, &specs, &out, &format!("sharded::{name}"), SHARDS) {
            // A shard passes unless it failed to run: `closed`'s assertion is the merge's.
            assert!(o.status.success(), "{name}: {}", all_output(&o));
        }
    }
    let shard = |k, name| json(&shard_file(&out, k, name));
    let starts: Vec<Value> = (1..=SHARDS)
        .map(|k| shard(k, "open")["start_at"].clone())
        .collect();
    assert!(
        starts.iter().all(|s| s == &starts[0] && s.is_string()),
        "{starts:?}"
    );
    // Only shard 1 sampled the target.
    let sampled: Vec<bool> = (1..=SHARDS)
        .map(|k| shard(k, "open")["sampled_target"].as_bool().unwrap())
        .collect();
    assert_eq!(sampled, [true, false, false]);
    for k in 1..=SHARDS {
        for name in ["open", "closed"] {
            assert_valid("shard.schema.json", &shard(k, name));
        }
    }

    let merged_out = dir.join("merged");
    let report = merge(std::slice::from_ref(&out), &merger(&specs, &merged_out)).unwrap();
    let status: Vec<(&str, u32, &str)> = report
        .scenarios
        .iter()
        .map(|s| (s.name.as_str(), s.shards, s.status))
        .collect();
    assert_eq!(
        status,
        [("sharded::closed", 3, "fail"), ("sharded::open", 3, "pass")]
    );
    assert!(!report.passed(), "a failed merged scenario fails the merge");
    assert!(report.write_errors.is_empty(), "{:?}", report.write_errors);
    for file in ["index.json", "junit.xml"] {
        assert!(merged_out.join(file).is_file(), "{file} written");
    }

    for name in ["open", "closed"] {
        let merged = json(&merged_out.join(format!("results/sharded/{name}.json")));
        assert_valid("result.schema.json", &merged);
    }

    // Open: the union of the shards is the schedule (150/s × 2 s measured), each shard
    // asked for its every third arrival, and the merged counts are the shards' sums.
    let open = json(&merged_out.join("results/sharded/open.json"));
    let requested: Vec<u64> = (1..=SHARDS)
        .map(|k| {
            shard(k, "open")["measurement"]["generator"]["requested"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(requested.iter().sum::<u64>(), 300, "{requested:?}");
    assert!(requested.iter().max().unwrap() - requested.iter().min().unwrap() <= 1);
    assert_eq!(open["generator"]["requested"], 300);
    let sent: u64 = (1..=SHARDS)
        .map(|k| {
            shard(k, "open")["measurement"]["generator"]["sent"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert_eq!(open["generator"]["sent"], sent);
    let ok_sum: u64 = (1..=SHARDS)
        .map(|k| {
            shard(k, "open")["measurement"]["requests"][0]["ok"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert_eq!(open["total"]["ok"], ok_sum);
    assert!(
        (290..=300).contains(&ok_sum),
        "{ok_sum} of 300 arrivals completed"
    );
    let timeline_ok: u64 = open["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["t_s"].as_i64().unwrap_or(-1) >= 0)
        .map(|s| s["ok"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(
        timeline_ok, ok_sum,
        "the merged timeline holds every measured request"
    );

    // Closed: 7 users as 3 + 2 + 2; the merged figures are the sums; the verdict is the
    // merge's (the throughput assertion fails on the merged result).
    let closed = json(&merged_out.join("results/sharded/closed.json"));
    let ok: u64 = (1..=SHARDS)
        .map(|k| {
            shard(k, "closed")["measurement"]["requests"][0]["ok"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert_eq!(closed["total"]["ok"], ok);
    assert_eq!(closed["checks"][0]["outcome"], "fail");
    assert_eq!(closed["status"], "fail");

    // Percentiles within noise of one process offering the same load.
    let single = merger(&specs, &dir.join("single"));
    let spec = perfspec::spec::Spec::parse(
        &spec_text(&server.url()),
        &specs.join("sharded.toml"),
        &Default::default(),
    )
    .unwrap();
    let one = single.run_scenario(&spec, "open").unwrap();
    let one = &one.outcome.as_ref().unwrap().measurement;
    let one_p50 = one.total().stat(Stat::Percentile(50.0)).unwrap();
    let merged_p50 = open["total"]["latency"]["p50_us"].as_f64().unwrap();
    // The server sleeps 2 ms: both medians are a little above it; a loaded machine adds a
    // few ms to either, so the bound is loose.
    assert!(
        (merged_p50 - one_p50).abs() < 8_000.0 && merged_p50 >= 2_000.0,
        "merged p50 {merged_p50} µs, one process {one_p50} µs"
    );
    assert_eq!(
        one.generator.requested,
        Some(300),
        "the one-process schedule is the same"
    );

    bad_input(&out, &specs, &dir);
}

fn bad_input(out: &Path, specs: &Path, dir: &Path) {
    let m = |inputs: &[PathBuf]| merge(inputs, &merger(specs, &dir.join("bad"))).unwrap_err();
    // A missing shard.
    let e = m(&[shard_file(out, 1, "open"), shard_file(out, 3, "open")]);
    assert!(
        matches!(&e, MergeCommandError::Shards(MergeError::Missing { missing, .. }) if missing == &[2])
    );
    assert!(e.to_string().contains("1-of-3.shard.json"), "{e}");
    // The same shard twice.
    let copy = dir.join("copy.shard.json");
    std::fs::copy(shard_file(out, 2, "open"), &copy).unwrap();
    let e = m(&[out.join("1"), out.join("2"), out.join("3"), copy.clone()]).to_string();
    assert!(
        e.contains("shard 2 twice") && e.contains("copy.shard.json"),
        "{e}"
    );
    // A shard of another run (another start).
    let text = std::fs::read_to_string(shard_file(out, 2, "open")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let other = text.replace(v["start_at"].as_str().unwrap(), "2020-01-01T00:00:00Z");
    std::fs::write(&copy, other).unwrap();
    let e = m(&[
        shard_file(out, 1, "open"),
        copy.clone(),
        shard_file(out, 3, "open"),
    ]);
    assert!(e.to_string().contains("differ in the start"), "{e}");
    // Not a shard file.
    std::fs::write(&copy, "{}").unwrap();
    let e = m(std::slice::from_ref(&copy)).to_string();
    assert!(
        e.contains("copy.shard.json") && e.contains("not a perfspec shard file"),
        "{e}"
    );
    // Nothing to merge.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert!(m(&[empty]).to_string().contains("no shard files"));
    // The spec changed since the shards ran.
    let changed = dir.join("changed");
    std::fs::create_dir_all(&changed).unwrap();
    let spec = std::fs::read_to_string(specs.join("sharded.toml")).unwrap();
    std::fs::write(
        changed.join("sharded.toml"),
        spec.replace("max-users = 30", "max-users = 31"),
    )
    .unwrap();
    let e = merge(
        &[out.join("1"), out.join("2"), out.join("3")],
        &merger(&changed, &dir.join("bad")),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("another version") && e.contains("sharded.toml"),
        "{e}"
    );
}

#[test]
fn bad_shard_settings_fail_every_trial_naming_the_variable() {
    let server = server();
    let dir = scratch("sharding-bad-env");
    let specs = write_spec(&dir, &spec_text(&server.url()));
    let perf = perf_binary();
    let run = |env: &[(&str, &str)]| {
        let mut c = Command::new(&perf);
        c.args(["sharded::open", "--exact"])
            .env("PERFSPEC_SPECS", &specs)
            .env("PERFSPEC_OUT", dir.join("out"))
            .env_remove("GITHUB_STEP_SUMMARY")
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    for (env, want) in [
        (
            vec![("PERFSPEC_SHARD", "4/3")],
            "PERFSPEC_SHARD: `4/3` is not a shard",
        ),
        (
            vec![
                ("PERFSPEC_SHARD", "1/3"),
                ("PERFSPEC_START_AT", "yesterday"),
            ],
            "PERFSPEC_START_AT: `yesterday` is not a time",
        ),
        (
            vec![
                ("PERFSPEC_SHARD", "1/3"),
                ("PERFSPEC_START_AT", "4102444800"),
            ],
            "more than the 600 s a shard waits",
        ),
        (vec![("PERFSPEC_START_AT", "4102444800")], "need a shard"),
    ] {
        let o = run(&env);
        assert!(!o.status.success(), "{env:?}");
        assert!(all_output(&o).contains(want), "{env:?}: {}", all_output(&o));
    }
}
