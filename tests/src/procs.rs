//! Reading /proc: which processes belong to a sandbox, and whether one is still alive.
//!
//! A process is identified by its pid AND its start time, so a recycled pid is never
//! mistaken for the process we meant.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::syscall;

/// One process: pid plus start time (clock ticks after boot, field 22 of /proc/PID/stat).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ProcId {
    pub pid: i32,
    pub start: u64,
}

/// The fields of /proc/PID/stat the harness uses.
#[derive(Debug, Clone, Copy)]
pub struct Stat {
    pub state: char,
    pub ppid: i32,
    pub start: u64,
}

/// Parses /proc/PID/stat; `None` if the process is gone.
pub fn stat(pid: i32) -> Option<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm (field 2) may hold spaces and parentheses: the fields after it follow the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

impl ProcId {
    /// The process now running as `pid`, if any.
    pub fn of(pid: i32) -> Option<ProcId> {
        stat(pid).map(|s| ProcId {
            pid,
            start: s.start,
        })
    }

    /// True while this very process exists and is not a zombie.
    pub fn is_alive(&self) -> bool {
        matches!(stat(self.pid), Some(s) if s.start == self.start && s.state != 'Z')
    }

    /// Sends `sig` if the pid still names this process. Returns whether it was sent.
    pub fn signal(&self, sig: i32) -> bool {
        self.is_alive() && syscall::kill(self.pid, sig).is_ok()
    }
}

/// All pids in /proc.
pub fn all_pids() -> Vec<i32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// The inode of a namespace file (`/run/netns/X`, `/proc/PID/ns/net`), which names the namespace.
pub fn ns_inode(path: &Path) -> Option<u64> {
    fs::metadata(path).ok().map(|m| m.ino())
}

/// Live (non-zombie) processes whose network namespace is the one with inode `ino`.
pub fn in_netns(ino: u64) -> Vec<ProcId> {
    all_pids()
        .into_iter()
        .filter(|&pid| ns_inode(Path::new(&format!("/proc/{pid}/ns/net"))) == Some(ino))
        .filter_map(live)
        .collect()
}

fn live(pid: i32) -> Option<ProcId> {
    let s = stat(pid)?;
    (s.state != 'Z').then_some(ProcId {
        pid,
        start: s.start,
    })
}

/// Whether `pid`'s root mount (mount point `/` in its mountinfo) mentions `needle`, e.g. an
/// overlay whose upperdir lies under a sandbox dir: that is a container of the sandbox.
/// Only the root mount counts: a mount leaked under the dir and propagated elsewhere must
/// not make unrelated processes look like members.
pub fn root_mount_mentions(pid: i32, needle: &str) -> bool {
    fs::read_to_string(format!("/proc/{pid}/mountinfo"))
        .map(|t| {
            t.lines()
                .any(|l| l.split_whitespace().nth(4) == Some("/") && l.contains(needle))
        })
        .unwrap_or(false)
}

/// Whether any mount seen by `pid` mentions `needle`.
pub fn mountinfo_mentions(pid: i32, needle: &str) -> bool {
    fs::read_to_string(format!("/proc/{pid}/mountinfo"))
        .map(|t| t.contains(needle))
        .unwrap_or(false)
}

/// Every live descendant of the processes in `roots` (not the roots themselves).
pub fn descendants(roots: &[i32]) -> Vec<ProcId> {
    let mut children: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    for pid in all_pids() {
        if let Some(s) = stat(pid) {
            children.entry(s.ppid).or_default().push(pid);
        }
    }
    let mut seen = BTreeSet::new();
    let mut todo: Vec<i32> = roots.to_vec();
    while let Some(p) = todo.pop() {
        for &c in children.get(&p).map(Vec::as_slice).unwrap_or(&[]) {
            if seen.insert(c) {
                todo.push(c);
            }
        }
    }
    seen.into_iter().filter_map(live).collect()
}

/// The processes that belong to a sandbox: those in one of its network namespaces
/// (`netns_inodes`), descendants of `roots` (the processes the sandbox spawned), and those
/// in another mount namespace whose root mount lies under its dir (`dir_needle`: a
/// container's overlay). Never includes the calling process, nor (by the mount rule)
/// anything sharing our mount namespace.
pub fn sandbox_members(netns_inodes: &[u64], dir_needle: &str, roots: &[i32]) -> Vec<ProcId> {
    let me = std::process::id() as i32;
    let our_mnt = ns_inode(Path::new("/proc/self/ns/mnt"));
    let mut found: BTreeSet<ProcId> = descendants(roots).into_iter().collect();
    for pid in all_pids() {
        if pid == me {
            continue;
        }
        let net = ns_inode(Path::new(&format!("/proc/{pid}/ns/net")));
        let in_our_netns = net.is_some_and(|n| netns_inodes.contains(&n));
        let container = || {
            let mnt = ns_inode(Path::new(&format!("/proc/{pid}/ns/mnt")));
            mnt.is_some() && mnt != our_mnt && root_mount_mentions(pid, dir_needle)
        };
        if in_our_netns || container() {
            found.extend(live(pid));
        }
    }
    found.retain(|p| p.pid != me);
    found.into_iter().collect()
}

/// `Name:` from /proc/PID/status (the program's name as the kernel knows it).
pub fn program_name(pid: i32) -> Option<String> {
    status_field(pid, "Name")
}

/// A field of /proc/PID/status, e.g. `NSpid`.
pub fn status_field(pid: i32, field: &str) -> Option<String> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}
