//! Every network namespace on the machine: each process's `/proc/PID/ns/net` and each name under
//! `/run/netns`, deduplicated by nsfs inode, each with an open fd to enter it by.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::ViewError;

/// Where `ip netns` binds named namespaces.
pub const NETNS_DIR: &str = "/run/netns";

/// One network namespace found.
#[derive(Debug)]
pub struct Found {
    pub inode: u64,
    /// Opened from `/proc/PID/ns/net` or `/run/netns/NAME`: holds the namespace while den looks.
    pub file: File,
    /// Names under /run/netns bound to it.
    pub names: Vec<String>,
    /// Thread-group leaders in it, ascending.
    pub pids: Vec<u32>,
}

/// The nsfs inode of a namespace file (`/proc/PID/ns/KIND`, `/run/netns/NAME`).
pub fn inode_of(path: &Path) -> io::Result<u64> {
    fs::metadata(path).map(|m| m.ino())
}

/// The nsfs inode and device of a namespace file.
fn nsfs_id(path: &Path) -> io::Result<(u64, u64)> {
    fs::metadata(path).map(|m| (m.ino(), m.dev()))
}

/// Every process's PID, ascending (`/proc/[0-9]*`).
pub fn pids() -> Result<Vec<u32>, ViewError> {
    let dir = fs::read_dir("/proc").map_err(|source| ViewError::Read {
        path: PathBuf::from("/proc"),
        source,
    })?;
    let mut pids: Vec<u32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    Ok(pids)
}

/// All network namespaces reachable through a process or a /run/netns name. Processes that end
/// while being looked at are skipped; a namespace whose every holder vanished is left out.
pub fn network_namespaces() -> Result<Vec<Found>, ViewError> {
    let own = Path::new("/proc/self/ns/net");
    let (_, nsfs_dev) = nsfs_id(own).map_err(|source| ViewError::Read {
        path: own.into(),
        source,
    })?;
    let mut by_inode: BTreeMap<u64, (Vec<u32>, Vec<String>)> = BTreeMap::new();
    for pid in pids()? {
        if let Ok(inode) = inode_of(Path::new(&format!("/proc/{pid}/ns/net"))) {
            by_inode.entry(inode).or_default().0.push(pid);
        }
    }
    for name in netns_names() {
        // A leftover file that is no longer a bind mount of a namespace is on another device.
        match nsfs_id(&Path::new(NETNS_DIR).join(&name)) {
            Ok((inode, dev)) if dev == nsfs_dev => by_inode.entry(inode).or_default().1.push(name),
            _ => {}
        }
    }
    let mut out = Vec::with_capacity(by_inode.len());
    for (inode, (pids, mut names)) in by_inode {
        names.sort();
        let candidates = names.iter().map(|n| Path::new(NETNS_DIR).join(n)).chain(
            pids.iter()
                .map(|p| PathBuf::from(format!("/proc/{p}/ns/net"))),
        );
        // The file opened must still be this namespace (a PID may have been reused).
        let file = candidates.into_iter().find_map(|p| {
            let f = File::open(&p).ok()?;
            (f.metadata().ok()?.ino() == inode).then_some(f)
        });
        if let Some(file) = file {
            out.push(Found {
                inode,
                file,
                names,
                pids,
            });
        }
    }
    Ok(out)
}

/// Names under /run/netns (none if the directory does not exist).
pub fn netns_names() -> Vec<String> {
    let Ok(dir) = fs::read_dir(NETNS_DIR) else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect()
}

/// `/proc/PID/comm` without its newline; empty if the process is gone.
pub fn comm(pid: u32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim_end().to_string())
        .unwrap_or_default()
}

/// The parent PID (field 4 of /proc/PID/stat, after the parenthesised comm).
pub fn ppid(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// `/proc/PID/cmdline` split at NULs.
pub fn cmdline(pid: u32) -> Vec<String> {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|&c| c == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}
