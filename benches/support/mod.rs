//! Shared pieces of the benchmarks: options, a pinned server process, running a generator
//! process and reading its CPU time, output tables.
#![allow(dead_code)]

pub mod quiet;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Command-line options shared by the benchmarks.
#[derive(Clone)]
pub struct Opts {
    pub duration: Duration,
    pub connections: u32,
    pub repeat: u32,
    /// `canned` (a minimal server that answers every request head with fixed bytes, so the
    /// generator is the bottleneck) or `hyper` (a real HTTP server on one thread).
    pub server: String,
}

impl Opts {
    pub fn parse(args: &[String]) -> Opts {
        let value = |flag: &str, default: u64| -> u64 {
            args.iter()
                .position(|a| a == flag)
                .and_then(|i| args.get(i + 1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        let server = args
            .iter()
            .position(|a| a == "--server")
            .and_then(|i| args.get(i + 1))
            .cloned()
            .unwrap_or_else(|| "canned".into());
        Opts {
            duration: Duration::from_secs(value("--duration", 5)),
            connections: value("--connections", 64) as u32,
            repeat: value("--repeat", 3) as u32,
            server,
        }
    }
}

/// Whether `program` is on PATH.
pub fn has(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether processes can be pinned to separate CPUs here.
pub fn can_pin() -> bool {
    std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2) && has("taskset")
}

/// A command pinned to `cpu` when possible.
pub fn pinned(cpu: u32, program: &Path) -> Command {
    if can_pin() {
        let mut c = Command::new("taskset");
        c.arg("-c").arg(cpu.to_string()).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// The benchmark server: `testkit-target` (hyper, one thread), pinned to CPU 1.
pub struct Target {
    child: Child,
    port: u16,
    scheme: &'static str,
}

impl Target {
    pub fn start(opts: &Opts) -> Target {
        Target::start_with(opts, &[])
    }

    /// [`Target::start`] with more `testkit-target` arguments (`--tls DIR`); an https url
    /// when `--tls` is among them.
    pub fn start_with(opts: &Opts, extra: &[&str]) -> Target {
        let bin = perfspec::workspace_bin("testkit-target", Path::new(env!("CARGO_MANIFEST_DIR")))
            .expect("build testkit-target");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = pinned(1, &bin);
        cmd.args(["--port", &port.to_string()]);
        if opts.server == "canned" {
            cmd.arg("--canned");
        }
        cmd.args(extra);
        let child = cmd
            .stderr(Stdio::null())
            .spawn()
            .expect("start testkit-target");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "testkit-target did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        let scheme = if extra.contains(&"--tls") {
            "https"
        } else {
            "http"
        };
        Target {
            child,
            port,
            scheme,
        }
    }

    pub fn url(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme, self.port)
    }

    /// The server process (`taskset` execs it, so the pid is the server's).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One generator run: its rate, the requests it completed, the CPU time its process used,
/// and how much CPU other processes took meanwhile.
#[derive(Debug, Clone)]
pub struct Measured {
    pub rate: f64,
    pub completed: f64,
    pub cpu_s: f64,
    pub wall_s: f64,
    /// CPU other processes (not the generator, not the server) used during the run, in cores.
    pub others: f64,
    /// The generator's own output.
    pub out: String,
    /// The round it ran in (from 1), where runs are interleaved in rounds; 0 otherwise.
    pub round: u32,
}

impl Measured {
    /// CPU µs the generator process spent per completed request (everything it did, start-up
    /// included, over what it completed).
    pub fn cpu_us_per_request(&self) -> f64 {
        self.cpu_s * 1e6 / self.completed.max(1.0)
    }
}

/// Reads a generator's requests per second and completed requests from its output.
pub type Reader = Box<dyn Fn(&str) -> Option<(f64, f64)>>;

/// Runs `cmd` to the end, reads its stdout, and measures its CPU time (user + system, from
/// `wait4`) and what other processes took meanwhile (`server`'s CPU is the measured
/// server's, not contamination); `read` extracts the rate and completed requests.
pub fn run_measured(
    mut cmd: Command,
    read: &dyn Fn(&str) -> Option<(f64, f64)>,
    server: Option<u32>,
) -> Option<Measured> {
    let server_cpu = || server.and_then(quiet::process_cpu_s).unwrap_or(0.0);
    let (contamination, server0) = (quiet::Contamination::start(), server_cpu());
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut out = String::new();
    child.stdout.take()?.read_to_string(&mut out).ok()?;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid out-parameter for wait4.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child, with valid pointers.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let wall_s = start.elapsed().as_secs_f64();
    if pid <= 0 {
        return None;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let cpu_s = secs(usage.ru_utime) + secs(usage.ru_stime);
    let others = contamination.others(cpu_s + server_cpu() - server0);
    let read = read(&out).filter(|(r, _)| *r > 0.0);
    if read.is_none() {
        eprintln!("  could not read a rate from:\n{out}");
    }
    let (rate, completed) = read?;
    Some(Measured {
        rate,
        completed,
        cpu_s,
        wall_s,
        others,
        out,
        round: 0,
    })
}

/// CPU time of this process so far, seconds.
pub fn cpu_of_self() -> f64 {
    // SAFETY: a zeroed rusage is a valid out-parameter for getrusage.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// Peak resident memory of this process (VmHWM), KiB.
pub fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// A number field of a one-line JSON object.
pub fn json_field(out: &str, field: &str) -> Option<f64> {
    json_path(out, &[field])
}

/// A number at a path of a JSON document (the last JSON line of `out`).
pub fn json_path(out: &str, path: &[&str]) -> Option<f64> {
    let start = out.find('{')?;
    let v: serde_json::Value = serde_json::from_str(out[start..].trim()).ok()?;
    path.iter().try_fold(&v, |v, k| v.get(k))?.as_f64()
}

/// `Requests/sec:  123456.78` and `1234567 requests in 10.00s` from wrk's output.
pub fn wrk_rate(out: &str) -> Option<(f64, f64)> {
    let rate = out
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())?;
    let completed = out
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse().ok())?;
    Some((rate, completed))
}

/// oha's JSON: requests per second, and the responses by status code.
pub fn oha_rate(out: &str) -> Option<(f64, f64)> {
    let start = out.find('{')?;
    let v: serde_json::Value = serde_json::from_str(out[start..].trim()).ok()?;
    let rate = v.pointer("/summary/requestsPerSec")?.as_f64()?;
    let completed = v
        .get("statusCodeDistribution")?
        .as_object()?
        .values()
        .filter_map(|n| n.as_f64())
        .sum();
    Some((rate, completed))
}

/// The median of `v` (sorted in place).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A Markdown table of generators: median and best of their rounds, and the contamination.
pub fn table(rows: &[(&str, Vec<Measured>)]) -> String {
    let mut s = String::from(
        "| generator | requests/s, median | requests/s, best | CPU per completed request, median | requests/s per generator core | others' CPU during its runs |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for (name, runs) in rows {
        if runs.is_empty() {
            s.push_str(&format!("| {name} | failed | - | - | - | - |\n"));
            continue;
        }
        let mut rates: Vec<f64> = runs.iter().map(|m| m.rate).collect();
        let mut cpu: Vec<f64> = runs.iter().map(Measured::cpu_us_per_request).collect();
        let worst_others = runs.iter().map(|m| m.others).fold(0.0, f64::max);
        let best = rates.iter().copied().fold(0.0, f64::max);
        let (rate, cpu) = (median(&mut rates), median(&mut cpu));
        s.push_str(&format!(
            "| {name} | {rate:.0} | {best:.0} | {cpu:.2} µs | {:.0} | up to {:.0}% of a core |\n",
            1e6 / cpu,
            worst_others * 100.0
        ));
    }
    s
}

/// Writes a figure file under `target/perfspec/bench/`.
pub fn save(name: &str, text: &str) {
    let dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/perfspec/bench");
    let _ = std::fs::create_dir_all(&dir);
    let _ = perfspec::files::write_atomic(&dir.join(name), text.as_bytes());
    eprintln!("figures written to {}", dir.join(name).display());
}

/// The generator child of the benchmarks: `BENCH --child SPEC_FILE SCENARIO THREADS` runs one
/// scenario and prints one JSON line with what the generator did.
pub fn child(args: &[String]) {
    let (path, scenario, threads) = (Path::new(&args[0]), &args[1], args[2].parse().unwrap_or(1));
    let spec = perfspec::spec::Spec::load(path).expect("bench spec");
    let out = path.with_extension("out");
    let cpu0 = cpu_of_self();
    let report = perfspec::Harness::new()
        .generator_threads(threads)
        .out_dir(&out)
        .run_scenario(&spec, scenario)
        .expect("scenario");
    let cpu = cpu_of_self() - cpu0;
    let m = &report.outcome.as_ref().expect("measured").measurement;
    let g = &m.generator;
    let late = |q: f64| {
        g.lateness
            .as_ref()
            .map_or(-1.0, |h| h.value_at_quantile(q) as f64)
    };
    println!(
        "{{\"requests\": {}, \"errors\": {}, \"sent\": {}, \"dropped\": {}, \"requested\": {}, \"lateness_p50_us\": {}, \"lateness_p99_us\": {}, \"lateness_p999_us\": {}, \"cpu_s\": {cpu:.4}, \"peak_rss_kib\": {}, \"window_s\": {:.3}}}",
        m.total().requests(),
        m.total().error_count(),
        g.sent,
        g.dropped,
        g.requested.map_or(-1, |r| r as i64),
        late(0.5),
        late(0.99),
        late(0.999),
        peak_rss_kib(),
        m.window.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&out);
}

/// Writes `text` as a spec file in a fresh temporary folder and returns its path.
pub fn spec_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("perfspec-bench-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).expect("spec file");
    path
}
