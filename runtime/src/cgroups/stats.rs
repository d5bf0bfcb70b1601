//! One sample of a container's usage, from the files docker reads: CPU time, memory (usage less
//! inactive page cache, and the limit), pids, block I/O from the cgroup; network bytes from the
//! container's interfaces (`/proc/PID/net/dev`, its netns).

use std::fs;
use std::path::{Path, PathBuf};

use super::{read, Planned};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sample {
    pub cpu_ns: u64,
    pub mem_usage: u64,
    /// The cgroup's limit, or the host's memory when it has none.
    pub mem_limit: u64,
    pub pids: u64,
    pub blk_read: u64,
    pub blk_write: u64,
    pub net_rx: u64,
    pub net_tx: u64,
}

fn num(dir: &Path, file: &str) -> Option<u64> {
    read(dir, file)?.trim().parse().ok()
}

/// `key value` lines (memory.stat, cpu.stat).
fn keyed(dir: &Path, file: &str, key: &str) -> Option<u64> {
    read(dir, file)?.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok())?
    })
}

fn host_memory() -> u64 {
    fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            let kb = t.lines().find_map(|l| l.strip_prefix("MemTotal:"))?;
            kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// Sum of non-loopback interfaces' (rx, tx) bytes in `/proc/PID/net/dev`.
pub fn net_bytes(pid: i32) -> (u64, u64) {
    let text = fs::read_to_string(format!("/proc/{pid}/net/dev")).unwrap_or_default();
    text.lines()
        .skip(2)
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            if name.trim() == "lo" {
                return None;
            }
            let f: Vec<u64> = rest
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            Some((*f.first()?, *f.get(8)?))
        })
        .fold((0, 0), |(r, t), (a, b)| (r + a, t + b))
}

fn v1_blkio(dir: &Path) -> (u64, u64) {
    let text = read(dir, "blkio.throttle.io_service_bytes").unwrap_or_default();
    text.lines().fold((0, 0), |(r, w), l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        match (f.get(1), f.get(2).and_then(|v| v.parse::<u64>().ok())) {
            (Some(&"Read"), Some(v)) if f.len() == 3 => (r + v, w),
            (Some(&"Write"), Some(v)) if f.len() == 3 => (r, w + v),
            _ => (r, w),
        }
    })
}

fn v2_io(dir: &Path) -> (u64, u64) {
    let text = read(dir, "io.stat").unwrap_or_default();
    text.split_whitespace().fold((0, 0), |(r, w), kv| {
        match kv
            .split_once('=')
            .map(|(k, v)| (k, v.parse::<u64>().unwrap_or(0)))
        {
            Some(("rbytes", v)) => (r + v, w),
            Some(("wbytes", v)) => (r, w + v),
            _ => (r, w),
        }
    })
}

/// A container's cgroup (as planned) and its PID 1 (for the network counters).
pub fn sample(p: &Planned, pid: i32) -> Sample {
    let with =
        |file: &str| -> Option<PathBuf> { p.dirs.iter().find(|d| d.join(file).exists()).cloned() };
    let mut s = Sample::default();
    let host = host_memory();
    if p.v2 {
        let Some(d) = p.dirs.first() else {
            return s;
        };
        s.cpu_ns = keyed(d, "cpu.stat", "usage_usec").unwrap_or(0) * 1000;
        let current = num(d, "memory.current").unwrap_or(0);
        let inactive = keyed(d, "memory.stat", "inactive_file").unwrap_or(0);
        s.mem_usage = current.saturating_sub(inactive);
        s.mem_limit = num(d, "memory.max").unwrap_or(host).min(host);
        s.pids = num(d, "pids.current").unwrap_or(0);
        (s.blk_read, s.blk_write) = v2_io(d);
    } else {
        if let Some(d) = with("cpuacct.usage") {
            s.cpu_ns = num(&d, "cpuacct.usage").unwrap_or(0);
        }
        if let Some(d) = with("memory.usage_in_bytes") {
            let usage = num(&d, "memory.usage_in_bytes").unwrap_or(0);
            let inactive = keyed(&d, "memory.stat", "total_inactive_file").unwrap_or(0);
            s.mem_usage = usage.saturating_sub(inactive);
            s.mem_limit = num(&d, "memory.limit_in_bytes").unwrap_or(host).min(host);
        }
        if let Some(d) = with("pids.current") {
            s.pids = num(&d, "pids.current").unwrap_or(0);
        }
        if let Some(d) = with("blkio.throttle.io_service_bytes") {
            (s.blk_read, s.blk_write) = v1_blkio(&d);
        }
    }
    (s.net_rx, s.net_tx) = net_bytes(pid);
    s
}
