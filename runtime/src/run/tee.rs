//! A foreground `den run`'s (and `den start -a`'s) output kept as a detached one's: the container's
//! stdout and stderr are pipes, as under a supervisor, and a small forked process, the tee, reads
//! them: it echoes the attached streams (`-a`, default both) to den's own stdout and stderr as they
//! come and writes every line to the container's log ([`super::relay`]: json-file, `--log-opt`
//! rotation), while den waits for the container, forwards signals and relays a pty as before. With
//! `-t` den's pty relay writes into the stdout pipe: the log then has one stream, stdout, as
//! docker's. With `--rm` nobody could read the log afterwards: no log is written, and unless `-a`
//! hides a stream the container writes to den's stdio directly (no tee at all, the hot path).
//!
//! A process rather than a thread: den stays single-threaded, so its teardown may still fork the
//! helper that waits out the kernel's slow deletes off the terminal (`unplug`); a thread only if den
//! has more than one already (a fork then is unsound). The tee ends when
//! both pipes reach EOF: PID 1's end kills its PID namespace, whose processes hold the write ends.
//! den waits for it before it returns, so the log is whole when `den run` is.

use std::os::fd::{AsFd, OwnedFd, RawFd};
use std::path::Path;

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::Pid;

use super::relay::Relay;
use crate::syscall;

/// Which of the container's output streams reach den's terminal (`-a`; both by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attached {
    pub stdout: bool,
    pub stderr: bool,
}

impl Default for Attached {
    fn default() -> Self {
        Attached {
            stdout: true,
            stderr: true,
        }
    }
}

/// The running tee, waited for by [`Tee::wait`]: a process, or (should den not be single-threaded
/// after all) a thread of den's; the teardown then does its slow deletes itself.
pub(crate) enum Tee {
    Process(Pid),
    Thread(std::thread::JoinHandle<Result<(), Errno>>),
}

/// Whether a foreground run needs the pipes and the tee: a log to keep, or a stream to hide.
pub(crate) fn wanted(keep_log: bool, attached: Attached) -> bool {
    keep_log || attached != Attached::default()
}

/// Fork the tee of the container whose dir is `dir`, over its output pipes `logs`; `log`: the
/// `--log-opt` limits when a log is kept. den must be single-threaded (it is, after the launch).
pub(crate) fn start(
    dir: &Path,
    logs: (OwnedFd, OwnedFd),
    log: Option<(Option<u64>, Option<u32>)>,
    attached: Attached,
) -> Result<Tee, std::io::Error> {
    let echo = |on: bool, fd: std::os::fd::BorrowedFd<'_>| {
        on.then(|| syscall::dup_above_stdio(fd)).transpose()
    };
    let out = echo(attached.stdout, std::io::stdout().as_fd())?;
    let err = echo(attached.stderr, std::io::stderr().as_fd())?;
    let relay = Relay::with_log(dir, logs.0, logs.1, log)?.echo(out, err);
    if !super::single_threaded() {
        // The container's signals stay blocked in it: they are den's to forward.
        return Ok(Tee::Thread(std::thread::spawn(move || run(relay))));
    }
    match syscall::fork_single_threaded()? {
        Some(pid) => Ok(Tee::Process(pid)),
        None => {
            // A copy of den: it must never unwind into den's guards (they would kill the
            // container), so it leaves by `_exit` whatever happens. Its copies of den's other
            // fds go first: with -t, den's own end of the stdout pipe (the tee would never see
            // EOF), the pty master, the container's pidfd.
            close_others(&relay.raw_fds());
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(relay)));
            syscall::exit_now(match code {
                Ok(Ok(())) => 0,
                _ => 1,
            })
        }
    }
}

/// The tee's loop: relay until both pipes are at EOF. A log write that fails is retried with the
/// next line; the pipes are always drained, so the container never blocks on a full one.
fn run(mut relay: Relay) -> Result<(), Errno> {
    let mut failed = false;
    loop {
        let ready: Vec<usize> = {
            let streams = relay.fds();
            if streams.is_empty() {
                break;
            }
            let mut fds: Vec<PollFd> = streams
                .iter()
                .map(|(_, fd)| PollFd::new(*fd, PollFlags::POLLIN))
                .collect();
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e),
            }
            streams
                .iter()
                .zip(&fds)
                .filter(|(_, f)| f.revents().is_some_and(|r| !r.is_empty()))
                .map(|((i, _), _)| *i)
                .collect()
        };
        for i in ready {
            failed |= relay.read(i).is_err();
        }
    }
    failed |= relay.finish().is_err();
    match failed {
        true => Err(Errno::EIO),
        false => Ok(()),
    }
}

/// Close every fd above stdio but `keep`. Only in the tee, a copy of den that never drops the
/// handles that owned them in den (it leaves by `_exit`).
fn close_others(keep: &[RawFd]) {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let open: Vec<RawFd> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    for fd in open.into_iter().filter(|fd| *fd > 2 && !keep.contains(fd)) {
        // EBADF: the listing's own fd, closed already.
        let _ = nix::unistd::close(fd);
    }
}

impl Tee {
    /// Wait for the tee to have relayed and logged everything; false if its log is incomplete.
    pub fn wait(self) -> bool {
        match self {
            Tee::Process(pid) => matches!(syscall::wait_exit(pid), Ok(0)),
            Tee::Thread(t) => matches!(t.join(), Ok(Ok(()))),
        }
    }
}
