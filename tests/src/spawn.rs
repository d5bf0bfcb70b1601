//! Background processes a sandbox started: a handle for the test, and the record the
//! sandbox keeps to stop them in Drop.

use std::process::{Child, ExitStatus};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::exec::{wait_child, Capture, Output};
use crate::syscall;

/// What the sandbox does with a still-running process at teardown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// den: let it clean up after its container is killed, SIGKILL it after a grace period.
    Den,
    /// Anything else: SIGKILL at once.
    Plain,
}

#[derive(Debug)]
pub(crate) struct Tracked {
    /// Locked for every wait and signal, so the pid is never signalled after being reaped.
    pub(crate) child: Mutex<Child>,
    pub(crate) pid: u32,
    pub(crate) kind: Kind,
    pub(crate) capture: Capture,
    pub(crate) what: String,
}

impl Tracked {
    /// The exit status if the process has exited (reaping it).
    pub(crate) fn try_exit(&self) -> Option<ExitStatus> {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        child.try_wait().ok().flatten()
    }

    /// SIGKILLs the process if it still runs and reaps it.
    pub(crate) fn kill_and_reap(&self) -> Result<(), String> {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        if child.try_wait().ok().flatten().is_some() {
            return Ok(());
        }
        child
            .kill()
            .and_then(|()| child.wait().map(drop))
            .map_err(|e| format!("kill {} (pid {}): {e}", self.what, self.pid))
    }
}

/// A process the sandbox started in the background. The sandbox stops it on drop if the
/// test did not wait for it.
#[derive(Debug, Clone)]
pub struct Proc {
    pub(crate) inner: Arc<Tracked>,
}

impl Proc {
    /// Its pid (valid while it has not been waited for).
    pub fn pid(&self) -> u32 {
        self.inner.pid
    }

    /// What it has written to stdout so far.
    pub fn stdout(&self) -> String {
        self.inner.capture.stdout()
    }

    /// What it has written to stderr so far.
    pub fn stderr(&self) -> String {
        self.inner.capture.stderr()
    }

    /// Its exit status, if it has exited.
    pub fn try_exit(&self) -> Option<ExitStatus> {
        self.inner.try_exit()
    }

    /// Its output if it has exited, for messages and early failure.
    pub fn exited_output(&self) -> Option<Output> {
        self.try_exit()
            .map(|s| self.inner.capture.output(&self.inner.what, s))
    }

    /// Sends `sig` to it. Panics if it already exited (the signal would go nowhere).
    pub fn signal(&self, sig: i32) {
        let mut child = self.inner.child.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!(
                "cannot send signal {sig}: {} already exited\n{}",
                self.inner.what,
                self.inner.capture.output(&self.inner.what, status)
            );
        }
        syscall::kill(self.inner.pid as i32, sig)
            .unwrap_or_else(|e| panic!("kill({}, {sig}): {e}", self.inner.pid));
    }

    /// Waits for it to exit; kills it and panics with its output after `timeout`.
    pub fn wait(&self, timeout: Duration) -> Output {
        let mut child = self.inner.child.lock().unwrap_or_else(|p| p.into_inner());
        match wait_child(&mut child, timeout) {
            Some(status) => self.inner.capture.output(&self.inner.what, status),
            None => {
                let _ = child.kill();
                let status = child.wait().expect("wait for killed child");
                let out = self.inner.capture.output(&self.inner.what, status);
                panic!("still running after {timeout:?}; killed it\n{out}");
            }
        }
    }

    /// Waits until its stdout contains `marker`; panics if it exits first or after `timeout`.
    pub fn wait_stdout(&self, marker: &str, timeout: Duration) -> String {
        crate::wait::wait_for(
            timeout,
            &format!("{marker:?} on stdout of {}", self.inner.what),
            || {
                let out = self.stdout();
                if out.contains(marker) {
                    return Some(out);
                }
                if let Some(done) = self.exited_output() {
                    // Read once more: the marker may have landed just before the exit.
                    if done.stdout.contains(marker) {
                        return Some(done.stdout);
                    }
                    panic!("exited before printing {marker:?}\n{done}");
                }
                None
            },
        )
    }
}
