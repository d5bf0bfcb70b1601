//! A running container, pinned: its record and a pidfd of its PID 1, verified by (pid, start
//! time) — never by a bare pid, which the kernel may have given to another process since.

use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::stat::Mode;

use crate::state::{self, Container, StateError, Status, Store};
use crate::syscall;

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("container {0} is not running")]
    NotRunning(String),
    #[error("cannot open a pidfd for container {name} (pid {pid})")]
    Pidfd {
        name: String,
        pid: i32,
        #[source]
        source: Errno,
    },
    #[error("cannot open {path} of container {name}")]
    Open {
        name: String,
        path: PathBuf,
        #[source]
        source: Errno,
    },
}

/// A container whose PID 1 was running when opened; the pidfd keeps referring to that process.
#[derive(Debug)]
pub struct Target {
    pub record: Container,
    pub pid: i32,
    pub pidfd: OwnedFd,
}

impl Target {
    /// Find `key` (name, id or id prefix) in `store` and pin its PID 1.
    pub fn open(store: &Store, key: &str) -> Result<Target, TargetError> {
        let record = store.find(key)?;
        let (pid, start) = match (record.status, record.pid, record.pid_start) {
            (Status::Running, Some(pid), Some(start)) => (pid, start),
            _ => return Err(TargetError::NotRunning(record.name)),
        };
        let pidfd = match syscall::pidfd_open(pid) {
            Ok(fd) => fd,
            Err(Errno::ESRCH) => return Err(TargetError::NotRunning(record.name)),
            Err(source) => {
                return Err(TargetError::Pidfd {
                    name: record.name,
                    pid,
                    source,
                })
            }
        };
        // The pidfd refers to whichever process has the pid now: the container's only if it
        // started when the container's did. Checked after opening, so no reuse slips between.
        if !state::same_process(pid, start) {
            return Err(TargetError::NotRunning(record.name));
        }
        let target = Target { record, pid, pidfd };
        match target.alive() {
            true => Ok(target),
            // Exited, and its den has not recorded it yet.
            false => Err(TargetError::NotRunning(target.record.name)),
        }
    }

    /// Is the container's PID 1 still running? A pidfd turns readable when its process exits;
    /// while it has not, the pid cannot have been reaped and reused either.
    pub fn alive(&self) -> bool {
        let mut fds = [PollFd::new(self.pidfd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::ZERO) {
            Ok(0) => true,
            // Readable (exited), or unknowable: not something to enter.
            _ => false,
        }
    }

    /// Open `/proc/PID/<rel>` (its root, a namespace) of the container's PID 1. Checked to be
    /// alive afterwards, so the file is the container's and not that of a later process given
    /// the same pid.
    pub fn open_proc(&self, rel: &str, flags: OFlag) -> Result<OwnedFd, TargetError> {
        let path = PathBuf::from(format!("/proc/{}/{rel}", self.pid));
        let fd = open(&path, flags | OFlag::O_CLOEXEC, Mode::empty()).map_err(|source| {
            match source {
                // A process's root and namespaces vanish from /proc as it exits.
                Errno::ENOENT | Errno::ESRCH => TargetError::NotRunning(self.record.name.clone()),
                source => TargetError::Open {
                    name: self.record.name.clone(),
                    path: path.clone(),
                    source,
                },
            }
        })?;
        if !self.alive() {
            return Err(TargetError::NotRunning(self.record.name.clone()));
        }
        Ok(fd)
    }
}
