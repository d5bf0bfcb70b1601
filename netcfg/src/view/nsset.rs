//! The namespaces of a process, by kind: the answer to "what does `--network host` share?".

use std::fs;
use std::path::Path;

use serde::Serialize;

use super::enumerate::{comm, inode_of};
use super::ViewError;

/// The eight namespace kinds, in `den ns`'s order (`/proc/PID/ns/KIND`).
pub const KINDS: [&str; 8] = ["pid", "net", "mnt", "uts", "ipc", "user", "cgroup", "time"];

/// One process's namespaces.
#[derive(Debug, Clone, Serialize)]
pub struct NsSet {
    /// The PID on the host (as den sees it).
    pub pid: u32,
    pub comm: String,
    /// Its PID in its own PID namespace (the last field of `NSpid` in /proc/PID/status).
    pub pid_inside: Option<u32>,
    /// `(kind, inode)` for each of [`KINDS`]; `None` where the kernel has no such kind.
    pub inodes: Vec<(&'static str, Option<u64>)>,
}

impl NsSet {
    /// The inode of namespace kind `kind`.
    pub fn inode(&self, kind: &str) -> Option<u64> {
        self.inodes
            .iter()
            .find(|(k, _)| *k == kind)
            .and_then(|(_, i)| *i)
    }
}

/// The namespaces of process `pid`.
pub fn of_pid(pid: u32) -> Result<NsSet, ViewError> {
    let dir = format!("/proc/{pid}");
    if !Path::new(&dir).exists() {
        return Err(ViewError::NoProcess(pid));
    }
    let net = format!("{dir}/ns/net");
    inode_of(Path::new(&net)).map_err(|source| ViewError::Read {
        path: net.into(),
        source,
    })?;
    let inodes = KINDS
        .iter()
        .map(|k| (*k, inode_of(Path::new(&format!("{dir}/ns/{k}"))).ok()))
        .collect();
    let status = fs::read_to_string(format!("{dir}/status")).map_err(|source| ViewError::Read {
        path: format!("{dir}/status").into(),
        source,
    })?;
    let pid_inside = status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .and_then(|l| l.split_whitespace().last()?.parse().ok());
    Ok(NsSet {
        pid,
        comm: comm(pid),
        pid_inside,
        inodes,
    })
}

/// den's own namespaces ("host" in `den ns A host`).
pub fn own() -> Result<NsSet, ViewError> {
    of_pid(std::process::id())
}
