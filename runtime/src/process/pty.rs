//! `-t`: a pty opened in the parent before the clone (the child makes the slave its controlling
//! terminal); den relays between its own stdio and the master, with the host tty in raw mode.
//! A new container gets a pty of den's /dev/ptmx (bound on its /dev/console); `den exec` one of
//! the container's own devpts instance, so the process finds its tty at /dev/pts/N in there.

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{fcntl, openat2, FcntlArg, OFlag, OpenHow, ResolveFlag};
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::stat::{fstat, stat};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg, Termios};
use nix::unistd::isatty;

use super::ProcessError;
use crate::syscall;

fn prepare(op: &'static str) -> impl Fn(Errno) -> ProcessError {
    move |source| ProcessError::Prepare {
        op,
        culprit: "the container's terminal".into(),
        source,
    }
}

/// A new pty for the container.
pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
    /// The slave's path in den's mount namespace (`/dev/pts/N`), if it really is that node:
    /// the child bind-mounts it on /dev/console (a bind needs a path in the child's own mount
    /// namespace, not an fd from den's).
    pub path: Option<CString>,
}

/// A new pty (both ends close-on-exec), sized like den's terminal if it has one.
pub fn open() -> Result<Pty, ProcessError> {
    let flags = OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
    let master = posix_openpt(flags).map_err(prepare("open a pty for"))?;
    grantpt(&master).map_err(prepare("grant a pty for"))?;
    unlockpt(&master).map_err(prepare("unlock a pty for"))?;
    let name = ptsname_r(&master).map_err(prepare("name the pty of"))?;
    let master = OwnedFd::from(master);
    let slave = syscall::open_pty_peer(master.as_fd()).map_err(prepare("open the pty slave of"))?;
    copy_window_size(master.as_fd()).map_err(prepare("size"))?;
    let same = match (stat(name.as_str()), fstat(&slave)) {
        (Ok(by_path), Ok(by_fd)) => by_path.st_rdev == by_fd.st_rdev,
        _ => false,
    };
    let path = same.then(|| CString::new(name).ok()).flatten();
    Ok(Pty {
        master,
        slave,
        path,
    })
}

/// A new pty of the devpts instance mounted at `dev/pts` under `root` (a running container's
/// root directory), opened with `root` as `/` so no symlink in the container can lead elsewhere.
/// No path: the slave's name is only meaningful inside the container.
pub fn open_in(root: BorrowedFd<'_>) -> Result<Pty, ProcessError> {
    let how = OpenHow::new()
        .flags(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let master = openat2(root, "dev/pts/ptmx", how).map_err(|source| ProcessError::Prepare {
        op: "open",
        culprit: "the container's /dev/pts/ptmx".into(),
        source,
    })?;
    syscall::unlock_pty(master.as_fd()).map_err(prepare("unlock a pty for"))?;
    let slave = syscall::open_pty_peer(master.as_fd()).map_err(prepare("open the pty slave of"))?;
    copy_window_size(master.as_fd()).map_err(prepare("size"))?;
    Ok(Pty {
        master,
        slave,
        path: None,
    })
}

/// Copy den's terminal size (stdin's, or else stdout's) to the pty; no terminal: nothing to do.
pub fn copy_window_size(master: BorrowedFd<'_>) -> Result<(), Errno> {
    let (stdin, stdout) = (std::io::stdin(), std::io::stdout());
    let tty = [stdin.as_fd(), stdout.as_fd()]
        .into_iter()
        .find(|fd| isatty(fd).unwrap_or(false));
    match tty {
        Some(tty) => syscall::set_window_size(master, &syscall::window_size(tty)?),
        None => Ok(()),
    }
}

/// Make the master non-blocking for the relay loop.
pub fn set_nonblocking(fd: BorrowedFd<'_>) -> Result<(), Errno> {
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).map(drop)
}

/// den's stdin in raw mode while relaying; restored by `restore` or on drop (also on error).
pub struct RawMode {
    saved: Option<Termios>,
}

impl RawMode {
    /// Raw mode on den's stdin if it is a terminal; otherwise a no-op guard.
    pub fn enter() -> Result<RawMode, ProcessError> {
        let stdin = std::io::stdin();
        if !isatty(stdin.as_fd()).unwrap_or(false) {
            return Ok(RawMode { saved: None });
        }
        let relay = |op| move |source| ProcessError::Relay { op, source };
        let saved = tcgetattr(stdin.as_fd()).map_err(relay("read the terminal mode"))?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).map_err(relay("set raw mode"))?;
        Ok(RawMode { saved: Some(saved) })
    }

    pub fn restore(mut self) -> Result<(), ProcessError> {
        match self.saved.take() {
            Some(saved) => {
                tcsetattr(std::io::stdin().as_fd(), SetArg::TCSADRAIN, &saved).map_err(|source| {
                    ProcessError::Relay {
                        op: "restore the terminal mode",
                        source,
                    }
                })
            }
            None => Ok(()),
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = self.saved.take() {
            // Best effort on an error path; `restore` reports failures on the normal path.
            let _ = tcsetattr(std::io::stdin().as_fd(), SetArg::TCSADRAIN, &saved);
        }
    }
}
