//! `den stop` and `den kill`: signals to a container's PID 1.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;

use super::{is_running, wait_gone, wait_recorded, LifecycleError};
use crate::events::{self, Event};
use crate::state::{self, Container, Store};

/// `9`, `KILL`, `SIGKILL`, `kill` -> SIGKILL.
pub fn parse_signal(s: &str) -> Result<Signal, LifecycleError> {
    let bad = || LifecycleError::BadSignal(s.to_string());
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| bad());
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&name).map_err(|_| bad())
}

/// Send `sig` to the container's PID 1, if it is still the process the record names.
pub(crate) fn send(store: &Store, c: &Container, sig: Signal) -> Result<(), LifecycleError> {
    let (Some(pid), Some(start)) = (c.pid, c.pid_start) else {
        return Err(LifecycleError::NotRunning(c.name.clone()));
    };
    // A pid recycled between this check and the kill would need the pid space to wrap around in
    // between; the start time check rules out everything short of that.
    if !state::same_process(pid, start) {
        return Err(LifecycleError::NotRunning(c.name.clone()));
    }
    match signal::kill(Pid::from_raw(pid), sig) {
        Ok(()) | Err(Errno::ESRCH) => {
            events::emit(
                store.root(),
                Event::container(c, "kill").attr("signal", sig as i32),
            );
            Ok(())
        }
        Err(source) => Err(LifecycleError::Kill {
            name: c.name.clone(),
            pid,
            signal: sig.as_str().to_string(),
            source,
        }),
    }
}

fn running(store: &Store, key: &str) -> Result<Container, LifecycleError> {
    let c = store.find(key)?;
    if !is_running(&c) {
        return Err(LifecycleError::NotRunning(c.name));
    }
    Ok(c)
}

/// `den kill [-s SIG] NAME`: send `sig` to the container's PID 1 and return (docker's semantics:
/// PID 1 ignores signals it has no handler for, except SIGKILL). Returns the name.
pub fn kill(root: &Path, key: &str, sig: Signal) -> Result<String, LifecycleError> {
    let store = Store::new(root);
    let c = running(&store, key)?;
    send(&store, &c, sig)?;
    super::pause::thaw_for_signal(&store, &c)?;
    Ok(c.name)
}

/// `den stop [-t SECS] NAME`: SIGTERM, SIGKILL if it still runs after `grace`; returns (the name)
/// once its supervisor has recorded the exit.
pub fn stop(root: &Path, key: &str, grace: Duration) -> Result<String, LifecycleError> {
    stop_container(root, key, Some(grace))
}

/// docker's default grace when neither `-t` nor `--stop-timeout` says.
const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// `den stop [-t SECS] NAME`: the container's `--stop-signal` (SIGTERM by default), SIGKILL if it
/// still runs after `grace` (else its `--stop-timeout`, else 10 s); returns (the name) once its
/// supervisor has recorded the exit. It is marked stopped by hand first, so its restart policy
/// does not start it again; a container waiting to be restarted stays exited.
pub fn stop_container(
    root: &Path,
    key: &str,
    grace: Option<Duration>,
) -> Result<String, LifecycleError> {
    let store = Store::new(root);
    let found = store.find(key)?;
    if !is_running(&found) && !super::is_restarting(&found) {
        return Err(LifecycleError::NotRunning(found.name));
    }
    let c = super::end_restarting(&store, &found)?;
    if !is_running(&c) {
        return Ok(c.name);
    }
    let grace = grace
        .or(c.life.stop_timeout.map(Duration::from_secs))
        .unwrap_or(DEFAULT_GRACE);
    let first = match &c.life.stop_signal {
        Some(s) => parse_signal(s)?,
        None => Signal::SIGTERM,
    };
    send(&store, &c, first)?;
    super::pause::thaw_for_signal(&store, &c)?;
    if !wait_gone(&c, grace) {
        match send(&store, &c, Signal::SIGKILL) {
            // It ended just now.
            Err(LifecycleError::NotRunning(_)) => {}
            r => r?,
        }
        if !wait_gone(&c, Duration::from_secs(10)) {
            return Err(LifecycleError::Unkillable {
                name: c.name,
                pid: c.pid.unwrap_or(0),
            });
        }
    }
    wait_recorded(&store, &c)?;
    events::emit(root, Event::container(&c, "stop"));
    Ok(c.name)
}
