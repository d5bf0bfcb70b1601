//! `den top`: the container's processes, each with its PID inside the container and on the host.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use super::{is_running, LifecycleError};
use crate::state::{Container, Store};

/// One process of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopEntry {
    /// Its PID in the container's PID namespace (the last field of `NSpid`).
    pub pid: i32,
    /// Its PID in den's (the host's) PID namespace.
    pub host_pid: i32,
    /// Its parent's PID in the container (0: its parent is outside, as PID 1's is).
    pub ppid: i32,
    /// Its command line (`[name]` if it has none).
    pub command: String,
}

fn status_field(status: &str, field: &str) -> Option<String> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}

fn last_number(field: &str) -> Option<i32> {
    field.split_whitespace().last()?.parse().ok()
}

/// A process's entry, with its parent's host PID (mapped into the container by the caller).
fn entry(host_pid: i32) -> Option<(TopEntry, i32)> {
    let status = fs::read_to_string(format!("/proc/{host_pid}/status")).ok()?;
    let pid = last_number(&status_field(&status, "NSpid")?)?;
    let host_ppid: i32 = status_field(&status, "PPid")?.parse().ok()?;
    let cmdline = fs::read(format!("/proc/{host_pid}/cmdline")).unwrap_or_default();
    let command = if cmdline.is_empty() {
        format!("[{}]", status_field(&status, "Name").unwrap_or_default())
    } else {
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        args.join(" ")
    };
    let e = TopEntry {
        pid,
        host_pid,
        ppid: 0,
        command,
    };
    Some((e, host_ppid))
}

/// The processes whose PID namespace is the container's, sorted by their PID in it.
pub fn top(root: &Path, key: &str) -> Result<(Container, Vec<TopEntry>), LifecycleError> {
    let c = Store::new(root).find(key)?;
    let pid = c.pid.filter(|_| is_running(&c));
    let Some(pid) = pid else {
        return Err(LifecycleError::NotRunning(c.name));
    };
    let ns_path = format!("/proc/{pid}/ns/pid");
    let ns = fs::read_link(&ns_path).map_err(|source| LifecycleError::Proc {
        name: c.name.clone(),
        path: ns_path,
        source,
    })?;
    let proc_dir = fs::read_dir("/proc").map_err(|source| LifecycleError::Proc {
        name: c.name.clone(),
        path: "/proc".into(),
        source,
    })?;
    let members: Vec<i32> = proc_dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| fs::read_link(format!("/proc/{p}/ns/pid")).is_ok_and(|n| n == ns))
        .collect();
    let found: Vec<(TopEntry, i32)> = members.into_iter().filter_map(entry).collect();
    let in_container: BTreeMap<i32, i32> = found.iter().map(|(e, _)| (e.host_pid, e.pid)).collect();
    let mut entries: Vec<TopEntry> = found
        .into_iter()
        .map(|(mut e, host_ppid)| {
            e.ppid = in_container.get(&host_ppid).copied().unwrap_or(0);
            e
        })
        .collect();
    entries.sort_by_key(|e| e.pid);
    Ok((c, entries))
}
