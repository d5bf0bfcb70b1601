//! `start`, `kill`, `delete` and the pids of a container's cgroup.

use std::fs;
use std::os::fd::AsFd;
use std::path::Path;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;

use super::hooks::{self, Place};
use super::record::{load, OciStatus, Record};
use super::{fifo, OciError};
use crate::cgroups;
use crate::lifecycle::parse_signal;
use crate::process::open_gate;
use crate::syscall;

fn hook_list(
    r: &Record,
    f: fn(&oci_spec::runtime::Hooks) -> &Option<Vec<oci_spec::runtime::Hook>>,
) -> Vec<oci_spec::runtime::Hook> {
    r.hooks
        .as_ref()
        .and_then(|h| f(h).clone())
        .unwrap_or_default()
}

/// `start`: let the created container exec.
pub fn start(root: &Path, id: &str) -> Result<(), OciError> {
    let r = load(root, id)?;
    let status = r.status(root);
    if status != OciStatus::Created {
        return Err(OciError::NotCreated {
            id: id.to_owned(),
            status: status.to_string(),
        });
    }
    let dir = r.dir(root);
    release(&r, &dir, |f| open_gate(f).map_err(OciError::from))
}

/// startContainer hooks (a failure kills the container), the gate, poststart hooks.
pub(crate) fn release<T>(
    r: &Record,
    dir: &Path,
    open: impl FnOnce(&Path) -> Result<T, OciError>,
) -> Result<T, OciError> {
    let created = r.state_json(OciStatus::Created);
    let start_container = hook_list(r, |h| h.start_container());
    if let Err(e) = hooks::run_all(
        "startContainer",
        &start_container,
        &created,
        Place::Container(r.pid),
    ) {
        // Ours to end: its start time was just checked.
        let _ = signal(r, Signal::SIGKILL);
        return Err(e);
    }
    let fifo = fifo(dir);
    let opened = open(&fifo)?;
    fs::remove_file(&fifo).map_err(OciError::io("removing", &fifo))?;
    let running = r.state_json(OciStatus::Running);
    hooks::run_warning("poststart", &hook_list(r, |h| h.poststart()), &running);
    Ok(opened)
}

fn signal(r: &Record, sig: Signal) -> Result<(), OciError> {
    let err = |source| OciError::Kill {
        id: r.id.clone(),
        pid: r.pid,
        source,
    };
    // The pidfd pins the process the start time check found: no pid reuse race after it.
    let pidfd = syscall::pidfd_open(r.pid).map_err(err)?;
    if !r.alive() {
        return Err(OciError::NotRunning { id: r.id.clone() });
    }
    syscall::pidfd_send_signal(pidfd.as_fd(), sig).map_err(err)
}

/// The pids in the container's cgroup.
pub fn pids(root: &Path, id: &str) -> Result<Vec<i32>, OciError> {
    let r = load(root, id)?;
    let mut all: Vec<i32> = Vec::new();
    for d in r.cgroup.iter().flat_map(|c| c.dirs.iter()) {
        let body = fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default();
        all.extend(body.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    }
    all.sort_unstable();
    all.dedup();
    Ok(all)
}

/// `kill [--all] ID SIGNAL`: a stopped container is an error, as in runc.
pub fn kill(root: &Path, id: &str, sig: &str, all: bool) -> Result<(), OciError> {
    let sig = parse_signal(sig)?;
    let r = load(root, id)?;
    if r.status(root) == OciStatus::Stopped {
        return Err(OciError::NotRunning { id: id.to_owned() });
    }
    if !all {
        return signal(&r, sig);
    }
    for pid in pids(root, id)? {
        // One leaving meanwhile is fine; the cgroup holds only the container's processes.
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig);
    }
    Ok(())
}

/// `delete [--force] ID`.
pub fn delete(root: &Path, id: &str, force: bool) -> Result<(), OciError> {
    let r = match load(root, id) {
        Err(OciError::NotFound { .. }) if force => return Ok(()),
        other => other?,
    };
    let status = r.status(root);
    match status {
        OciStatus::Stopped => {}
        OciStatus::Created => kill_and_wait(&r)?,
        _ if force => kill_and_wait(&r)?,
        _ => {
            return Err(OciError::StillRunning {
                id: id.to_owned(),
                status: status.to_string(),
            })
        }
    }
    remove(&r, &r.dir(root))
}

/// SIGKILL (every process of its cgroup, thawed) and wait until PID 1 is gone.
fn kill_and_wait(r: &Record) -> Result<(), OciError> {
    let Ok(pidfd) = syscall::pidfd_open(r.pid) else {
        return Ok(());
    };
    if !r.alive() {
        return Ok(());
    }
    for d in r.cgroup.iter().flat_map(|c| c.dirs.iter()) {
        let body = fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default();
        for pid in body.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    // A frozen container gets its SIGKILL only once thawed.
    if let Some(dir) = &r.freezer {
        let _ = fs::write(dir.join("freezer.state"), "THAWED");
    }
    if let Some(dir) = r
        .cgroup
        .as_ref()
        .filter(|c| c.v2)
        .and_then(|c| c.dirs.first())
    {
        let _ = fs::write(dir.join("cgroup.freeze"), "0");
    }
    let _ = syscall::pidfd_send_signal(pidfd.as_fd(), Signal::SIGKILL);
    let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
    // The pidfd turns readable when the process exits; 10 s is far beyond a SIGKILL's effect.
    poll(&mut fds, PollTimeout::from(10_000u16)).map_err(|source| OciError::Kill {
        id: r.id.clone(),
        pid: r.pid,
        source,
    })?;
    Ok(())
}

/// poststop hooks, then the cgroup and the state dir; goes on past a failure, returns the first.
pub(crate) fn remove(r: &Record, dir: &Path) -> Result<(), OciError> {
    let stopped = r.state_json(OciStatus::Stopped);
    hooks::run_warning("poststop", &hook_list(r, |h| h.poststop()), &stopped);
    let dirs = r
        .cgroup
        .iter()
        .flat_map(|c| c.dirs.iter())
        .chain(r.freezer.iter());
    let dirs: Vec<_> = dirs.cloned().collect();
    let cg = cgroups::remove_dirs(&dirs).map_err(OciError::from);
    let files = fs::remove_dir_all(dir).map_err(OciError::io("removing", dir));
    cg.and(files)
}
