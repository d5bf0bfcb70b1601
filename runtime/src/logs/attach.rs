//! `den attach NAME`: docker's verb for a running container, made from what den has without a
//! daemon. The container's output is followed in its log from now on (`den logs -f --tail 0`:
//! each line to its own stream, a few tens of ms late), the signals den gets are passed to its
//! PID 1 as `den kill` sends them (`--sig-proxy`, default true; false: a signal ends den alone,
//! docker's detach), and den exits with the container's status once its exit is recorded.
//!
//! stdin is never attached: a detached den container has none open (`-d` refuses `-i`), and a
//! foreground one's is its own den's terminal.

use std::os::fd::AsFd;
use std::path::Path;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::SigSet;
use nix::sys::signalfd::{SfdFlags, SignalFd};

use super::{logs, LogsError, LogsOptions, Sinks};
use crate::lifecycle::{self, LifecycleError};
use crate::process::FORWARDED_SIGNALS;
use crate::state::Store;

/// Attach to running container `key`, its output on den's; returns its exit status once it ended.
pub fn attach(root: &Path, key: &str, sig_proxy: bool) -> Result<i32, LogsError> {
    let store = Store::new(root);
    let c = store.find(key)?;
    if !lifecycle::is_running(&c) {
        return Err(LogsError::NotRunning(c.name));
    }
    crate::events::emit(root, crate::events::Event::container(&c, "attach"));
    let follow = LogsOptions {
        follow: true,
        tail: Some(0),
        ..Default::default()
    };
    let follow_now = || {
        let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
        let mut sinks = Sinks {
            stdout: &mut out,
            stderr: &mut err,
        };
        logs(root, &c.id, &follow, &mut sinks)
    };
    if !sig_proxy {
        follow_now()?;
        return exit_status(root, &c.id);
    }
    // Blocked before the follower thread starts (it inherits the mask): they wait in the signalfd.
    let mut set = SigSet::empty();
    FORWARDED_SIGNALS.iter().for_each(|s| set.add(*s));
    let signals = set
        .thread_block()
        .and_then(|()| SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC))
        .map_err(|e| LogsError::Signals(e.into()))?;
    let (done_r, done_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| LogsError::Signals(e.into()))?;
    let followed = std::thread::scope(|s| {
        let follower = s.spawn(|| {
            let r = follow_now();
            drop(done_w);
            r
        });
        loop {
            let mut fds = [
                PollFd::new(signals.as_fd(), PollFlags::POLLIN),
                PollFd::new(done_r.as_fd(), PollFlags::POLLIN),
            ];
            let _ = poll(&mut fds, PollTimeout::NONE);
            let done = fds[1].revents().is_some_and(|r| !r.is_empty());
            while let Ok(Some(info)) = signals.read_signal() {
                if let Ok(sig) = nix::sys::signal::Signal::try_from(info.ssi_signo as i32) {
                    // It may have ended meanwhile: the follower finds out.
                    let _ = lifecycle::kill(root, &c.id, sig);
                }
            }
            if done {
                break;
            }
        }
        follower.join().unwrap_or(Ok(()))
    });
    followed?;
    exit_status(root, &c.id)
}

/// Its exit code once recorded (`den wait`'s); removed meanwhile (`--rm`): gone with it.
fn exit_status(root: &Path, id: &str) -> Result<i32, LogsError> {
    match lifecycle::wait(root, id) {
        Ok(code) => Ok(code),
        Err(LifecycleError::State(e)) => Err(e.into()),
        Err(e) => Err(LogsError::Wait(Box::new(e))),
    }
}
