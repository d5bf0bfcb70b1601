//! cgroup v2: one directory; controllers are enabled in each ancestor's `cgroup.subtree_control`,
//! and runc's conversions turn v1-style values (shares, memory+swap) into v2 files.

use std::path::Path;

use oci_spec::runtime::LinuxResources;

use super::{read, write, CgroupError};

const CONTROLLERS: [&str; 5] = ["cpu", "cpuset", "io", "memory", "pids"];

/// Create the missing ancestors of `dir` and enable, from the top down, the controllers den uses
/// that each one has available.
pub fn ensure_parents(dir: &Path) -> Result<(), CgroupError> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    if !parent.join("cgroup.controllers").exists() {
        ensure_parents(parent)?;
        super::make_dir(parent, ensure_parents)?;
    }
    let available = read(parent, "cgroup.controllers").unwrap_or_default();
    let enabled = read(parent, "cgroup.subtree_control").unwrap_or_default();
    let want: Vec<String> = CONTROLLERS
        .iter()
        .filter(|c| available.split_whitespace().any(|a| a == **c))
        .filter(|c| !enabled.split_whitespace().any(|a| a == **c))
        .map(|c| format!("+{c}"))
        .collect();
    if !want.is_empty() {
        write(parent, "cgroup.subtree_control", &want.join(" "))?;
    }
    Ok(())
}

/// runc's shares (2..262144) to weight (1..10000).
pub fn weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + (shares.saturating_sub(2) * 9999) / 262142
}

pub fn apply(dir: &Path, r: &LinuxResources) -> Result<(), CgroupError> {
    if let Some(m) = r.memory() {
        if let Some(limit) = m.limit() {
            write(dir, "memory.max", &limit.to_string())?;
            // v2 limits swap alone: memory+swap minus memory.
            if let Some(swap) = m.swap() {
                let only_swap = match swap {
                    -1 => "max".to_owned(),
                    s => (s - limit).max(0).to_string(),
                };
                if dir.join("memory.swap.max").exists() {
                    write(dir, "memory.swap.max", &only_swap)?;
                }
            }
        }
    }
    if let Some(cpu) = r.cpu() {
        if let Some(quota) = cpu.quota() {
            let period = cpu.period().unwrap_or(100_000);
            let q = if quota > 0 {
                quota.to_string()
            } else {
                "max".into()
            };
            write(dir, "cpu.max", &format!("{q} {period}"))?;
        }
        if let Some(shares) = cpu.shares() {
            write(dir, "cpu.weight", &weight(shares).to_string())?;
        }
        if let Some(cpus) = cpu.cpus() {
            write(dir, "cpuset.cpus", cpus)?;
        }
        if let Some(mems) = cpu.mems() {
            write(dir, "cpuset.mems", mems)?;
        }
    }
    if let Some(pids) = r.pids() {
        let max = match pids.limit() {
            n if n > 0 => n.to_string(),
            _ => "max".to_owned(),
        };
        write(dir, "pids.max", &max)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn shares_convert_to_weight_as_runc_does() {
        assert_eq!(super::weight(1024), 39);
        assert_eq!(super::weight(2), 1);
        assert_eq!(super::weight(262144), 10000);
    }
}
