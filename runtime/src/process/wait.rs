//! `Running::wait`: one poll loop over the child's pidfd, the signalfd and (with a terminal)
//! the pty master and den's stdin. No sleeps, no timers.

use std::marker::PhantomData;
use std::os::fd::{AsFd, BorrowedFd};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::sys::signalfd::SignalFd;
use nix::unistd::{read, write};

use super::handle::{Child, Io};
use super::pty::{self, RawMode};
use super::{Exit, ProcessError};

/// A container whose command is running. Dropping it without `wait` kills and reaps it.
pub struct Running {
    child: Child,
    io: Io,
    signals: SignalFd,
    /// Signals that arrived between spawn and start, forwarded when `wait` begins.
    early: Vec<i32>,
    /// The signal mask that routes signals to `signals` is per thread.
    _thread_bound: PhantomData<*const ()>,
}

fn relay_err(op: &'static str) -> impl Fn(Errno) -> ProcessError {
    move |source| ProcessError::Relay { op, source }
}

impl Running {
    pub(super) fn new(child: Child, io: Io, signals: SignalFd, early: Vec<i32>) -> Running {
        Running {
            child,
            io,
            signals,
            early,
            _thread_bound: PhantomData,
        }
    }

    /// Host PID of the container's PID 1.
    pub fn pid(&self) -> i32 {
        self.child.pid.as_raw()
    }

    /// Leave it running without us (OCI `exec --detach`: the engine's shim reaps it); its pid.
    pub fn detach(self) -> i32 {
        self.child.release()
    }

    /// Wait for the container's PID 1, forwarding signals (and relaying the pty), and return
    /// how it ended.
    pub fn wait(mut self) -> Result<Exit, ProcessError> {
        for signal in std::mem::take(&mut self.early) {
            self.forward(signal);
        }
        let raw = match (&self.io.master, self.io.relay_stdin) {
            (Some(_), true) => Some(RawMode::enter()?),
            _ => None,
        };
        let result = self.wait_loop();
        let restored = raw.map(RawMode::restore).transpose();
        let exit = result?;
        restored?;
        Ok(exit)
    }

    fn forward(&self, signal: i32) {
        if signal == libc::SIGWINCH {
            if let Some(master) = &self.io.master {
                // A failed resize is cosmetic; the container keeps running.
                let _ = pty::copy_window_size(master.as_fd());
            }
            return;
        }
        if let Ok(sig) = Signal::try_from(signal) {
            // ESRCH: it is exiting; the pidfd will tell.
            let _ = kill(self.child.pid, sig);
        }
    }

    fn wait_loop(&mut self) -> Result<Exit, ProcessError> {
        let stdout = std::io::stdout();
        let stdin = std::io::stdin();
        let mut relay = match &self.io.master {
            Some(master) => {
                pty::set_nonblocking(master.as_fd())
                    .map_err(relay_err("make the pty non-blocking"))?;
                let out = self.io.out.as_ref().map_or(stdout.as_fd(), |o| o.as_fd());
                let input = self.io.relay_stdin.then(|| stdin.as_fd());
                Some(Relay::new(master.as_fd(), out, input))
            }
            None => None,
        };
        loop {
            let mut fds = vec![
                PollFd::new(self.child.pidfd.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.signals.as_fd(), PollFlags::POLLIN),
            ];
            let polled = relay
                .as_ref()
                .map(|r| r.poll_fds(&mut fds))
                .unwrap_or_default();
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(source) => {
                    return Err(ProcessError::Wait {
                        pid: self.pid(),
                        source,
                    })
                }
            }
            let ready = |i: usize| {
                fds.get(i)
                    .and_then(|f| f.revents())
                    .unwrap_or(PollFlags::empty())
            };
            let (exited, signalled) = (!ready(0).is_empty(), !ready(1).is_empty());
            let events: Vec<PollFlags> = (2..fds.len()).map(ready).collect();
            drop(fds);
            if signalled {
                while let Some(info) = self
                    .signals
                    .read_signal()
                    .map_err(relay_err("read signals"))?
                {
                    self.forward(info.ssi_signo as i32);
                }
            }
            if let Some(r) = &mut relay {
                r.handle(&polled, &events)?;
            }
            if exited {
                break;
            }
        }
        let exit = self.child.reap()?;
        if let Some(r) = &mut relay {
            r.drain()?;
        }
        Ok(exit)
    }
}

/// Copies pty output to `out` and (with `-i`) den's stdin to the pty.
struct Relay<'a> {
    master: BorrowedFd<'a>,
    out: BorrowedFd<'a>,
    input: Option<BorrowedFd<'a>>,
    master_open: bool,
    out_open: bool,
    pending: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq)]
enum Polled {
    Master,
    Input,
}

impl<'a> Relay<'a> {
    fn new(
        master: BorrowedFd<'a>,
        out: BorrowedFd<'a>,
        input: Option<BorrowedFd<'a>>,
    ) -> Relay<'a> {
        Relay {
            master,
            out,
            input,
            master_open: true,
            out_open: true,
            pending: Vec::new(),
        }
    }

    /// Add the fds to poll; returns which relay fd each added entry is, in order.
    fn poll_fds(&self, fds: &mut Vec<PollFd<'a>>) -> Vec<Polled> {
        let mut polled = Vec::with_capacity(2);
        if self.master_open {
            let mut flags = PollFlags::POLLIN;
            if !self.pending.is_empty() {
                flags |= PollFlags::POLLOUT;
            }
            fds.push(PollFd::new(self.master, flags));
            polled.push(Polled::Master);
        }
        // Read stdin only while the pty takes what was read before.
        if let (Some(input), true) = (self.input, self.pending.is_empty() && self.master_open) {
            fds.push(PollFd::new(input, PollFlags::POLLIN));
            polled.push(Polled::Input);
        }
        polled
    }

    fn handle(&mut self, polled: &[Polled], events: &[PollFlags]) -> Result<(), ProcessError> {
        for (which, ev) in polled.iter().copied().zip(events) {
            match which {
                Polled::Master
                    if ev.intersects(
                        PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR,
                    ) =>
                {
                    self.copy_output()?;
                }
                Polled::Input if !ev.is_empty() => self.read_input()?,
                _ => {}
            }
            if which == Polled::Master && ev.contains(PollFlags::POLLOUT) {
                self.flush_input()?;
            }
        }
        Ok(())
    }

    /// Copy what the pty has now to `out`.
    fn copy_output(&mut self) -> Result<(), ProcessError> {
        let mut buf = [0u8; 16384];
        loop {
            match read(self.master, &mut buf) {
                Ok(0) | Err(Errno::EIO) => {
                    // Every slave fd is closed.
                    self.master_open = false;
                    return Ok(());
                }
                Ok(n) => self.write_out(&buf[..n])?,
                Err(Errno::EAGAIN) => return Ok(()),
                Err(Errno::EINTR) => {}
                Err(e) => {
                    return Err(ProcessError::Relay {
                        op: "read the pty",
                        source: e,
                    })
                }
            }
        }
    }

    fn write_out(&mut self, mut data: &[u8]) -> Result<(), ProcessError> {
        while self.out_open && !data.is_empty() {
            match write(self.out, data) {
                Ok(n) => data = &data[n..],
                Err(Errno::EINTR) => {}
                // Nobody reads den's output any more: keep draining the pty, drop the bytes.
                Err(Errno::EPIPE) => self.out_open = false,
                Err(e) => {
                    return Err(ProcessError::Relay {
                        op: "write the container's output",
                        source: e,
                    })
                }
            }
        }
        Ok(())
    }

    fn read_input(&mut self) -> Result<(), ProcessError> {
        let Some(input) = self.input else {
            return Ok(());
        };
        let mut buf = [0u8; 4096];
        match read(input, &mut buf) {
            Ok(0) => self.input = None,
            Ok(n) => {
                self.pending.extend_from_slice(&buf[..n]);
                self.flush_input()?;
            }
            Err(Errno::EINTR | Errno::EAGAIN) => {}
            Err(e) => {
                return Err(ProcessError::Relay {
                    op: "read stdin",
                    source: e,
                })
            }
        }
        Ok(())
    }

    fn flush_input(&mut self) -> Result<(), ProcessError> {
        while !self.pending.is_empty() {
            match write(self.master, &self.pending) {
                Ok(n) => {
                    self.pending.drain(..n);
                }
                Err(Errno::EAGAIN | Errno::EINTR) => return Ok(()),
                Err(Errno::EIO) => {
                    self.pending.clear();
                    self.master_open = false;
                }
                Err(e) => {
                    return Err(ProcessError::Relay {
                        op: "write the pty",
                        source: e,
                    })
                }
            }
        }
        Ok(())
    }

    /// After the exit: copy what is left in the pty.
    fn drain(&mut self) -> Result<(), ProcessError> {
        if self.master_open {
            self.copy_output()?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("pid", &self.pid())
            .finish_non_exhaustive()
    }
}
