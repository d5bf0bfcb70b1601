//! cgroup v1: one directory per hierarchy; limits go to the files of the controller that owns them.

use std::path::Path;

use oci_spec::runtime::LinuxResources;

use super::{read, write, CgroupError, Planned};

/// Create the missing ancestors of `dir`, each initialised like a new cgroup (see [`init`]). An
/// existing ancestor whose cpuset is still empty (another den made it a moment ago and has not
/// written it yet) is initialised here too, so concurrent runs never see an empty parent.
pub fn ensure_parents(dir: &Path) -> Result<(), CgroupError> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    if parent.join("cgroup.procs").exists() && !needs_init(parent) {
        return Ok(());
    }
    ensure_parents(parent)?;
    super::make_dir(parent, ensure_parents)?;
    init(parent)
}

/// A cpuset cgroup with no cpus or mems yet.
fn needs_init(dir: &Path) -> bool {
    ["cpuset.cpus", "cpuset.mems"]
        .iter()
        .any(|f| read(dir, f).is_some_and(|v| v.trim().is_empty()))
}

/// A new cpuset cgroup starts with no cpus and mems, and refuses tasks until they are set: copy
/// its parent's (runc does the same).
pub fn init(dir: &Path) -> Result<(), CgroupError> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let Some(mine) = read(dir, file) else {
            continue;
        };
        if mine.trim().is_empty() {
            let theirs = read(parent, file).unwrap_or_default();
            write(dir, file, theirs.trim())?;
        }
    }
    Ok(())
}

/// Write the limits, each to the hierarchy that has the file.
pub fn apply(p: &Planned, r: &LinuxResources) -> Result<(), CgroupError> {
    for dir in &p.dirs {
        init(dir)?;
    }
    let with = |file: &str| p.dirs.iter().find(|d| d.join(file).exists());
    if let Some(m) = r.memory() {
        if let (Some(limit), Some(dir)) = (m.limit(), with("memory.limit_in_bytes")) {
            write(dir, "memory.limit_in_bytes", &limit.to_string())?;
        }
        // Without swap accounting the file is absent: docker discards the swap limit then.
        if let (Some(swap), Some(dir)) = (m.swap(), with("memory.memsw.limit_in_bytes")) {
            write(dir, "memory.memsw.limit_in_bytes", &swap.to_string())?;
        }
    }
    if let Some(cpu) = r.cpu() {
        if let Some(dir) = with("cpu.cfs_quota_us") {
            if let Some(period) = cpu.period() {
                write(dir, "cpu.cfs_period_us", &period.to_string())?;
            }
            if let Some(quota) = cpu.quota() {
                write(dir, "cpu.cfs_quota_us", &quota.to_string())?;
            }
        }
        if let (Some(shares), Some(dir)) = (cpu.shares(), with("cpu.shares")) {
            write(dir, "cpu.shares", &shares.to_string())?;
        }
        if let (Some(cpus), Some(dir)) = (cpu.cpus(), with("cpuset.cpus")) {
            write(dir, "cpuset.cpus", cpus)?;
        }
        if let (Some(mems), Some(dir)) = (cpu.mems(), with("cpuset.mems")) {
            write(dir, "cpuset.mems", mems)?;
        }
    }
    if let (Some(pids), Some(dir)) = (r.pids(), with("pids.max")) {
        let max = match pids.limit() {
            n if n > 0 => n.to_string(),
            _ => "max".to_owned(),
        };
        write(dir, "pids.max", &max)?;
    }
    if let (Some(rules), Some(dir)) = (r.devices(), &p.devices) {
        for rule in rules {
            let file = if rule.allow() {
                "devices.allow"
            } else {
                "devices.deny"
            };
            write(dir, file, &rule.to_string())?;
        }
    }
    Ok(())
}
