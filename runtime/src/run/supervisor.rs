//! The supervisor of a detached container (podman's conmon, in spirit): it holds the container's
//! lifetime, reaps it, detaches its network and records its exit, whoever killed it.
//!
//! `den run -d` forks it and it launches the container (see `run::detached`). Then it waits for
//! as long as the container runs, which may be months: so it first re-executes the den binary as
//! `den-supervisor ROOT ID PID` (argv[0] selects this mode before any argument parsing), a fresh
//! process image that never touches what the launch used (heap, tokio, libnftables state) and so
//! stays small. exec keeps the pid (and the start time, so the record's `supervisor` stays valid)
//! and keeps children: the container is still its child and it reaps it with waitpid.
//!
//! While the container runs it runs its health check (`health`); once it has recorded the exit it
//! applies its restart policy (`restart`), which hands the container to the next supervisor.
//!
//! For an attached client (`den run --sig-proxy=false`) it also echoes the attached streams into
//! the client's pipes as it logs them, and writes `exit STATUS` on the report pipe once the exit
//! is recorded; a client gone (a signal ended it: docker's detach) only ends the echo.
//!
//! Its own troubles, and each restart, go to `<container dir>/supervisor.log` (its stdio is
//! /dev/null).

use std::ffi::{CString, OsString};
use std::fs::OpenOptions;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sys::signal::{SigSet, Signal};
use nix::unistd::{execv, Pid};

use super::relay::Relay;
use super::watch::Watch;
use super::{health, one_line, record_exit, restart, RunError};
use crate::process::FORWARDED_SIGNALS;
use crate::state::Store;
use crate::syscall;

/// argv[0] of the waiting supervisor.
pub const ARGV0: &str = "den-supervisor";

#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error("usage: {ARGV0} ROOT CONTAINER-ID PID [STDOUT-FD STDERR-FD [ECHO-OUT ECHO-ERR REPORT]] (started by den run -d, not by hand)")]
    Usage,
    #[error("cannot re-execute {path} as the supervisor of container {id}")]
    Exec {
        path: PathBuf,
        id: String,
        #[source]
        source: Errno,
    },
    #[error("cannot wait for container {id} (pid {pid})")]
    Wait {
        id: String,
        pid: i32,
        #[source]
        source: Errno,
    },
    #[error(transparent)]
    Record(#[from] RunError),
}

/// An attached client's pipes: echo write ends (None: not attached) and the report pipe.
pub(crate) struct Client {
    pub out: Option<OwnedFd>,
    pub err: Option<OwnedFd>,
    pub report: OwnedFd,
}

/// If this process was started as the supervisor (argv[0] is [`ARGV0`]), run it and return its
/// exit code; otherwise `None`. Call it first thing in `main`.
pub fn main_if_supervisor() -> Option<u8> {
    let mut args = std::env::args_os();
    let argv0 = args.next()?;
    if Path::new(&argv0).file_name()? != ARGV0 {
        return None;
    }
    let args: Vec<OsString> = args.collect();
    let (root, id, pid, fds, client) = match args.as_slice() {
        [root, id, pid] => (root, id, pid, None, None),
        [root, id, pid, out, err] => (root, id, pid, Some((out, err)), None),
        [root, id, pid, out, err, e_out, e_err, report] => (
            root,
            id,
            pid,
            Some((out, err)),
            Some((e_out, e_err, report)),
        ),
        _ => {
            eprintln!("den: {}", SupervisorError::Usage);
            return Some(2);
        }
    };
    let fd = |s: &OsString| {
        s.to_str()
            .and_then(|n| n.parse().ok())
            .and_then(syscall::inherited_fd)
    };
    let logs = fds.and_then(|(out, err)| Some((fd(out)?, fd(err)?)));
    let client = client.and_then(|(out, err, report)| {
        Some(Client {
            out: fd(out),
            err: fd(err),
            report: fd(report)?,
        })
    });
    let (root, id) = (PathBuf::from(root), id.to_string_lossy().into_owned());
    let Some(pid) = pid.to_str().and_then(|p| p.parse::<i32>().ok()) else {
        eprintln!("den: {}", SupervisorError::Usage);
        return Some(2);
    };
    match wait_and_record(&root, &id, pid, logs, client) {
        Ok(()) => Some(0),
        Err(e) => {
            note(&root, &id, &one_line(&e));
            Some(1)
        }
    }
}

/// The container's life: health checks while it runs (if it has them), then its end: reap it,
/// step 7 (detach, record), then its restart policy.
fn wait_and_record(
    root: &Path,
    id: &str,
    pid: i32,
    logs: Option<(OwnedFd, OwnedFd)>,
    client: Option<Client>,
) -> Result<(), SupervisorError> {
    // Signals meant for the container must not end its supervisor before the teardown.
    let mut set = SigSet::empty();
    FORWARDED_SIGNALS.iter().for_each(|s| set.add(*s));
    set.add(Signal::SIGPIPE);
    // Blocked already (inherited across exec); failing to block again changes nothing.
    let _ = set.thread_block();
    let wait_err = |source| SupervisorError::Wait {
        id: id.to_string(),
        pid,
        source,
    };
    let store = Store::new(root);
    let life = store.load_id(id).map_err(RunError::from)?.life;
    let relay = logs.and_then(|(out, err)| {
        Relay::new(
            &store.dir(id),
            out,
            err,
            life.log_max_size,
            life.log_max_file,
        )
        .map_err(|e| note(root, id, &format!("cannot log its output: {e}")))
        .ok()
    });
    let (relay, report) = match client {
        Some(c) => (relay.map(|r| r.echo(c.out, c.err)), Some(c.report)),
        None => (relay, None),
    };
    let mut watch = Watch::new(root, id, pid, relay).map_err(wait_err)?;
    match health::Checker::new(root, id, life.healthcheck) {
        Some(mut checker) => checker.run_until_exit(&mut watch),
        None => drop(watch.wait(None, None)),
    }
    watch.finish();
    // The echo pipes close: the client has all of the output.
    drop(watch);
    let status = syscall::wait_exit(Pid::from_raw(pid)).map_err(wait_err)?;
    let status = if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        libc::WEXITSTATUS(status)
    };
    // Read before the cgroup goes; removed before the record says "exited" (teardown done).
    let (oom_killed, removed) = crate::cgroups::release(&crate::state::Store::new(root).dir(id));
    let recorded = record_exit(root, id, status, oom_killed);
    if let Some(report) = report {
        // Nobody may read it any more (the client detached): nothing to do then.
        let _ = nix::unistd::write(&report, format!("exit {status}\n").as_bytes());
    }
    recorded?;
    removed.map_err(RunError::from)?;
    restart::after_exit(root, id)?;
    Ok(())
}

/// Replace this process (the forked supervisor, which launched container `id` whose PID 1 is `pid`,
/// its child) with the waiting supervisor. Returns only if that failed.
pub(crate) fn exec_waiter(
    root: &Path,
    id: &str,
    pid: i32,
    logs: Option<&(OwnedFd, OwnedFd)>,
    client: Option<&Client>,
) -> SupervisorError {
    // The running binary, by its name (so the supervisor shows as `den`), unless it was replaced.
    let path = std::fs::read_link("/proc/self/exe")
        .ok()
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("/proc/self/exe"));
    let exec_err = |source| SupervisorError::Exec {
        path: path.clone(),
        id: id.to_string(),
        source,
    };
    let cstr = |b: &[u8]| CString::new(b).map_err(|_| exec_err(Errno::EINVAL));
    let mut argv = vec![
        cstr(ARGV0.as_bytes()),
        cstr(root.as_os_str().as_bytes()),
        cstr(id.as_bytes()),
        cstr(pid.to_string().as_bytes()),
    ];
    let number = |fd: Option<&OwnedFd>| fd.map_or("-".to_string(), |f| f.as_raw_fd().to_string());
    if let Some((out, err)) = logs {
        argv.push(cstr(out.as_raw_fd().to_string().as_bytes()));
        argv.push(cstr(err.as_raw_fd().to_string().as_bytes()));
        if let Some(c) = client {
            for fd in [c.out.as_ref(), c.err.as_ref(), Some(&c.report)] {
                argv.push(cstr(number(fd).as_bytes()));
            }
        }
    }
    let argv: Vec<CString> = match argv.into_iter().collect() {
        Ok(a) => a,
        Err(e) => return e,
    };
    let file = match cstr(path.as_os_str().as_bytes()) {
        Ok(f) => f,
        Err(e) => return e,
    };
    // Nothing of the launch may leak into the waiter (all den's fds are close-on-exec already).
    if let Err(e) = syscall::cloexec_from(3) {
        return exec_err(e);
    }
    // ...but the log pipes, which the waiter relays, and the client's.
    let client_fds = client
        .iter()
        .flat_map(|c| [c.out.as_ref(), c.err.as_ref(), Some(&c.report)]);
    for fd in logs
        .iter()
        .flat_map(|(o, e)| [o, e])
        .chain(client_fds.flatten())
    {
        if let Err(e) = fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty())) {
            return exec_err(e);
        }
    }
    match execv(&file, &argv) {
        Ok(never) => match never {},
        Err(e) => exec_err(e),
    }
}

/// Append one line to the container's `supervisor.log` (if its dir is still there).
pub(crate) fn note(root: &Path, id: &str, line: &str) {
    let dir = Store::new(root).dir(id);
    if !dir.is_dir() {
        return;
    }
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("supervisor.log"));
    if let Ok(mut f) = log {
        // Nowhere else to say it if this fails.
        let _ = writeln!(f, "den-supervisor: {line}");
    }
}
