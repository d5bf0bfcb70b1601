//! A new user namespace (`linux.uidMappings`/`gidMappings`), as runc does it as root:
//!
//! ```text
//! parent                                        child (cloned with CLONE_NEWUSER and the
//!                                               other new namespaces, owned by the new one)
//!   namespaces given by path: joined by the
//!   cloning thread itself (the child is born
//!   in them: once in the new user namespace it
//!   has no capability over them to setns)
//!   clone3 ---------------------------------->   waits
//!   back to its own namespaces
//!   writes /proc/PID/uid_map, gid_map
//!   Mapped ---------------------------------->   setresgid(0), setresuid(0): the mapped root
//!                                               joins its cgroup, Ready (as without one)
//! ```
//!
//! `setgroups` stays "allow" (runc writes "deny" only rootless), so `additionalGids` work. The
//! maps are validated first (the kernel's rules: at most 340 lines, no range overlapping another
//! inside or outside, none empty or wrapping), so a bad one is refused before anything exists.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::sched::{setns, CloneFlags};
use oci_spec::runtime::{Linux, LinuxIdMapping};

use super::handle::{open_path, prepare};
use super::sync::{receive, Failure, Msg, Received, Step};
use super::ProcessError;
use crate::syscall;

/// The kernel's limit of lines in one id map (`UID_GID_MAP_MAX_EXTENTS`).
const MAX_LINES: usize = 340;

/// The maps of a new user namespace, as the text written to /proc/PID/{uid,gid}_map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMaps {
    pub uid: String,
    pub gid: String,
}

/// The spec's maps, checked; `None` without a new user namespace (then none may be given).
pub fn from_spec(linux: &Linux, new_userns: bool) -> Result<Option<IdMaps>, ProcessError> {
    let uid = linux.uid_mappings().clone().unwrap_or_default();
    let gid = linux.gid_mappings().clone().unwrap_or_default();
    if !new_userns {
        return match uid.is_empty() && gid.is_empty() {
            true => Ok(None),
            false => Err(ProcessError::Invalid {
                what: "linux.uidMappings/gidMappings (no new user namespace in linux.namespaces)",
                value: format!("{} uid, {} gid lines", uid.len(), gid.len()),
            }),
        };
    }
    Ok(Some(IdMaps {
        uid: map_text("linux.uidMappings", &uid)?,
        gid: map_text("linux.gidMappings", &gid)?,
    }))
}

fn map_text(field: &'static str, lines: &[LinuxIdMapping]) -> Result<String, ProcessError> {
    let bad = |why: String| ProcessError::Invalid {
        what: field,
        value: why,
    };
    if lines.is_empty() {
        return Err(bad("empty, with a new user namespace".into()));
    }
    if lines.len() > MAX_LINES {
        return Err(bad(format!(
            "{} lines, over the kernel's {MAX_LINES}",
            lines.len()
        )));
    }
    let range = |l: &LinuxIdMapping| {
        let (inside, outside, size) = (l.container_id(), l.host_id(), l.size());
        let end = |start: u32| u64::from(start) + u64::from(size);
        (size > 0 && end(inside) <= 1 << 32 && end(outside) <= 1 << 32)
            .then_some((u64::from(inside), u64::from(outside), u64::from(size)))
            .ok_or_else(|| bad(format!("{inside} {outside} {size}: empty or past 2^32")))
    };
    let ranges = lines.iter().map(range).collect::<Result<Vec<_>, _>>()?;
    for (i, a) in ranges.iter().enumerate() {
        for b in &ranges[..i] {
            let meets = |x: u64, y: u64| x < y + b.2 && y < x + a.2;
            if meets(a.0, b.0) || meets(a.1, b.1) {
                return Err(bad(format!(
                    "{} {} {} overlaps {} {} {}",
                    a.0, a.1, a.2, b.0, b.1, b.2
                )));
            }
        }
    }
    Ok(ranges
        .iter()
        .map(|(i, o, s)| format!("{i} {o} {s}\n"))
        .collect())
}

impl IdMaps {
    /// Write the maps of the child `pid` (its user namespace is new and empty).
    pub fn write(&self, pid: i32) -> Result<(), ProcessError> {
        for (file, text) in [("uid_map", &self.uid), ("gid_map", &self.gid)] {
            let path = format!("/proc/{pid}/{file}");
            std::fs::write(&path, text).map_err(|source| ProcessError::IdMap { path, source })?;
        }
        Ok(())
    }
}

/// The cloning thread inside the namespaces given by path (net, uts, ipc, cgroup: the kinds
/// a thread may join alone), and back in its own on [`Inherited::restore`] (or drop).
pub(super) struct Inherited {
    own: Vec<(OwnedFd, CloneFlags)>,
}

impl Inherited {
    pub(super) fn enter(joins: &[(OwnedFd, CloneFlags)]) -> Result<Inherited, ProcessError> {
        let mut me = Inherited { own: Vec::new() };
        for (fd, flag) in joins {
            let name = ns_name(*flag);
            let own = open_path(
                Path::new(&format!("/proc/thread-self/ns/{name}")),
                "open the runtime's",
            )?;
            me.own.push((own, *flag));
            setns(fd, *flag).map_err(prepare("join (for the clone)", name))?;
        }
        Ok(me)
    }

    pub(super) fn restore(mut self) -> Result<(), ProcessError> {
        for (own, flag) in std::mem::take(&mut self.own) {
            setns(own.as_fd(), flag).map_err(prepare("return to", ns_name(flag)))?;
        }
        Ok(())
    }
}

impl Drop for Inherited {
    fn drop(&mut self) {
        for (own, flag) in self.own.drain(..) {
            // Error path only (`restore` reports on the normal one).
            let _ = setns(own.as_fd(), flag);
        }
    }
}

/// In the child: wait until the parent wrote the maps, then take the namespace's root ids (runc's order: gid,
/// then uid); until then this process is the unmapped overflow id.
pub(super) fn become_mapped_root(sock: BorrowedFd<'_>) -> Result<(), Failure> {
    match receive(sock) {
        Ok(Received::Msg(Msg::Mapped)) => {}
        Ok(_) => return Err(Failure::new(Step::Protocol, Errno::EPROTO)),
        Err(e) => return Err(Failure::new(Step::Protocol, e)),
    }
    syscall::set_gid(0).map_err(|e| Failure::new(Step::UserNamespace, e))?;
    syscall::set_uid(0).map_err(|e| Failure::new(Step::UserNamespace, e))?;
    // Not yet exec'd, this process's memory belongs to the host's user namespace, so while it is
    // non-dumpable its /proc/self/fd is the host root's, whom the mapped root is not: the
    // fd-based mounts need it. Dumpable again until the exec fifo is open (see become_process).
    nix::sys::prctl::set_dumpable(true).map_err(|e| Failure::new(Step::NotDumpable, e))
}

fn ns_name(flag: CloneFlags) -> &'static str {
    match flag {
        CloneFlags::CLONE_NEWNET => "net",
        CloneFlags::CLONE_NEWUTS => "uts",
        CloneFlags::CLONE_NEWIPC => "ipc",
        CloneFlags::CLONE_NEWCGROUP => "cgroup",
        _ => "namespace",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxBuilder, LinuxIdMappingBuilder};

    fn line(inside: u32, outside: u32, size: u32) -> LinuxIdMapping {
        LinuxIdMappingBuilder::default()
            .container_id(inside)
            .host_id(outside)
            .size(size)
            .build()
            .unwrap()
    }

    fn linux(uid: Vec<LinuxIdMapping>, gid: Vec<LinuxIdMapping>) -> Linux {
        LinuxBuilder::default()
            .uid_mappings(uid)
            .gid_mappings(gid)
            .build()
            .unwrap()
    }

    #[test]
    fn maps_become_the_kernels_text_and_name_the_root() {
        let l = linux(
            vec![line(0, 100000, 1), line(1, 200001, 65535)],
            vec![line(0, 100000, 65536)],
        );
        let maps = from_spec(&l, true).unwrap().unwrap();
        assert_eq!(maps.uid, "0 100000 1\n1 200001 65535\n");
        assert_eq!(from_spec(&linux(vec![], vec![]), false).unwrap(), None);
    }

    #[test]
    fn bad_maps_are_refused_naming_the_field() {
        let one = || vec![line(0, 100000, 65536)];
        let cases = [
            (linux(one(), one()), false, "no new user namespace"),
            (linux(vec![], one()), true, "linux.uidMappings"),
            (
                linux(one(), vec![line(0, 1000, 10), line(5, 5000, 10)]),
                true,
                "overlaps",
            ),
            (
                linux(one(), vec![line(0, 1000, 10), line(100, 1005, 10)]),
                true,
                "overlaps",
            ),
            (
                linux((0..341).map(|i| line(i, 100000 + i, 1)).collect(), one()),
                true,
                "over the kernel's 340",
            ),
            (linux(vec![line(0, u32::MAX, 2)], one()), true, "past 2^32"),
        ];
        for (l, new, want) in cases {
            let err = from_spec(&l, new).unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        }
    }
}
