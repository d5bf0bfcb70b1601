//! `den run -d` and `den start`: the supervisor is forked (twice, so that it is nobody's zombie and
//! init adopts it) BEFORE the container is cloned, while den has a single thread and no runtime.
//! It leaves the terminal's session, runs steps 2-6 with the container's output going to its log
//! file, and reports "started" or its error to the waiting `den` over a pipe. Then it re-executes
//! itself as the small waiter of [`super::supervisor`] (step 7), which keeps the container as its
//! child across the exec.
//!
//! ```text
//! den run -d (CLI)           fork ─ fork ─ supervisor: setsid, steps 2-6 ─ "ok" ─ exec den-supervisor
//!   step 1, reads the pipe  <────────────────────────────── "ok" | "err STATUS LINE"      wait, step 7
//! ```

use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::os::fd::OwnedFd;

use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use nix::unistd::{dup2_stderr, dup2_stdin, dup2_stdout, pipe2, setsid};

use super::launch::{launch, Output};
use super::validate::Validated;
use super::{one_line, supervisor, teardown, RunError};
use crate::syscall;

/// Fork the supervisor of the container `v` describes and wait until it reports that the container
/// runs (returns its id) or that it failed (its error). `held`: a lock the caller holds until then,
/// which the supervisor's copy of the fd must not keep held after.
pub(crate) fn spawn(v: Validated, held: Option<File>) -> Result<String, RunError> {
    let id = v.id.clone();
    if !single_threaded() {
        return Err(RunError::Threaded { id });
    }
    let (read, write) = pipe2(OFlag::O_CLOEXEC).map_err(|source| RunError::ReportPipe {
        id: id.clone(),
        source,
    })?;
    let fork = |id: &str| {
        syscall::fork_single_threaded().map_err(|source| RunError::Fork {
            id: id.to_string(),
            source,
        })
    };
    match fork(&id)? {
        Some(child) => {
            drop(write);
            // Reap the middle process, which exits at once (a failed second fork is reported on
            // the pipe like any other failure; its exit status adds nothing).
            let _ = syscall::wait_exit(child);
            let report = read_report(read, &id);
            drop(held);
            report
        }
        None => {
            drop(read);
            // The supervisor keeps its copy of the lock until it has reported, so a `den start`
            // killed meanwhile does not let `den gc` take a launch in progress for a dead one.
            let code = match setsid()
                .map(drop)
                .and_then(|()| syscall::fork_single_threaded())
            {
                Ok(Some(_)) => 0,
                Ok(None) => supervise(v, write, held),
                Err(e) => {
                    report(
                        &write,
                        Err((125, format!("cannot fork the supervisor of {id}: {e}"))),
                    );
                    1
                }
            };
            syscall::exit_now(code)
        }
    }
}

/// Threads: `Threads:` of /proc/self/status.
pub(crate) fn single_threaded() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .map(|n| n.trim() == "1")
        })
        .unwrap_or(false)
}

fn read_report(read: OwnedFd, id: &str) -> Result<String, RunError> {
    let mut line = String::new();
    BufReader::new(File::from(read))
        .read_line(&mut line)
        .map_err(|source| RunError::ReadReport {
            id: id.to_string(),
            source,
        })?;
    let line = line.trim_end_matches('\n');
    if line == "ok" {
        return Ok(id.to_string());
    }
    match line.strip_prefix("err ").and_then(|r| r.split_once(' ')) {
        Some((status, message)) => Err(RunError::Supervisor {
            status: status.parse().unwrap_or(125),
            message: message.to_string(),
        }),
        None => Err(RunError::SupervisorLost { id: id.to_string() }),
    }
}

/// Tell the waiting `den`; nobody may be listening any more (it was killed): nothing to do then.
fn report(pipe: &OwnedFd, result: Result<(), (i32, String)>) {
    let line = match result {
        Ok(()) => "ok\n".to_string(),
        Err((status, message)) => format!("err {status} {}\n", message.replace('\n', " ")),
    };
    // One write of less than PIPE_BUF bytes: atomic.
    let _ = nix::unistd::write(pipe, line.as_bytes());
}

/// stdin and stdout to /dev/null now; stderr (where `-v` and warnings go) once the report is sent.
pub(super) fn null_stdio(stderr_too: bool) -> Result<(), nix::errno::Errno> {
    let null = open("/dev/null", OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty())?;
    dup2_stdin(&null)?;
    dup2_stdout(&null)?;
    if stderr_too {
        dup2_stderr(&null)?;
    }
    Ok(())
}

/// The supervisor: steps 2-6, the report, then the waiter (or, if it cannot be exec'd, step 7 here).
fn supervise(v: Validated, pipe: OwnedFd, held: Option<File>) -> i32 {
    let root = v.root.clone();
    let id = v.id.clone();
    if let Err(e) = std::env::set_current_dir("/")
        .map_err(|e| e.to_string())
        .and_then(|()| null_stdio(false).map_err(|e| e.to_string()))
    {
        report(
            &pipe,
            Err((125, format!("detaching the supervisor of {id}: {e}"))),
        );
        return 1;
    }
    let started = match launch(v, Output::LogPipes) {
        Ok(s) => s,
        Err(e) => {
            report(&pipe, Err((e.exit_status(), one_line(&e))));
            return 1;
        }
    };
    report(&pipe, Ok(()));
    drop(pipe);
    drop(held);
    if let Err(e) = null_stdio(true) {
        supervisor::note(&root, &id, &format!("redirecting stderr: {e}"));
    }
    let pid = started.running.pid();
    let err = supervisor::exec_waiter(&root, &id, pid, started.logs.as_ref());
    supervisor::note(
        &root,
        &id,
        &format!("{err}; waiting in the forked process instead"),
    );
    // Without the waiter nothing relays the container's output: it gets EPIPE (said in the note).
    match teardown::finish(started) {
        Ok((_, None)) => 0,
        Ok((_, Some(e))) | Err(e) => {
            supervisor::note(&root, &id, &one_line(&e));
            1
        }
    }
}
