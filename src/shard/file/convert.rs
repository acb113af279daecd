//! Measurements to their file form and back, exactly (histograms whole, times in µs).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;

use crate::baseline::{decode, encode};
use crate::measure::{
    Abort, ErrorKind, Generator, Liveness, Measurement, PhaseStats, Refusals, RequestStats, Second,
    SecondStats, StreamStats, new_histogram,
};
use crate::resources::{Entity, GpuStatus, Point, Quantity, Resources, SamplingCost};

use super::{
    AbortFile, FlowFile, GeneratorFile, MeasurementFile, PhaseFile, RequestFile, ResourcesFile,
    SecondFile, StreamFile, TurnFile,
};

fn us(d: Duration) -> u64 {
    d.as_micros().min(u128::from(u64::MAX)) as u64
}

fn unix_us(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, us)
}

/// A histogram read back, copied into an auto-resizing one (merging never fails).
pub(super) fn hist(text: &str) -> Result<Histogram<u64>, String> {
    let mut h = new_histogram();
    h.add(decode(text)?)
        .map_err(|e| format!("histogram out of range: {e:?}"))?;
    Ok(h)
}

fn second_hist(h: &Histogram<u32>) -> String {
    let mut wide = Histogram::<u64>::new(2).expect("2 significant figures is valid");
    for v in h.iter_recorded() {
        let _ = wide.record_n(v.value_iterated_to(), u64::from(v.count_at_value()));
    }
    encode(&wide)
}

fn second_hist_back(text: &str) -> Result<Histogram<u32>, String> {
    let wide = decode(text)?;
    let mut h = SecondStats::new().latency;
    for v in wide.iter_recorded() {
        let n = u32::try_from(v.count_at_value())
            .map_err(|_| "a second holds more than 2^32 requests".to_string())?;
        h.record_n(v.value_iterated_to(), n)
            .map_err(|e| format!("histogram out of range: {e:?}"))?;
    }
    Ok(h)
}

impl MeasurementFile {
    /// The file form of `m`.
    pub fn of(m: &Measurement) -> MeasurementFile {
        MeasurementFile {
            started_at_unix_us: unix_us(m.started_at),
            warmup_us: us(m.warmup),
            window_us: us(m.window),
            interrupted: m.interrupted,
            requests: m.requests.iter().map(RequestFile::of).collect(),
            timeline: m
                .timeline
                .iter()
                .map(|s| SecondFile {
                    t: s.t,
                    dropped: s.dropped,
                    requests: s
                        .requests
                        .iter()
                        .map(|r| (r.ok, r.errors, second_hist(&r.latency)))
                        .collect(),
                })
                .collect(),
            generator: GeneratorFile {
                lateness: m.generator.lateness.as_ref().map(encode),
                requested: m.generator.requested,
                sent: m.generator.sent,
                dropped: m.generator.dropped,
                cpu: m.generator.cpu,
                threads: m.generator.threads,
            },
            resources: m.resources.as_ref().map(ResourcesFile::of),
            phases: m.course.phases.iter().map(PhaseFile::of).collect(),
            aborted: m.course.aborted.as_ref().map(|a| AbortFile {
                at_s: a.at_s,
                condition: a.condition.clone(),
                observed: a.observed.clone(),
            }),
            target_watched: m.course.alive.is_some(),
            target_exited: match &m.course.alive {
                Some(Liveness::Exited(why)) => Some(why.clone()),
                _ => None,
            },
            flows: m.course.flows.iter().map(FlowFile::of).collect(),
            turns: m.course.turns.iter().map(TurnFile::of).collect(),
        }
    }

    /// The measurement back (scraped metrics, a capacity search and the recovery are not
    /// carried: a merge judges the recovery again from the merged timeline).
    pub fn measurement(&self) -> Result<Measurement, String> {
        let mut m = Measurement {
            started_at: UNIX_EPOCH + Duration::from_micros(self.started_at_unix_us),
            warmup: Duration::from_micros(self.warmup_us),
            window: Duration::from_micros(self.window_us),
            requests: self
                .requests
                .iter()
                .map(RequestFile::stats)
                .collect::<Result<_, _>>()?,
            timeline: Vec::with_capacity(self.timeline.len()),
            interrupted: self.interrupted,
            generator: Generator {
                lateness: self.generator.lateness.as_deref().map(hist).transpose()?,
                requested: self.generator.requested,
                sent: self.generator.sent,
                dropped: self.generator.dropped,
                cpu: self.generator.cpu,
                threads: self.generator.threads,
            },
            resources: self
                .resources
                .as_ref()
                .map(ResourcesFile::resources)
                .transpose()?,
            course: Default::default(),
            metrics: None,
        };
        for s in &self.timeline {
            if s.requests.len() != m.requests.len() {
                return Err(format!(
                    "second {} has {} requests, the run {}",
                    s.t,
                    s.requests.len(),
                    m.requests.len()
                ));
            }
            let mut second = Second::empty(s.t, 0);
            second.dropped = s.dropped;
            for (ok, errors, latency) in &s.requests {
                second.requests.push(SecondStats {
                    ok: *ok,
                    errors: *errors,
                    latency: second_hist_back(latency)?,
                });
            }
            m.timeline.push(second);
        }
        m.course.phases = self
            .phases
            .iter()
            .map(PhaseFile::phase)
            .collect::<Result<_, _>>()?;
        m.course.turns = self
            .turns
            .iter()
            .map(TurnFile::turn)
            .collect::<Result<_, _>>()?;
        m.course.flows = self
            .flows
            .iter()
            .map(FlowFile::flow)
            .collect::<Result<_, _>>()?;
        m.course.aborted = self.aborted.as_ref().map(|a| Abort {
            at_s: a.at_s,
            condition: a.condition.clone(),
            observed: a.observed.clone(),
        });
        m.course.alive = match (&self.target_exited, self.target_watched) {
            (Some(why), _) => Some(Liveness::Exited(why.clone())),
            (None, true) => Some(Liveness::Alive),
            (None, false) => None,
        };
        Ok(m)
    }
}

impl RequestFile {
    fn of(r: &RequestStats) -> RequestFile {
        RequestFile {
            name: r.name.clone(),
            latency: encode(&r.latency),
            service: r.service.as_ref().map(encode),
            ok: r.ok,
            errors: r
                .errors
                .iter()
                .map(|(k, n)| (k.name().to_string(), *n))
                .collect(),
            bytes: r.bytes,
            good: r.good,
            stream: r.stream.as_ref().map(|s| StreamFile {
                ttft: encode(&s.ttft),
                itl: encode(&s.itl),
                tpot: encode(&s.tpot),
                output_tokens: s.output_tokens,
                counted_by_usage: s.counted_by_usage,
                counted_by_events: s.counted_by_events,
            }),
            stages: r
                .stages
                .iter()
                .map(|(k, h)| (k.clone(), encode(h)))
                .collect(),
            connect: encode(&r.phases.connect),
            tls: encode(&r.phases.tls),
            tls_resumed: r.phases.resumed,
            ttfb: encode(&r.phases.ttfb),
            transfer: encode(&r.phases.transfer),
            statuses: r.refusals.statuses.clone(),
            retry_after_s: r.refusals.retry_after_s.as_ref().map(encode),
        }
    }

    fn stats(&self) -> Result<RequestStats, String> {
        let named = |what: &str, e: String| format!("request `{}`, {what}: {e}", self.name);
        let h = |what: &str, text: &str| hist(text).map_err(|e| named(what, e));
        let mut errors = BTreeMap::new();
        for (kind, n) in &self.errors {
            let k = ErrorKind::ALL
                .iter()
                .find(|k| k.name() == kind)
                .ok_or_else(|| named("errors", format!("unknown error kind `{kind}`")))?;
            errors.insert(*k, *n);
        }
        let stream = match &self.stream {
            None => None,
            Some(s) => Some(StreamStats {
                ttft: h("ttft", &s.ttft)?,
                itl: h("itl", &s.itl)?,
                tpot: h("tpot", &s.tpot)?,
                output_tokens: s.output_tokens,
                counted_by_usage: s.counted_by_usage,
                counted_by_events: s.counted_by_events,
            }),
        };
        let mut stages = BTreeMap::new();
        for (name, text) in &self.stages {
            stages.insert(name.clone(), h("stages", text)?);
        }
        Ok(RequestStats {
            name: self.name.clone(),
            latency: h("latency", &self.latency)?,
            service: self
                .service
                .as_deref()
                .map(|t| h("service", t))
                .transpose()?,
            ok: self.ok,
            errors,
            bytes: self.bytes,
            stream,
            stages,
            good: self.good,
            phases: PhaseStats {
                connect: h("connect", &self.connect)?,
                tls: h("tls", &self.tls)?,
                resumed: self.tls_resumed,
                ttfb: h("ttfb", &self.ttfb)?,
                transfer: h("transfer", &self.transfer)?,
            },
            refusals: Refusals {
                statuses: self.statuses.clone(),
                retry_after_s: self
                    .retry_after_s
                    .as_deref()
                    .map(|t| h("retry_after_s", t))
                    .transpose()?,
            },
        })
    }
}

impl ResourcesFile {
    fn of(r: &Resources) -> ResourcesFile {
        ResourcesFile {
            interval_us: us(r.interval),
            window_us: us(r.window),
            cpus: r.cpus,
            sut: r.sut.clone(),
            counters: r.counters.clone(),
            gpu: match &r.gpu {
                GpuStatus::Devices(n) => Ok(*n),
                GpuStatus::Unavailable(why) => Err(why.clone()),
            },
            samples: r.cost.samples,
            cost_cpu_us: us(r.cost.cpu),
            cost_wall_us: us(r.cost.wall),
            entities: r
                .entities
                .iter()
                .map(|e| {
                    let series = e
                        .series
                        .iter()
                        .map(|(q, points)| {
                            (
                                format!("{q:?}"),
                                points.iter().map(|p| [p.t, p.v]).collect(),
                            )
                        })
                        .collect();
                    (e.name.clone(), series)
                })
                .collect(),
        }
    }

    fn resources(&self) -> Result<Resources, String> {
        let mut entities = Vec::new();
        for (name, series) in &self.entities {
            let mut entity = Entity {
                name: name.clone(),
                series: BTreeMap::new(),
            };
            for (q, points) in series {
                let quantity = Quantity::ALL
                    .into_iter()
                    .find(|k| format!("{k:?}") == *q)
                    .ok_or_else(|| format!("resources of `{name}`: unknown quantity `{q}`"))?;
                entity.series.insert(
                    quantity,
                    points.iter().map(|&[t, v]| Point { t, v }).collect(),
                );
            }
            entities.push(entity);
        }
        Ok(Resources {
            interval: Duration::from_micros(self.interval_us),
            window: Duration::from_micros(self.window_us),
            entities,
            cost: SamplingCost {
                samples: self.samples,
                cpu: Duration::from_micros(self.cost_cpu_us),
                wall: Duration::from_micros(self.cost_wall_us),
            },
            gpu: match &self.gpu {
                Ok(n) => GpuStatus::Devices(*n),
                Err(why) => GpuStatus::Unavailable(why.clone()),
            },
            cpus: self.cpus,
            sut: self.sut.clone(),
            counters: self.counters.clone(),
        })
    }
}
