//! Bounded polling: every wait has a deadline and panics with what it was waiting for.

use std::fmt::Debug;
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How long the harness waits for a container to come up or a port to answer.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Polls `ready` until it returns true; panics after `timeout` naming `what`.
pub fn wait_until(timeout: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    wait_for(timeout, what, || ready().then_some(()))
}

/// Polls `probe` until it returns `Some`; panics after `timeout` naming `what`.
pub fn wait_for<T>(timeout: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(2);
    loop {
        if let Some(v) = probe() {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Polls `probe` until it returns `Ok`; panics after `timeout` with `what` and the last error.
pub fn wait_ok<T, E: Debug>(
    timeout: Duration,
    what: &str,
    mut probe: impl FnMut() -> Result<T, E>,
) -> T {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(2);
    loop {
        let last = match probe() {
            Ok(v) => return v,
            Err(e) => e,
        };
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}; last error: {last:?}");
        }
        sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}
