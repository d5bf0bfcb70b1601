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
//!
//! An attached client (`den run --sig-proxy=false`, see `attach`) also hands the supervisor the
//! write ends of echo pipes for the attached streams, and keeps reading the report pipe: the
//! waiter echoes the container's output into them as it logs it, and once the exit is recorded
//! it writes `exit STATUS` on the report pipe.

use std::fs::{self, File};
use std::io::Read;
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
    spawn_attached(v, held, None).map(|s| s.id)
}

/// The write ends of an attached client's echo pipes (None: that stream is not attached).
pub(crate) struct Echo {
    pub out: Option<OwnedFd>,
    pub err: Option<OwnedFd>,
}

/// A supervisor that reported "ok": the container's id and, with an [`Echo`], the report pipe
/// (its `exit STATUS` line to come) with what was read of it after the "ok" line.
pub(crate) struct Spawned {
    pub id: String,
    pub report: Option<(OwnedFd, Vec<u8>)>,
}

/// [`spawn`], with `echo` handed to the supervisor for an attached client.
pub(crate) fn spawn_attached(
    v: Validated,
    held: Option<File>,
    echo: Option<Echo>,
) -> Result<Spawned, RunError> {
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
            drop(echo);
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
                Ok(None) => supervise(v, write, held, echo),
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

/// The report's first line, and (for an attached client) the pipe with what followed it.
fn read_report(read: OwnedFd, id: &str) -> Result<Spawned, RunError> {
    let mut file = File::from(read);
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    let nl = loop {
        if let Some(nl) = got.iter().position(|b| *b == b'\n') {
            break Some(nl);
        }
        match file.read(&mut buf) {
            Ok(0) => break None,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(RunError::ReadReport {
                    id: id.to_string(),
                    source,
                })
            }
        }
    };
    let rest = got.split_off(nl.map_or(got.len(), |n| n + 1));
    let line = String::from_utf8_lossy(&got);
    let line = line.trim_end_matches('\n');
    if line == "ok" {
        return Ok(Spawned {
            id: id.to_string(),
            report: Some((OwnedFd::from(file), rest)),
        });
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
fn supervise(v: Validated, pipe: OwnedFd, held: Option<File>, echo: Option<Echo>) -> i32 {
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
    // An attached client reads the exit on it; for anyone else the report is complete.
    let client = echo.map(|e| supervisor::Client {
        out: e.out,
        err: e.err,
        report: pipe,
    });
    drop(held);
    if let Err(e) = null_stdio(true) {
        supervisor::note(&root, &id, &format!("redirecting stderr: {e}"));
    }
    let pid = started.running.pid();
    let err = supervisor::exec_waiter(&root, &id, pid, started.logs.as_ref(), client.as_ref());
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
