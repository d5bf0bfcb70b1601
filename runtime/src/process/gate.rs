//! An OCI container between `create` and `start`: set up, waiting at its exec fifo.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::signalfd::SignalFd;
use nix::sys::stat::Mode;
use nix::unistd::write;

use super::handle::{prepare, Child, Io};
use super::sync::{receive, Msg, Received};
use super::wait::Running;
use super::ProcessError;

/// A container set up to its exec gate. Dropping it kills and reaps it, unless
/// [`Gated::detach`]ed (the runtime binary exits; the engine's shim is the parent).
pub struct Gated {
    child: Child,
    sock: OwnedFd,
    io: Io,
    signals: SignalFd,
}

impl Gated {
    pub(super) fn new(child: Child, sock: OwnedFd, io: Io, signals: SignalFd) -> Gated {
        Gated {
            child,
            sock,
            io,
            signals,
        }
    }

    /// Host PID of the container's PID 1.
    pub fn pid(&self) -> i32 {
        self.child.pid.as_raw()
    }

    /// The pty master with a terminal (sent to the engine's console socket).
    pub fn take_terminal(&mut self) -> Option<OwnedFd> {
        self.io.master.take()
    }

    /// Leave the container waiting for a later `start`; its pid.
    pub fn detach(self) -> i32 {
        self.child.release()
    }

    /// `start` in this same process (`den-runtime run`): release the gate, and return once the
    /// exec happened (the child's close-on-exec socket end closed) or with its error.
    pub fn release(self, fifo: &Path) -> Result<Running, ProcessError> {
        let pid = self.pid();
        open_gate(fifo)?;
        match receive(self.sock.as_fd()) {
            Ok(Received::Eof) => Ok(Running::new(self.child, self.io, self.signals, Vec::new())),
            Ok(Received::Msg(Msg::Failed(f))) => Err(ProcessError::Setup {
                step: f.step,
                culprit: fifo.display().to_string(),
                source: f.errno,
            }),
            Ok(other) => Err(ProcessError::Protocol {
                pid,
                phase: "waiting for exec",
                got: format!("{other:?}"),
            }),
            Err(source) => Err(ProcessError::Sync {
                pid,
                op: "wait for exec",
                source,
            }),
        }
    }
}

/// OCI `start`: write the byte the container's PID 1 waits for at `fifo`. ENXIO (no reader):
/// nothing waits there, it died or was started already.
pub fn open_gate(fifo: &Path) -> Result<(), ProcessError> {
    let culprit = fifo.display().to_string();
    let fd = open(
        fifo,
        OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| match e {
        Errno::ENXIO => ProcessError::NotWaiting {
            fifo: culprit.clone(),
        },
        e => prepare("open the exec fifo", culprit.clone())(e),
    })?;
    write(fd.as_fd(), b"0").map_err(prepare("write the exec fifo", culprit))?;
    Ok(())
}
