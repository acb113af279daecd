//! A flow of two-turn chats, run as two shards and merged: the merged flow and turn figures
//! are the shards' sums, and the merge decides `flow.*` and `in turn N` assertions (each way)
//! instead of reporting them unmeasured.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use testkit::{Server, chat_stream, sse};

use super::common::{perf_binary, scratch};
use super::{all_output, assert_valid, json, merge, merger, run_shards, shard_path};

const SHARDS: u32 = 2;

/// Every reply streams `w0 w1 w2 `: the first token at 2 ms, the last at 4 ms.
fn chat_server() -> Server {
    Server::http(2, |_| async {
        let ms = Duration::from_millis;
        sse(chat_stream(ms(2), ms(1), 3, true))
    })
}

/// The assertions, in order, and whether the merge must pass them: a succeeded iteration is
/// two replies (at least 8 ms), no turn's first token comes before 2 ms.
const ASSERT: [(&str, &str); 6] = [
    ("flow.talk.success-rate > 99%", "pass"),
    ("flow.iterations >= 20", "pass"),
    ("flow.talk.duration.min > 6ms", "pass"),
    ("flow.duration.p50 < 1ms", "fail"),
    ("ttft.p50 in turn 2 > 1ms", "pass"),
    ("ttft.p50 in turn 2 < 1ms", "fail"),
];

fn write_spec(dir: &Path, url: &str) -> std::path::PathBuf {
    let specs = dir.join("specs");
    std::fs::create_dir_all(&specs).unwrap();
    std::fs::write(specs.join("lines.txt"), "first question\nsecond one\n").unwrap();
    let assert: Vec<String> = ASSERT.iter().map(|(a, _)| format!("{a:?}")).collect();
    let text = format!(
        r#"[target]
url = "{url}"

[[request]]
name = "chat"
method = "POST"
path = "/v1/chat/completions"
json = {{ stream = true, messages = "{{{{user.messages}}}}" }}
stream = "sse"

[data]
line = {{ file = "lines.txt" }}

[[flow]]
name = "talk"
steps = [{{ request = "chat", turns = 2, prompt = "line", system = "Be brief." }}]

[scenario.talk]
load = {{ model = "closed", users = 4 }}
warmup = "1s"
duration = "2s"
graceful-stop = "1s"
flows = ["talk"]
assert = [{}]
"#,
        assert.join(", ")
    );
    std::fs::write(specs.join("chats.toml"), text).unwrap();
    specs
}

#[test]
fn flows_and_turns_of_shards_add_up_and_decide_their_assertions() {
    let server = chat_server();
    let dir = scratch("sharding-flows");
    let specs = write_spec(&dir, &server.url());
    let out = dir.join("shards");
    for o in run_shards(&perf_binary(), &specs, &out, "chats::talk", SHARDS) {
        // The shards pass: the failing assertions are the merge's to decide.
        assert!(o.status.success(), "{}", all_output(&o));
    }
    let shards: Vec<Value> = (1..=SHARDS)
        .map(|k| json(&shard_path(&out, k, SHARDS, "chats", "talk")))
        .collect();
    for s in &shards {
        assert_valid("shard.schema.json", s);
    }
    let merged_out = dir.join("merged");
    merge(std::slice::from_ref(&out), &merger(&specs, &merged_out)).unwrap();
    let result = json(&merged_out.join("results/chats/talk.json"));
    assert_valid("result.schema.json", &result);

    // The flow's counts are the shards' sums, each shard having run some of them.
    let of_shards = |read: &dyn Fn(&Value) -> u64| -> Vec<u64> {
        shards.iter().map(|s| read(&s["measurement"])).collect()
    };
    let flow = &result["course"]["flows"][0];
    assert_eq!(flow["name"], "talk");
    for field in ["succeeded", "failed"] {
        let each = of_shards(&|m| m["flows"][0][field].as_u64().unwrap());
        assert_eq!(flow[field], each.iter().sum::<u64>(), "{field}: {each:?}");
    }
    let succeeded = of_shards(&|m| m["flows"][0]["succeeded"].as_u64().unwrap());
    assert!(succeeded.iter().all(|&n| n > 0), "{succeeded:?}");
    // So are each turn's.
    let turns = result["course"]["turns"].as_array().unwrap();
    assert_eq!(turns.len(), 2, "{turns:?}");
    for (i, turn) in turns.iter().enumerate() {
        assert_eq!(turn["turn"], i + 1);
        let ok = of_shards(&|m| {
            m["turns"][i]["measurement"]["requests"][0]["ok"]
                .as_u64()
                .unwrap()
        });
        assert_eq!(
            turn["requests"][0]["ok"],
            ok.iter().sum::<u64>(),
            "turn {i}"
        );
    }

    // The merge decides every flow and turn assertion, each the way it must go.
    let outcomes: Vec<(&str, &str)> = result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["assertion"].as_str().unwrap(),
                c["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(outcomes, ASSERT, "{:#}", result["checks"]);
    assert_eq!(result["status"], "fail");
}
