//! cgroup v1: one directory per hierarchy; limits go to the files of the controller that owns them.

use std::fs;
use std::io::Write;
use std::path::Path;

use oci_spec::runtime::LinuxResources;

use super::{read, write, CgroupError, Planned};

/// Create the missing ancestors of `dir` (its `mkdir` found no parent), each initialised like a
/// new cgroup (see [`init`]).
pub fn ensure_parents(dir: &Path) -> Result<(), CgroupError> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    super::make_dir(parent, ensure_parents)?;
    init(parent)
}

/// A new cpuset cgroup starts with no cpus and mems, and refuses tasks until they are set: copy
/// its parent's (runc does the same). A parent still empty (another den made it a moment ago and
/// has not written it yet) is initialised first, so concurrent runs never copy an empty one. Other
/// hierarchies have no `cpuset.cpus`: one failed open, and nothing to do.
pub fn init(dir: &Path) -> Result<(), CgroupError> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let Some(mine) = read(dir, file) else {
            return Ok(());
        };
        if mine.trim().is_empty() {
            let theirs = match read(parent, file) {
                Some(v) if v.trim().is_empty() => {
                    init(parent)?;
                    read(parent, file).unwrap_or_default()
                }
                v => v.unwrap_or_default(),
            };
            write(dir, file, theirs.trim())?;
        }
    }
    Ok(())
}

/// Write the limits, each to the hierarchy that has the file.
pub fn apply(p: &Planned, r: &LinuxResources) -> Result<(), CgroupError> {
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
        // Each write(2) is one rule to the kernel: each file is opened once, not once a rule.
        let (mut allow, mut deny) = (None, None);
        for rule in rules {
            let (file, open) = match rule.allow() {
                true => ("devices.allow", &mut allow),
                false => ("devices.deny", &mut deny),
            };
            let path = dir.join(file);
            let f = match open {
                Some(f) => f,
                None => open.insert(
                    fs::OpenOptions::new()
                        .write(true)
                        .open(&path)
                        .map_err(CgroupError::io("opening", &path))?,
                ),
            };
            let value = rule.to_string();
            f.write_all(value.as_bytes())
                .map_err(|source| CgroupError::Write {
                    path,
                    value,
                    source,
                })?;
        }
    }
    Ok(())
}
