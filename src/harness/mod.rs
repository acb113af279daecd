//! libtest-mimic glue: discover the specs, make one trial per scenario (`SPEC::SCENARIO`), run
//! them one at a time, and print a summary at the end.

mod ab;
mod config;
mod export;
mod finish;
mod gate;
mod hint;
mod sharding;
mod signals;
mod trial;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use libtest_mimic::{Arguments, Conclusion, Failed, Trial};

#[cfg(feature = "commands")]
pub(crate) use sharding::merged_trial;

pub(crate) use config::Config;
use config::{display_path, spec_files, target_dir};

use crate::report::progress::Layout;
use crate::report::{BrokenSpec, RunReport, TrialReport, artifacts, console};
use crate::spec::Spec;

/// The perf test harness: `fn main() { perfspec::Harness::new().run() }` in `tests/perf.rs`.
#[derive(Debug, Clone)]
pub struct Harness {
    specs_dir: PathBuf,
    config: Config,
}

impl Default for Harness {
    fn default() -> Self {
        Harness::new()
    }
}

impl Harness {
    /// Reads `perf-specs/` of the package under test and writes to `target/perfspec/`.
    /// `PERFSPEC_SPECS` and `PERFSPEC_OUT` override the two folders.
    pub fn new() -> Harness {
        let workspace = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_else(|| PathBuf::from("."));
        // An empty variable is unset (`PERFSPEC_OUT= cargo test` must not write into `.`).
        let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
        let specs_dir =
            var("PERFSPEC_SPECS").map_or_else(|| workspace.join("perf-specs"), PathBuf::from);
        let out_dir = var("PERFSPEC_OUT")
            .map_or_else(|| target_dir(&workspace).join("perfspec"), PathBuf::from);
        let allow_remote = crate::spec::Context::default().allows_remote();
        let live = var("PERFSPEC_LIVE").map(|v| v.to_string_lossy().into_owned());
        let push = var("PERFSPEC_PUSH").map(|v| v.to_string_lossy().into_owned());
        let shard = sharding::settings(&sharding::Flags::default());
        let threads = std::env::var("PERFSPEC_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&n| n > 0);
        Harness {
            specs_dir,
            config: Config {
                out_dir,
                allow_remote,
                threads,
                bless: gate::Bless::from_env(),
                ab: ab::Ab::from_env(),
                ci: std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0"),
                baselines: crate::baseline::dir(&workspace),
                profile: crate::baseline::profile(),
                components: Default::default(),
                workspace,
                gpu: std::sync::Arc::new(crate::resources::Nvml),
                progress: Arc::default(),
                live: Arc::new(export::LiveSlot::new(live)),
                push: export::destination(push, allow_remote),
                slots: Arc::new(crate::shard::StartSlots::new(start_of(&shard))),
                shard,
            },
        }
    }

    /// Reads specs from `dir` instead.
    pub fn specs_dir(mut self, dir: impl Into<PathBuf>) -> Harness {
        self.specs_dir = dir.into();
        self
    }

    /// Writes artifacts to `dir` instead.
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Harness {
        self.config.out_dir = dir.into();
        self
    }

    /// Registers an async function as component `name`: a spec with
    /// `[target] component = "NAME"` loads it in process, with its requests' `json` as input.
    ///
    /// ```no_run
    /// perfspec::Harness::new()
    ///     .component("double", |input: serde_json::Value| async move {
    ///         Ok::<_, String>(serde_json::json!(input["x"].as_i64().unwrap_or(0) * 2))
    ///     })
    ///     .run()
    /// ```
    pub fn component<F, Fut, E>(mut self, name: &str, f: F) -> Harness
    where
        F: Fn(serde_json::Value) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<serde_json::Value, E>> + Send + 'static,
        E: std::fmt::Display,
    {
        self.config
            .components
            .insert(name.to_string(), crate::component::Component::new(f));
        self
    }

    /// Reads and writes baselines in `dir` instead of `baselines/` (`PERFSPEC_BASELINES`).
    pub fn baselines_dir(mut self, dir: impl Into<PathBuf>) -> Harness {
        self.config.baselines = dir.into();
        self
    }

    /// Takes `dir` as the package folder (`CARGO_MANIFEST_DIR` by default): where
    /// `{bin:NAME}` is built and where hints look for a cargo `xtask` alias.
    pub fn workspace(mut self, dir: impl Into<PathBuf>) -> Harness {
        self.config.workspace = dir.into();
        self
    }

    /// Blesses baselines from `runs` runs instead of comparing with them (`PERFSPEC_BLESS`);
    /// `force` blesses runs that fail their assertions too.
    pub fn bless(mut self, runs: u32, force: bool) -> Harness {
        self.config.bless = Some(gate::Bless {
            runs: runs.max(1),
            force,
        });
        self
    }

    /// Behaves as under CI (`CI` set) or not: under CI a gated scenario needs its baseline.
    pub fn ci(mut self, ci: bool) -> Harness {
        self.config.ci = ci;
        self
    }

    /// Runs the load generator on `threads` worker threads (default: one per CPU;
    /// `PERFSPEC_THREADS` sets it from the environment).
    pub fn generator_threads(mut self, threads: usize) -> Harness {
        self.config.threads = Some(threads.max(1));
        self
    }

    /// Serves the live OpenMetrics endpoint at `addr` while trials run (`PERFSPEC_LIVE`,
    /// `--live[=ADDR]`): `"1"` for a free loopback port, a port, or `HOST:PORT`.
    pub fn live(mut self, addr: &str) -> Harness {
        self.config.live = Arc::new(export::LiveSlot::new(Some(addr.to_string())));
        self
    }

    /// Starts the live endpoint now (it otherwise starts with the first trial) and returns
    /// its address; `None` when it was not asked for.
    pub fn live_address(&self) -> Option<Result<std::net::SocketAddr, String>> {
        self.config
            .live
            .server(self.config.allow_remote)
            .map(|s| s.map(|s| s.addr()))
    }

    /// Pushes each trial's final figures to the Prometheus remote-write `url`
    /// (`PERFSPEC_PUSH`, `--push URL`), labelled with the commit (`PERFSPEC_COMMIT`, else
    /// `git rev-parse HEAD`).
    pub fn push(mut self, url: &str) -> Harness {
        self.config.push = export::destination(Some(url.to_string()), self.config.allow_remote);
        self
    }

    /// Runs shard `run.shard` of every selected scenario (`PERFSPEC_SHARD=K/N`, `--shard
    /// K/N`), starting together with the other shards at `run.start_at`
    /// (`PERFSPEC_START_AT`); each trial writes a shard file for
    /// `perfspec::commands::merge` instead of judging its part of the load.
    pub fn shard(mut self, run: crate::shard::ShardRun) -> Harness {
        self.config.slots = Arc::new(crate::shard::StartSlots::new(run.start_at));
        self.config.shard = Some(Ok(run));
        self
    }

    /// The spec folder and the settings of this harness, for a merge of shards.
    #[cfg_attr(not(feature = "commands"), allow(dead_code))]
    pub(crate) fn parts(&self) -> (&Path, &Config) {
        (&self.specs_dir, &self.config)
    }

    /// Reads GPUs from `gpu` instead of NVML (a [`crate::resources::FakeGpu`] in tests).
    pub fn gpu(mut self, gpu: std::sync::Arc<dyn crate::resources::Gpu>) -> Harness {
        self.config.gpu = gpu;
        self
    }

    /// Parses the command line, runs the selected trials and exits with libtest's code. As the
    /// process's own run, it shows the live progress line while a scenario runs (when stderr
    /// is a terminal) and appends the Markdown summary to `$GITHUB_STEP_SUMMARY` (when set).
    pub fn run(mut self) -> ! {
        signals::install();
        let (args, live, push) = export::take_flags(std::env::args().collect());
        let (args, shard_flags) = sharding::take_flags(args);
        if shard_flags.any() {
            let shard = sharding::settings(&shard_flags);
            self.config.slots = Arc::new(crate::shard::StartSlots::new(start_of(&shard)));
            self.config.shard = shard;
        }
        if let Some(addr) = live {
            self = self.live(&addr);
        }
        if let Some(url) = push {
            self = self.push(&url);
        }
        let args = Arguments::from_iter(args);
        let conclusion = self.execute(args, true);
        signals::exit_if_interrupted();
        conclusion.exit()
    }

    /// Runs with the given arguments (one trial at a time unless `--test-threads` says
    /// otherwise), then writes the run's reports (index, Markdown summary, JUnit, HTML) and
    /// prints the summary of what ran. Neither progress line nor step summary: the caller owns
    /// the terminal and the CI job (a test of its own, say). Reports that cannot be written
    /// count as one more failed test in the conclusion.
    pub fn run_with(self, args: Arguments) -> Conclusion {
        self.execute(args, false)
    }

    fn execute(self, mut args: Arguments, main: bool) -> Conclusion {
        // Trials compete for the same CPUs; parallel trials would measure each other.
        if args.test_threads.is_none() {
            args.test_threads = Some(1);
        }
        let run = Arc::new(Mutex::new(RunReport {
            started_at: SystemTime::now(),
            trials: Vec::new(),
            broken: Vec::new(),
        }));
        let trials = self.trials_into(run.clone());
        if main && args.test_threads == Some(1) && !args.list {
            let longest = trials.iter().map(|t| t.name().chars().count()).max();
            if let Some(layout) = Layout::detect(longest.unwrap_or(0)) {
                let _ = self.config.progress.set(layout);
            }
        }
        if main && !args.list {
            // Debug assertions in the generator cost it time, which its own overhead check
            // sees; only an unoptimised generator gets the warning (dev profiles keep
            // assertions on in dependencies unless told otherwise).
            let generator = crate::provenance::Build::generator();
            if let Some(w) = generator.warning("the load generator (perfspec)", false) {
                eprintln!("{w}");
            }
        }
        let skipped = skipped_ignored(&args, &trials);
        let mut conclusion = libtest_mimic::run(&args, trials);
        let run = run.lock().unwrap_or_else(|p| p.into_inner());
        if args.list || run.is_empty() {
            return conclusion;
        }
        let step_summary = main
            .then(|| std::env::var_os("GITHUB_STEP_SUMMARY").map(PathBuf::from))
            .flatten();
        let written =
            artifacts::write_with_skipped(&run, &skipped, &self.config.out_dir, step_summary);
        eprint!(
            "{}{}",
            console::summary(&run),
            crate::report::gate::baseline_notes(&run.trials)
        );
        eprint!(
            "{}",
            console::artifacts(&written, |p| display_path(p, &self.config.workspace))
        );
        if !written.errors.is_empty() {
            // CI must not pass a run whose JUnit or summary is missing: one more failure.
            eprintln!(
                "perfspec: the run fails: {} of its reports could not be written (above)",
                written.errors.len()
            );
            conclusion.num_failed += 1;
        }
        conclusion
    }

    /// Runs scenario `name` of `spec` now, outside libtest, writing its result file like a
    /// trial does. `None` when the spec has no such scenario.
    pub fn run_scenario(&self, spec: &Spec, name: &str) -> Option<TrialReport> {
        let index = spec.scenarios.iter().position(|s| s.name == name)?;
        Some(trial::run(spec, index, &self.config))
    }

    /// The trials of every spec, in file order (for listing and tests).
    pub fn trials(&self) -> Vec<Trial> {
        self.trials_into(Arc::new(Mutex::new(RunReport {
            started_at: SystemTime::now(),
            trials: Vec::new(),
            broken: Vec::new(),
        })))
    }

    fn trials_into(&self, run: Arc<Mutex<RunReport>>) -> Vec<Trial> {
        let config = Arc::new(self.config.clone());
        let mut trials = Vec::new();
        for path in spec_files(&self.specs_dir) {
            let shown = display_path(&path, &self.config.workspace);
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let spec = match std::fs::read(&path) {
                Err(e) => Err(format!("{}: cannot read the spec: {e}", shown.display())),
                Ok(bytes) => {
                    let cx = crate::spec::Context {
                        display_path: Some(shown.clone()),
                        ..Default::default()
                    };
                    Spec::parse_bytes(&bytes, &path, &cx).map_err(|e| e.to_string())
                }
            };
            match spec {
                Err(message) => trials.push(broken(stem, message, run.clone())),
                Ok(spec) => {
                    let spec = Arc::new(spec);
                    for (i, scenario) in spec.scenarios.iter().enumerate() {
                        let (spec, config, run) = (spec.clone(), config.clone(), run.clone());
                        let name = format!("{}::{}", spec.name, scenario.name);
                        let ignored = scenario.ignore;
                        trials.push(
                            Trial::test(name, move || {
                                let report = trial::run(&spec, i, &config);
                                let outcome = trial::outcome(&report);
                                run.lock()
                                    .unwrap_or_else(|p| p.into_inner())
                                    .trials
                                    .push(report);
                                outcome
                            })
                            .with_ignored_flag(ignored),
                        );
                    }
                }
            }
        }
        if !self.specs_dir.is_dir() {
            let dir = self.specs_dir.display().to_string();
            trials.push(broken(
                "perf-specs".into(),
                format!("no spec folder at {dir}: create it and add a spec (see the README), or set PERFSPEC_SPECS"),
                run,
            ));
        }
        trials
    }
}

/// The common start of a valid shard setting.
fn start_of(shard: &Option<Result<crate::shard::ShardRun, String>>) -> Option<SystemTime> {
    shard.as_ref()?.as_ref().ok()?.start_at
}

/// The names of the ignored trials this run selects (libtest's filter) but does not run (no
/// `--ignored` or `--include-ignored`).
fn skipped_ignored(args: &Arguments, trials: &[Trial]) -> Vec<String> {
    if args.ignored || args.include_ignored {
        return Vec::new();
    }
    trials
        .iter()
        .filter(|t| t.has_ignored_flag() && !args.is_filtered_out(t))
        .map(|t| t.name().to_string())
        .collect()
}

/// The trial of a spec that cannot run: it fails with `message`, and the run's reports list it.
fn broken(name: String, message: String, run: Arc<Mutex<RunReport>>) -> Trial {
    Trial::test(name.clone(), move || {
        run.lock()
            .unwrap_or_else(|p| p.into_inner())
            .broken
            .push(BrokenSpec {
                name,
                error: message.clone(),
            });
        Err(Failed::from(message))
    })
}
