//! The HTML report as a browser shows it: a report of real runs (an in-process server on
//! 127.0.0.1:0, closed and open model, some errors) plus hand-built trials (resource series,
//! a baseline, a trial that could not measure, a broken spec) is opened in headless Chromium.
//! It must log nothing to the console (no script errors, no blocked fetch: the page's CSP
//! forbids every fetch, so any attempt shows), every chart must have drawn lines, and a
//! screenshot is saved under `target/tmp/html-report/report.png` for people to look at.
//!
//! Without Chromium the test is skipped with a message, unless `CI` is set: CI installs it
//! (`.ci/run`), so there a missing browser is a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use common::{fixtures, spec};
use perfspec::Harness;
use perfspec::report::{BrokenSpec, RunReport, html};
use testkit::{Server, text};

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PERFSPEC_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
    .find(|p| p.is_file())
}

/// Runs Chromium headless on `page` with `args`; returns (stdout, stderr).
fn browse(chromium: &Path, profile: &Path, page: &Path, args: &[&str]) -> (String, String) {
    let _ = std::fs::remove_dir_all(profile);
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    // Read both pipes on threads so a chatty browser never blocks on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).ok();
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut err, &mut s).ok();
        s
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (out.join().unwrap(), err.join().unwrap())
}

/// A server with latency growing over each second and one request in fifty failing.
fn server() -> Server {
    let count = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    Server::http(1, move |_| {
        let n = count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        async move {
            tokio::time::sleep(Duration::from_micros(200 + (n * 37) % 3_000)).await;
            if n % 50 == 7 {
                text(503, "busy")
            } else {
                text(200, "ok")
            }
        }
    })
}

fn real_trials(dir: &Path) -> Vec<perfspec::report::TrialReport> {
    let server = server();
    let text = format!(
        r#"
        [target]
        url = "{}"
        [[request]]
        name = "search"
        path = "/search"
        weight = 4
        [[request]]
        name = "health"
        path = "/health"
        [scenario.closed]
        load = {{ model = "closed", users = 4, think-time = "1ms..3ms" }}
        warmup = "1s"
        duration = "2s"
        assert = ["p95 < 50ms", "search.p99 < 2ms", "error-rate < 5%", "throughput > 100/s"]
        [scenario.open]
        load = {{ model = "open", rate = "300/s", max-users = 32 }}
        warmup = "1s"
        duration = "2s"
        assert = ["p99 < 100ms", "error-rate < 1%"]
        "#,
        server.url()
    );
    let s = spec(dir, "demo", &text);
    let h = Harness::new().out_dir(dir.join("out"));
    ["closed", "open"]
        .iter()
        .map(|name| h.run_scenario(&s, name).unwrap())
        .collect()
}

/// The probe: per chart, its lines and how many have a drawn path, and its size on screen.
const PROBE: &str = r#"<pre id="probe"></pre><script>
document.getElementById('probe').textContent = JSON.stringify(
  [...document.querySelectorAll('svg.chart')].map(svg => {
    const lines = [...svg.querySelectorAll('path.line')];
    const box = svg.getBoundingClientRect();
    return {
      title: svg.getAttribute('aria-label'),
      lines: lines.length,
      drawn: lines.filter(p => (p.getAttribute('d') || '').length > 0 && p.getTotalLength() > 0).length,
      width: Math.round(box.width),
      height: Math.round(box.height),
    };
  }));
</script>"#;

#[test]
fn the_html_report_renders_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is required under CI: apt-get install -y chromium (or set PERFSPEC_CHROMIUM)"
        );
        eprintln!(
            "SKIPPED the_html_report_renders_in_headless_chromium: no chromium on PATH (apt-get install -y chromium, or set PERFSPEC_CHROMIUM)"
        );
        return;
    };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("html-report");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    let mut trials = real_trials(&dir);
    trials.push(fixtures::failing());
    trials.push(fixtures::unmeasured());
    let run = RunReport {
        started_at: SystemTime::now(),
        trials,
        broken: vec![BrokenSpec {
            name: "broken".into(),
            error: "error: `weight` 0 <is not allowed>".into(),
        }],
    };
    let page = html::render(&run);
    let report = dir.join("report.html");
    std::fs::write(&report, &page).unwrap();

    // The page itself: nothing on the console, and a screenshot.
    let png = dir.join("report.png");
    let (_, log) = browse(
        &chromium,
        &dir.join("profile"),
        &report,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1400,3000",
        ],
    );
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(
        console.is_empty(),
        "console messages:\n{}",
        console.join("\n")
    );
    let size = std::fs::metadata(&png).map_or(0, |m| m.len());
    assert!(
        size > 20_000,
        "screenshot {} has {size} bytes\n{log}",
        png.display()
    );
    eprintln!("screenshot: {}", png.display());

    // A copy with the probe (and a CSP that lets this one inline script run).
    let probed = page
        .replace(
            "default-src 'none';",
            "default-src 'none'; script-src 'unsafe-inline';",
        )
        .replace("</main>", &format!("</main>{PROBE}"));
    let probe_page = dir.join("probe.html");
    std::fs::write(&probe_page, probed).unwrap();
    let (dom, log) = browse(
        &chromium,
        &dir.join("profile"),
        &probe_page,
        &["--dump-dom", "--window-size=1400,3000"],
    );
    let json = dom
        .split_once("<pre id=\"probe\">")
        .and_then(|(_, rest)| rest.split_once("</pre>"))
        .map(|(json, _)| {
            json.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
        })
        .unwrap_or_else(|| panic!("no probe output in the DOM\n{log}"));
    let charts: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    // closed, open (real runs): 3 charts each, plus the sampled resources: CPU and memory of
    // the target (the in-process server, found by its port) and the machine's CPU; failing
    // (hand-built): 3 + CPU + memory; unmeasured: none.
    assert_eq!(charts.len(), 17, "{json}");
    for c in &charts {
        assert!(
            c["lines"].as_u64().unwrap() >= 1,
            "a chart without lines: {c}"
        );
        assert_eq!(c["drawn"], c["lines"], "a line with nothing drawn: {c}");
        assert!(c["width"].as_u64().unwrap() >= 400, "too narrow: {c}");
        assert!(c["height"].as_u64().unwrap() >= 150, "too flat: {c}");
    }
}
