//! What `den info`, `den version` and `den system df` report about the host and the state root:
//! the kernel, cgroups, the OS, and disk usage, as serde values the CLI prints.

use std::fs;
use std::path::Path;

use serde::Serialize;

use crate::cgroups::Layout;

/// The host side of `den info` (docker's key names).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Host {
    pub kernel_version: String,
    pub operating_system: String,
    #[serde(rename = "OSType")]
    pub os_type: String,
    pub architecture: String,
    #[serde(rename = "NCPU")]
    pub ncpu: usize,
    pub mem_total: u64,
    pub name: String,
    /// `2` (unified) or `1` (v1 or hybrid); empty if no hierarchy was found.
    pub cgroup_version: String,
    /// den writes cgroupfs itself (no systemd scopes).
    pub cgroup_driver: String,
    /// den's own cgroup, under which containers go by default.
    pub cgroup_parent: String,
}

fn read_trim(p: &str) -> String {
    fs::read_to_string(p)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

pub fn host() -> Host {
    let os = fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "Linux".into());
    let mem_kb: u64 = fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let (cgroup_version, cgroup_parent) = match Layout::detect() {
        Ok(Layout::V2 { own, .. }) => ("2".to_string(), own.display().to_string()),
        Ok(Layout::V1 {
            hierarchies: hs, ..
        }) => (
            "1".to_string(),
            hs.first()
                .map(|h| h.own.display().to_string())
                .unwrap_or_default(),
        ),
        Err(_) => (String::new(), String::new()),
    };
    Host {
        kernel_version: read_trim("/proc/sys/kernel/osrelease"),
        operating_system: os,
        os_type: "linux".into(),
        architecture: std::env::consts::ARCH.into(),
        ncpu: std::thread::available_parallelism().map_or(1, |n| n.get()),
        mem_total: mem_kb * 1024,
        name: read_trim("/proc/sys/kernel/hostname"),
        cgroup_version,
        cgroup_driver: "cgroupfs".into(),
        cgroup_parent,
    }
}

/// The bytes of the files under `p` (docker's sizes count file lengths, not blocks); symlinks
/// are not followed.
pub fn disk_usage(p: &Path) -> u64 {
    let Ok(meta) = fs::symlink_metadata(p) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    fs::read_dir(p)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| disk_usage(&e.path()))
        .sum()
}
