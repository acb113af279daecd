//! Shards of one scenario → one measurement, exactly: histograms added, counts summed,
//! timelines aligned by the wall-clock time of their seconds, phases and chat turns each added
//! up on their own, flows by name, the target's resources from the shard that sampled them.
//! Missing, duplicate or mismatched shards are errors naming files.
// Reading and merging shard files is the `commands` feature's (`perfspec::commands::merge`).
#![cfg_attr(not(feature = "commands"), allow(dead_code))]

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use super::file::ShardFile;
use crate::measure::{
    Course, FlowMeasurement, Liveness, Measurement, PhaseMeasurement, TurnMeasurement,
};

/// Why shards cannot be merged.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MergeError {
    /// A file could not be read as a shard file.
    #[error("{path}: {why}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// No shard file was found where the merge looked.
    #[error("no shard files (`*.shard.json`) in {}: run the shards with PERFSPEC_SHARD=K/N first, then merge their output folders", files(.0))]
    Nothing(Vec<PathBuf>),
    /// Shards are missing.
    #[error("{scenario}: {} of {count} missing (found: {})", shards_text(.missing), files(.found))]
    Missing {
        /// `SPEC::SCENARIO`.
        scenario: String,
        /// The shard indices not found.
        missing: Vec<u32>,
        /// How many shards the run had.
        count: u32,
        /// The files that were found.
        found: Vec<PathBuf>,
    },
    /// The same shard came twice.
    #[error("{scenario}: shard {shard} twice: {} and {}", .first.display(), .second.display())]
    Duplicate {
        /// `SPEC::SCENARIO`.
        scenario: String,
        /// The shard index.
        shard: u32,
        /// One file.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// Two shards disagree on what was run.
    #[error(transparent)]
    Mismatch(Box<Mismatch>),
}

/// Two shards of one scenario that disagree on what was run.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{scenario}: the shards differ in {what}: {} has {first_value}, {} has {second_value}{hint}", .first.display(), .second.display())]
pub struct Mismatch {
    /// `SPEC::SCENARIO`.
    pub scenario: String,
    /// What differs: `the shard count`, `the spec`, `the start`, `the requests`.
    pub what: &'static str,
    /// One file.
    pub first: PathBuf,
    /// Its value.
    pub first_value: String,
    /// The other file.
    pub second: PathBuf,
    /// Its value.
    pub second_value: String,
    /// What to do.
    pub hint: &'static str,
}

/// `shard 2` or `shards 2, 3`.
fn shards_text(ids: &[u32]) -> String {
    let list: Vec<String> = ids.iter().map(u32::to_string).collect();
    let s = if ids.len() == 1 { "" } else { "s" };
    format!("shard{s} {}", list.join(", "))
}

fn files(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "none".into();
    }
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The merged measurement of one scenario's shards, and what the shards reported.
#[derive(Debug)]
pub(crate) struct Combined {
    pub measurement: Measurement,
    /// Problems of the shards, each prefixed with its shard.
    pub problems: Vec<String>,
    /// How many shards.
    pub count: u32,
}

/// Checks that `shards` (all of one scenario) are shards 1..N of the same run exactly once,
/// then adds them up.
pub(crate) fn combine(mut shards: Vec<(PathBuf, ShardFile)>) -> Result<Combined, MergeError> {
    shards.sort_by_key(|(_, f)| f.shard);
    let (first_path, first) = &shards[0];
    let scenario = format!("{}::{}", first.spec, first.scenario);
    let mismatch = |what, a: String, path: &PathBuf, b: String, hint| {
        MergeError::Mismatch(Box::new(Mismatch {
            scenario: scenario.clone(),
            what,
            first: first_path.clone(),
            first_value: a,
            second: path.clone(),
            second_value: b,
            hint,
        }))
    };
    for (path, f) in &shards[1..] {
        if f.shards != first.shards {
            return Err(mismatch(
                "the shard count",
                format!("{} shards", first.shards),
                path,
                format!("{} shards", f.shards),
                ": merge the shards of one run",
            ));
        }
        // The same spec written in two versions: one build carried flows, the other did not.
        if f.schema_version != first.schema_version {
            return Err(mismatch(
                "the shard file version",
                format!("version {}", first.schema_version),
                path,
                format!("version {}", f.schema_version),
                ": the shards were written by different perfspec builds; run every shard with one build",
            ));
        }
        if f.spec_hash != first.spec_hash {
            return Err(mismatch(
                "the spec",
                format!("spec hash {}", first.spec_hash),
                path,
                format!("spec hash {}", f.spec_hash),
                ": every shard must run the same spec (same commit, same environment)",
            ));
        }
        if f.start_at != first.start_at {
            let show = |s: &Option<String>| s.clone().unwrap_or_else(|| "no common start".into());
            return Err(mismatch(
                "the start",
                show(&first.start_at),
                path,
                show(&f.start_at),
                ": give every shard the same PERFSPEC_START_AT",
            ));
        }
        let names = |f: &ShardFile| {
            f.measurement
                .requests
                .iter()
                .map(|r| r.name.clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if names(f) != names(first) {
            return Err(mismatch("the requests", names(first), path, names(f), ""));
        }
    }
    for pair in shards.windows(2) {
        if pair[0].1.shard == pair[1].1.shard {
            return Err(MergeError::Duplicate {
                scenario,
                shard: pair[0].1.shard,
                first: pair[0].0.clone(),
                second: pair[1].0.clone(),
            });
        }
    }
    let count = first.shards;
    let missing: Vec<u32> = (1..=count)
        .filter(|k| !shards.iter().any(|(_, f)| f.shard == *k))
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            scenario,
            missing,
            count,
            found: shards.iter().map(|(p, _)| p.clone()).collect(),
        });
    }
    let mut parts = Vec::with_capacity(shards.len());
    let mut problems = Vec::new();
    let mut sampler = None;
    for (i, (path, f)) in shards.iter().enumerate() {
        let m = f
            .measurement
            .measurement()
            .map_err(|why| MergeError::Unreadable {
                path: path.clone(),
                why,
            })?;
        parts.push(m);
        if f.sampled_target {
            sampler = Some(i);
        }
        problems.extend(
            f.problems
                .iter()
                .map(|p| format!("shard {}/{}: {p}", f.shard, f.shards)),
        );
    }
    Ok(Combined {
        measurement: add_up(parts, sampler),
        problems,
        count,
    })
}

/// Adds measurements of the same scenario up; the resources come from part `sampler`.
pub(crate) fn add_up(mut parts: Vec<Measurement>, sampler: Option<usize>) -> Measurement {
    let resources = sampler.and_then(|i| parts[i].resources.take());
    // The service's metrics are scraped by the sampling shard only, like the resources (shard
    // files do not carry them yet: from a file this is `None`).
    let metrics = sampler.and_then(|i| parts[i].metrics.take());
    let zero = parts
        .iter()
        .map(|m| m.started_at + m.warmup)
        .min()
        .unwrap_or(UNIX_EPOCH);
    // Where each part's second 0 lies on the merged timeline (whole seconds, by wall clock).
    let offset = |m: &Measurement| {
        let at = m.started_at + m.warmup;
        at.duration_since(zero)
            .unwrap_or_default()
            .as_secs_f64()
            .round() as i64
    };
    let mut it = parts.iter();
    let Some(first) = it.next() else {
        return Measurement {
            resources,
            ..Measurement::empty()
        };
    };
    let mut total = first.clone();
    total.resources = resources;
    total.metrics = metrics;
    total.started_at = parts.iter().map(|m| m.started_at).min().unwrap_or(zero);
    total.timeline = Vec::new();
    total.window = Duration::ZERO;
    total.requests.iter_mut().for_each(|r| *r = empty_like(r));
    total.generator = Default::default();
    total.interrupted = 0;
    // The course is rebuilt from every part below, nothing of the first part's kept as is.
    // The recovery is not added up: `judge` finds it again on the merged timeline. A capacity
    // search is refused in shard mode (one shard's steps say nothing of the whole load).
    total.course = Course::default();
    let mut cpu_weighted = (0.0, 0usize);
    for m in &parts {
        let shift = offset(m);
        let end = (m.started_at + m.warmup + m.window)
            .duration_since(total.started_at + total.warmup)
            .unwrap_or_default();
        total.window = total.window.max(end);
        for (a, b) in total.requests.iter_mut().zip(&m.requests) {
            a.merge(b);
        }
        for s in &m.timeline {
            let t = s.t + shift;
            match total.timeline.binary_search_by_key(&t, |x| x.t) {
                Ok(i) => total.timeline[i].merge(s),
                Err(i) => {
                    let mut s = s.clone();
                    s.t = t;
                    total.timeline.insert(i, s);
                }
            }
        }
        total.interrupted += m.interrupted;
        let g = &mut total.generator;
        g.sent += m.generator.sent;
        g.dropped += m.generator.dropped;
        g.threads += m.generator.threads;
        if let Some(l) = &m.generator.lateness {
            match &mut g.lateness {
                Some(h) => {
                    let _ = h.add(l);
                }
                None => g.lateness = Some(l.clone()),
            }
        }
        if let Some(c) = m.generator.cpu {
            cpu_weighted.0 += c * m.generator.threads as f64;
            cpu_weighted.1 += m.generator.threads;
        }
        if total.course.aborted.is_none() {
            total.course.aborted = m.course.aborted.clone();
        }
        // The first exit seen wins; alive when a part watched the target and none saw it go
        // (only the sampling shard may have watched it, and it need not be the first).
        match (&total.course.alive, &m.course.alive) {
            (Some(Liveness::Exited(_)), _) | (_, None) => {}
            (_, Some(alive)) => total.course.alive = Some(alive.clone()),
        }
        for f in &m.course.flows {
            match total.course.flows.iter_mut().find(|t| t.name == f.name) {
                Some(t) => t.add(f),
                None => {
                    // Into an auto-resizing histogram, so that adding never fails.
                    let mut t = FlowMeasurement::empty(f.name.clone());
                    t.add(f);
                    total.course.flows.push(t);
                }
            }
        }
    }
    total.generator.cpu = (cpu_weighted.1 > 0).then(|| cpu_weighted.0 / cpu_weighted.1 as f64);
    // Arrivals asked for: each shard knows its own exactly (open model only).
    total.generator.requested = parts
        .iter()
        .map(|m| m.generator.requested)
        .sum::<Option<u64>>();
    // Phases: the same phase of every shard, added up the same way.
    for (i, phase) in first.course.phases.iter().enumerate() {
        let same: Vec<Measurement> = parts
            .iter()
            .filter_map(|m| m.course.phases.get(i).map(|p| p.measurement.clone()))
            .collect();
        total.course.phases.push(PhaseMeasurement {
            name: phase.name.clone(),
            from_s: phase.from_s,
            to_s: phase.to_s,
            measurement: add_up(same, None),
        });
    }
    // Turns: the same turn index of every part that reached it, added up the same way.
    let mut turns: Vec<u32> = parts
        .iter()
        .flat_map(|m| m.course.turns.iter().map(|t| t.turn))
        .collect();
    turns.sort_unstable();
    turns.dedup();
    for turn in turns {
        let same: Vec<Measurement> = parts
            .iter()
            .filter_map(|m| m.turn(turn).map(|t| t.measurement.clone()))
            .collect();
        total.course.turns.push(TurnMeasurement {
            turn,
            measurement: add_up(same, None),
        });
    }
    total
}

fn empty_like(r: &crate::measure::RequestStats) -> crate::measure::RequestStats {
    crate::measure::RequestStats::new(r.name.clone(), r.service.is_some())
}
