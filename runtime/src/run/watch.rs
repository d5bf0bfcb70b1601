//! What the waiting supervisor waits on, with poll (no signals, no thread): the container's PID 1
//! (a pidfd), its output pipes (relayed to its log as they become readable), and, while a health
//! check runs, the check's process.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::relay::Relay;
use crate::syscall;

/// What ended a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Woke {
    /// The container's PID 1 ended (it can be reaped).
    Container,
    /// The other process waited for ended.
    Other,
    Timeout,
}

pub(crate) struct Watch {
    container: OwnedFd,
    relay: Option<Relay>,
    root: PathBuf,
    id: String,
}

impl Watch {
    pub fn new(root: &Path, id: &str, pid: i32, relay: Option<Relay>) -> Result<Watch, Errno> {
        Ok(Watch {
            container: syscall::pidfd_open(pid)?,
            relay,
            root: root.to_path_buf(),
            id: id.to_string(),
        })
    }

    /// Wait until the container ends, `other`'s process ends or `timeout` (None: no limit)
    /// passes, relaying the container's output meanwhile.
    pub fn wait(&mut self, other: Option<&OwnedFd>, timeout: Option<Duration>) -> Woke {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                return Woke::Timeout;
            }
            let poll_timeout = match left {
                None => PollTimeout::NONE,
                Some(l) => PollTimeout::try_from(l.as_millis().clamp(1, i32::MAX as u128) as i32)
                    .unwrap_or(PollTimeout::MAX),
            };
            let (woke, ready) = {
                let mut fds = vec![PollFd::new(self.container.as_fd(), PollFlags::POLLIN)];
                if let Some(o) = other {
                    fds.push(PollFd::new(o.as_fd(), PollFlags::POLLIN));
                }
                let streams = self.relay.as_ref().map(Relay::fds).unwrap_or_default();
                let first_stream = fds.len();
                fds.extend(
                    streams
                        .iter()
                        .map(|(_, fd)| PollFd::new(*fd, PollFlags::POLLIN)),
                );
                match poll(&mut fds, poll_timeout) {
                    Ok(0) | Err(Errno::EINTR) => continue,
                    // It cannot fail on valid fds; rather than spin, wait as if nothing came.
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                    Ok(_) => {}
                }
                let is_ready = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
                let ready: Vec<usize> = streams
                    .iter()
                    .zip(&fds[first_stream..])
                    .filter(|(_, f)| is_ready(f))
                    .map(|((i, _), _)| *i)
                    .collect();
                let woke = if is_ready(&fds[0]) {
                    Some(Woke::Container)
                } else if other.is_some() && is_ready(&fds[1]) {
                    Some(Woke::Other)
                } else {
                    None
                };
                (woke, ready)
            };
            for i in ready {
                self.relay_read(i);
            }
            if let Some(w) = woke {
                return w;
            }
        }
    }

    fn relay_read(&mut self, i: usize) {
        if let Some(r) = self.relay.as_mut() {
            if let Err(e) = r.read(i) {
                super::supervisor::note(&self.root, &self.id, &format!("logging: {e}"));
            }
        }
    }

    /// Once the container has ended: the rest of its output.
    pub fn finish(&mut self) {
        if let Some(r) = self.relay.as_mut() {
            if let Err(e) = r.finish() {
                super::supervisor::note(&self.root, &self.id, &format!("logging: {e}"));
            }
        }
    }
}
