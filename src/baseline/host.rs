//! The host fingerprint: what a baseline's numbers depend on (CPU model, cores, memory, OS,
//! architecture), hashed so two machines of the same kind match.

use serde::{Deserialize, Serialize};

/// The machine a run happened on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    /// Short hash of the fields below.
    pub fingerprint: String,
    /// CPU model name.
    pub cpu_model: String,
    /// Logical CPUs available to the process.
    pub cores: usize,
    /// Total memory, rounded to GiB.
    pub memory_gib: u64,
    /// Operating system (name and version).
    pub os: String,
    /// CPU architecture.
    pub arch: String,
}

impl Host {
    /// This machine.
    pub fn current() -> Host {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")
                    .and_then(|r| r.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_kib: u64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        let os = os_release
            .lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME="))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_else(|| std::env::consts::OS.to_string());
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let memory_gib = (mem_kib as f64 / (1024.0 * 1024.0)).round() as u64;
        let arch = std::env::consts::ARCH.to_string();
        let fingerprint = fingerprint(&[
            &cpu_model,
            &cores.to_string(),
            &memory_gib.to_string(),
            &os,
            &arch,
        ]);
        Host {
            fingerprint,
            cpu_model,
            cores,
            memory_gib,
            os,
            arch,
        }
    }

    /// `4 cores, Intel Xeon …, 24 GiB, Debian 12, x86_64`.
    pub fn describe(&self) -> String {
        format!(
            "{} cores, {}, {} GiB, {}, {}",
            self.cores, self.cpu_model, self.memory_gib, self.os, self.arch
        )
    }
}

/// FNV-1a 64 of the parts, as 16 hex digits: stable across runs and platforms.
fn fingerprint(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_is_stable_and_sensitive() {
        let a = Host::current();
        assert_eq!(a, Host::current());
        assert_eq!(a.fingerprint.len(), 16);
        assert_ne!(fingerprint(&["x", "2"]), fingerprint(&["x", "4"]));
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
    }
}
