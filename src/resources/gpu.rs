//! GPUs behind one trait: NVML (nvml-wrapper, which loads `libnvidia-ml.so.1` at run time, so
//! perfspec builds and runs everywhere) and a deterministic fake for tests and GPU-less
//! machines.
//!
//! Without a driver `Nvml::init()` fails in about a millisecond: GPU checks are then reported
//! as not measurable, with one warning line per run when a scenario asks for them.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::{Quantity, Readings, Sampler};

/// One reading of one device. A field the device or driver does not report is `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GpuReading {
    /// Percent of the last sample period during which a kernel ran.
    pub util_percent: Option<f64>,
    /// Device memory in use, bytes.
    pub mem_used_bytes: Option<u64>,
    /// Device memory used by the target's processes, bytes; `None` when the driver does not
    /// say which processes use it, or reports PIDs this process cannot see (containers).
    pub sut_mem_bytes: Option<u64>,
    /// Power draw, watts.
    pub power_watts: Option<f64>,
    /// Temperature, °C.
    pub temp_celsius: Option<f64>,
}

/// A source of GPU readings.
pub trait Gpu: Send + Sync + std::fmt::Debug {
    /// How many devices can be read, or why none can.
    fn devices(&self) -> Result<u32, String>;
    /// Reads device `index`; `sut_pids` are the target's processes, for its share of memory.
    fn read(&self, index: u32, sut_pids: &[u32]) -> GpuReading;
}

/// Whether GPUs could be measured in a trial.
#[derive(Debug, Clone, PartialEq)]
pub enum GpuStatus {
    /// This many devices were sampled.
    Devices(u32),
    /// None could be, and why.
    Unavailable(String),
}

/// NVIDIA GPUs through NVML, initialised once per process.
#[derive(Debug, Default, Clone, Copy)]
pub struct Nvml;

fn nvml() -> Result<&'static nvml_wrapper::Nvml, String> {
    static NVML: OnceLock<Result<nvml_wrapper::Nvml, String>> = OnceLock::new();
    NVML.get_or_init(|| nvml_wrapper::Nvml::init().map_err(|e| format!("NVML: {e}")))
        .as_ref()
        .map_err(Clone::clone)
}

impl Gpu for Nvml {
    fn devices(&self) -> Result<u32, String> {
        let n = nvml()?.device_count().map_err(|e| format!("NVML: {e}"))?;
        if n == 0 {
            return Err("NVML found no GPU".into());
        }
        Ok(n)
    }

    fn read(&self, index: u32, sut_pids: &[u32]) -> GpuReading {
        let Ok(device) = nvml().and_then(|n| n.device_by_index(index).map_err(|e| e.to_string()))
        else {
            return GpuReading::default();
        };
        let memory = device.memory_info().ok();
        let mut processes = device.running_compute_processes().unwrap_or_default();
        processes.extend(device.running_graphics_processes().unwrap_or_default());
        let listed: Vec<(u32, Option<u64>)> = processes
            .iter()
            .map(|p| {
                let used = match p.used_gpu_memory {
                    nvml_wrapper::enums::device::UsedGpuMemory::Used(b) => Some(b),
                    nvml_wrapper::enums::device::UsedGpuMemory::Unavailable => None,
                };
                (p.pid, used)
            })
            .collect();
        GpuReading {
            util_percent: device.utilization_rates().ok().map(|u| f64::from(u.gpu)),
            mem_used_bytes: memory.map(|m| m.used),
            sut_mem_bytes: sut_memory(&listed, sut_pids, |pid| {
                std::path::Path::new(&format!("/proc/{pid}")).exists()
            }),
            power_watts: device.power_usage().ok().map(|mw| f64::from(mw) / 1000.0),
            temp_celsius: device
                .temperature(nvml_wrapper::enum_wrappers::device::TemperatureSensor::Gpu)
                .ok()
                .map(f64::from),
        }
    }
}

/// The memory of the target's processes among those the driver lists, matched by PID. Inside a
/// container the driver lists host PIDs: when none of the listed processes is visible here,
/// the share cannot be known (`None`), which is not the same as zero.
fn sut_memory(
    listed: &[(u32, Option<u64>)],
    sut: &[u32],
    visible: impl Fn(u32) -> bool,
) -> Option<u64> {
    if listed.is_empty() {
        return Some(0);
    }
    let mine: Vec<Option<u64>> = listed
        .iter()
        .filter(|(pid, _)| sut.contains(pid))
        .map(|(_, used)| *used)
        .collect();
    if mine.is_empty() {
        return listed.iter().any(|(pid, _)| visible(*pid)).then_some(0);
    }
    mine.into_iter().sum()
}

/// A fake GPU: each device replays its readings in order, one per sample, repeating the last.
#[derive(Debug)]
pub struct FakeGpu {
    devices: Result<Vec<Vec<GpuReading>>, String>,
    next: Vec<AtomicUsize>,
}

impl FakeGpu {
    /// Devices with scripted readings (`devices[i]` for `gpuI`).
    pub fn new(devices: Vec<Vec<GpuReading>>) -> FakeGpu {
        FakeGpu {
            next: devices.iter().map(|_| AtomicUsize::new(0)).collect(),
            devices: Ok(devices),
        }
    }

    /// No GPU, for the reason given (as NVML says on a machine without a driver).
    pub fn absent(reason: impl Into<String>) -> FakeGpu {
        FakeGpu {
            devices: Err(reason.into()),
            next: Vec::new(),
        }
    }
}

impl Gpu for FakeGpu {
    fn devices(&self) -> Result<u32, String> {
        self.devices
            .as_ref()
            .map(|d| d.len() as u32)
            .map_err(Clone::clone)
    }

    fn read(&self, index: u32, _sut_pids: &[u32]) -> GpuReading {
        let (Ok(devices), Some(next)) = (&self.devices, self.next.get(index as usize)) else {
            return GpuReading::default();
        };
        let script = &devices[index as usize];
        let i = next.fetch_add(1, Ordering::Relaxed);
        script
            .get(i.min(script.len().saturating_sub(1)))
            .cloned()
            .unwrap_or_default()
    }
}

/// Samples every device of a [`Gpu`] as `gpu0`, `gpu1`, …
pub(crate) struct GpuSampler {
    gpu: std::sync::Arc<dyn Gpu>,
    names: Vec<String>,
}

impl GpuSampler {
    /// A sampler of `devices` devices.
    pub fn new(gpu: std::sync::Arc<dyn Gpu>, devices: u32) -> GpuSampler {
        GpuSampler {
            gpu,
            names: (0..devices).map(|i| format!("gpu{i}")).collect(),
        }
    }
}

impl Sampler for GpuSampler {
    fn sample(&mut self, out: &mut Readings) {
        for (i, name) in self.names.iter().enumerate() {
            let r = self.gpu.read(i as u32, out.sut_pids());
            let values = [
                (Quantity::GpuUtil, r.util_percent),
                (Quantity::GpuMem, r.mem_used_bytes.map(|b| b as f64)),
                (Quantity::GpuMemSut, r.sut_mem_bytes.map(|b| b as f64)),
                (Quantity::GpuPower, r.power_watts),
                (Quantity::GpuTemp, r.temp_celsius),
            ];
            for (q, v) in values {
                if let Some(v) = v {
                    out.push(name, q, v);
                }
            }
        }
    }
}

/// Prints the one warning of a run without GPUs (later calls print nothing).
pub(crate) fn warn_once(reason: &str) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        eprintln!(
            "perfspec: warning: no GPU can be measured ({reason}); GPU checks are reported as not measurable"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sut_memory_is_matched_by_pid() {
        let visible = |pid| pid < 1000;
        let listed = [(10, Some(100)), (11, Some(50)), (12, Some(7))];
        assert_eq!(sut_memory(&listed, &[10, 11], visible), Some(150));
        assert_eq!(
            sut_memory(&listed, &[99], visible),
            Some(0),
            "not using the GPU"
        );
        assert_eq!(sut_memory(&[], &[10], visible), Some(0));
        let host_pids = [(40_000, Some(100))];
        assert_eq!(
            sut_memory(&host_pids, &[10], visible),
            None,
            "PIDs from another namespace: unknown"
        );
        assert_eq!(sut_memory(&[(10, None)], &[10], visible), None);
    }

    #[test]
    fn the_fake_replays_then_holds() {
        let r = |u| GpuReading {
            util_percent: Some(u),
            ..GpuReading::default()
        };
        let fake = FakeGpu::new(vec![vec![r(10.0), r(20.0)]]);
        assert_eq!(fake.devices(), Ok(1));
        let got: Vec<_> = (0..3).map(|_| fake.read(0, &[]).util_percent).collect();
        assert_eq!(got, vec![Some(10.0), Some(20.0), Some(20.0)]);
        assert_eq!(fake.read(5, &[]), GpuReading::default());
        assert!(FakeGpu::absent("no driver").devices().is_err());
    }
}
