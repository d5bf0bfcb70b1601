//! Verbs on existing containers: `den rm`, `stop`, `kill`, `top`, and what they share: whether a
//! container really runs, and waiting for its supervisor to record its exit.
//!
//! A record saying "running" is believed only while the process it names (pid AND start time) is
//! there; `observed` shows the container as it is. The supervisor (`den run` itself, or a detached
//! container's) detaches the network and then records the exit, so "the record says exited" means
//! the teardown is done.

mod pause;
mod remove;
mod signal;
mod top;

use std::time::{Duration, Instant};

use nix::errno::Errno;

use crate::state::{self, Container, StateError, Status, Store};

pub use pause::{pause, rename, unpause, wait};
pub use remove::{prune, remove};
pub use signal::{kill, parse_signal, stop, stop_container};
pub use top::{top, TopEntry};

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("container {0} is running: stop it first or use rm -f")]
    Running(String),
    #[error("container {0} is not running")]
    NotRunning(String),
    #[error("sending signal {signal} to container {name} (pid {pid})")]
    Kill {
        name: String,
        pid: i32,
        signal: String,
        #[source]
        source: Errno,
    },
    #[error("invalid signal {0:?}: use a number or a name like TERM or SIGKILL")]
    BadSignal(String),
    #[error("container {name} (pid {pid}) did not end after SIGKILL")]
    Unkillable { name: String, pid: i32 },
    #[error("reading the processes of container {name}: {path}")]
    Proc {
        name: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Detach(#[from] den_netcfg::DetachError),
    #[error(transparent)]
    Hosts(#[from] crate::hosts::HostsError),
    #[error(transparent)]
    Volume(#[from] crate::volume::VolumeError),
    #[error(transparent)]
    Freezer(#[from] crate::cgroups::FreezerError),
    #[error("container {0} is already paused")]
    AlreadyPaused(String),
    #[error("container {0} is not paused")]
    NotPaused(String),
}

/// Is the container's PID 1 there (the very process the record names, not a reuse of its pid) and
/// not a zombie waiting for its supervisor to reap it?
pub fn is_running(c: &Container) -> bool {
    c.status == Status::Running
        && matches!((c.pid, c.pid_start), (Some(p), Some(s)) if state::same_process(p, s) && !zombie(p))
}

/// Field 3 of /proc/PID/stat is `Z`.
fn zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')')
                .and_then(|i| s[i + 1..].split_whitespace().next().map(|f| f == "Z"))
        })
        .unwrap_or(false)
}

/// Is the process that records the container's exit there?
pub fn supervisor_alive(c: &Container) -> bool {
    c.supervisor
        .is_some_and(|(pid, start)| state::same_process(pid, start))
}

/// The container as it is: a record saying "running" whose process is gone shows as exited (with
/// the exit code unknown until its supervisor, if alive, records it).
pub fn observed(c: &Container) -> Container {
    let mut c = c.clone();
    if c.status == Status::Running && !is_running(&c) {
        c.status = Status::Exited;
    }
    c
}

/// Find a container by name or id, as it is (see [`observed`]).
pub fn find(store: &Store, key: &str) -> Result<Container, StateError> {
    store.find(key).map(|c| observed(&c))
}

const POLL: Duration = Duration::from_millis(10);

/// Wait (up to `timeout`) until the container's PID 1 is gone; returns whether it is.
pub(crate) fn wait_gone(c: &Container, timeout: Duration) -> bool {
    let start = Instant::now();
    loop {
        if !is_running(c) {
            return true;
        }
        if start.elapsed() >= timeout {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// Once the container's PID 1 is gone: wait until its supervisor has recorded the exit (the record
/// stops saying "running", or the container was removed: `None`). Stops waiting when the supervisor
/// is gone too (it was killed: `den gc` cleans up after it) or after 10 seconds.
pub fn wait_recorded(store: &Store, c: &Container) -> Result<Option<Container>, StateError> {
    let start = Instant::now();
    loop {
        let current = match store.load_id(&c.id) {
            Ok(now) => now,
            Err(StateError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let waiting = current.status == Status::Running
            && supervisor_alive(&current)
            && start.elapsed() < Duration::from_secs(10);
        if !waiting {
            return Ok(Some(current));
        }
        std::thread::sleep(POLL);
    }
}

/// Is its supervisor waiting out a restart policy's backoff (docker's "restarting")?
pub fn is_restarting(c: &Container) -> bool {
    c.status == Status::Exited && c.life.restarting && supervisor_alive(c)
}

/// `den stop`/`den rm -f`: mark the container stopped by hand (its supervisor does not restart it
/// then); if its supervisor is waiting to restart it, wait until it has given up (it looks for
/// the mark every 50 ms) and return the record as it is then (it may have just started again).
pub(crate) fn end_restarting(store: &Store, c: &Container) -> Result<Container, StateError> {
    c.set_stopped_by_hand(store, true)?;
    let start = Instant::now();
    loop {
        let now = store.load_id(&c.id)?;
        if !is_restarting(&now) || start.elapsed() >= Duration::from_secs(10) {
            return Ok(now);
        }
        std::thread::sleep(POLL);
    }
}
