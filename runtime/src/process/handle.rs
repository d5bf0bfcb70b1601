//! The handles shared by a new container and a process in a running one: the child (killed and
//! reaped unless reaped), where its terminal output goes, and the fd helpers used before a clone.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::signal::{kill, Signal};
use nix::sys::stat::Mode;
use nix::unistd::Pid;

use super::{Exit, ProcessError};
use crate::syscall;

/// Our child: SIGKILLed and reaped on drop unless already reaped.
pub(super) struct Child {
    pub pid: Pid,
    pub pidfd: OwnedFd,
    reaped: bool,
}

impl Child {
    pub fn new(pid: Pid, pidfd: OwnedFd) -> Child {
        Child {
            pid,
            pidfd,
            reaped: false,
        }
    }

    /// Let it live on without us (OCI `create`: the engine's shim reaps it); its pid.
    pub fn release(mut self) -> i32 {
        self.reaped = true;
        self.pid.as_raw()
    }

    /// Block until it ends; reaps it.
    pub fn reap(&mut self) -> Result<Exit, ProcessError> {
        let status = syscall::wait_exit(self.pid).map_err(|source| ProcessError::Wait {
            pid: self.pid.as_raw(),
            source,
        })?;
        self.reaped = true;
        Ok(Exit::from_wait_status(status))
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.reaped {
            // Unreaped, the pid cannot have been reused: this kills our child and nothing else.
            // Nothing to report to from a drop; the reap below is what matters.
            let _ = kill(self.pid, Signal::SIGKILL);
            let _ = syscall::wait_exit(self.pid);
        }
    }
}

/// Where the container's terminal output goes and whether den's stdin is relayed.
pub(super) struct Io {
    pub master: Option<OwnedFd>,
    pub out: Option<OwnedFd>,
    pub relay_stdin: bool,
}

pub(super) fn prepare(
    op: &'static str,
    culprit: impl Into<String>,
) -> impl FnOnce(Errno) -> ProcessError {
    let culprit = culprit.into();
    move |source| ProcessError::Prepare {
        op,
        culprit,
        source,
    }
}

/// Keep fds the child dup2s onto 0-2 out of that range (den may run with stdio closed).
pub(super) fn above_stdio(fd: OwnedFd) -> Result<OwnedFd, ProcessError> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    syscall::dup_above_stdio(fd.as_fd()).map_err(prepare("move above stdio", "an fd"))
}

pub(super) fn dup(
    fd: &Option<OwnedFd>,
    what: &'static str,
) -> Result<Option<OwnedFd>, ProcessError> {
    fd.as_ref()
        .map(|f| syscall::dup_above_stdio(f.as_fd()).map_err(prepare("duplicate", what)))
        .transpose()
}

pub(super) fn open_path(path: &Path, op: &'static str) -> Result<OwnedFd, ProcessError> {
    let fd = open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(prepare(op, path.display().to_string()))?;
    above_stdio(fd)
}

/// `/dev/null` as the child's stdin, unless it reads den's stdin or a terminal.
pub(super) fn null_stdin(keep: bool) -> Result<Option<OwnedFd>, ProcessError> {
    match keep {
        true => Ok(None),
        false => open_path(Path::new("/dev/null"), "open").map(Some),
    }
}
