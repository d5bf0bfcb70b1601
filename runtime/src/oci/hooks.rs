//! OCI hooks: each run with the container's state on stdin, its own env, an optional timeout;
//! in the runtime's namespaces, or (createContainer, startContainer) in the container's.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sched::{setns, CloneFlags};
use oci_spec::runtime::Hook;

use super::OciError;

/// Where a hook runs.
#[derive(Debug, Clone, Copy)]
pub enum Place {
    /// The runtime's namespaces.
    Runtime,
    /// The namespaces of the container whose PID 1 is this host pid (mount last: the hook's
    /// path is then resolved in the container's mount namespace).
    Container(i32),
}

/// The container's namespaces a hook joins, in order (pid: for the hook's own child, see
/// `run_one`).
const JOINED: [(&str, CloneFlags); 6] = [
    ("pid", CloneFlags::CLONE_NEWPID),
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("net", CloneFlags::CLONE_NEWNET),
    ("cgroup", CloneFlags::CLONE_NEWCGROUP),
    ("mnt", CloneFlags::CLONE_NEWNS),
];

fn namespaces(pid: i32) -> Result<Vec<(OwnedFd, CloneFlags)>, OciError> {
    let own = |name: &str| std::fs::read_link(format!("/proc/self/ns/{name}")).ok();
    let mut fds = Vec::new();
    for (name, flag) in JOINED {
        let path = format!("/proc/{pid}/ns/{name}");
        // A namespace the container shares with the runtime needs no setns.
        if std::fs::read_link(&path).ok() == own(name) {
            continue;
        }
        let f = File::open(&path).map_err(OciError::io("opening", &path))?;
        fds.push((OwnedFd::from(f), flag));
    }
    Ok(fds)
}

/// Run `hooks` in order; the first failure ends the list and is returned.
pub fn run_all(
    kind: &'static str,
    hooks: &[Hook],
    state: &serde_json::Value,
    place: Place,
) -> Result<(), OciError> {
    if hooks.is_empty() {
        return Ok(());
    }
    let stdin = serde_json::to_vec(state).expect("state serialises");
    for hook in hooks {
        run_one(kind, hook, &stdin, place)?;
    }
    Ok(())
}

/// Run `hooks` where a failure is only a warning (poststart, poststop): each runs, each failure
/// is printed.
pub fn run_warning(kind: &'static str, hooks: &[Hook], state: &serde_json::Value) {
    let stdin = serde_json::to_vec(state).expect("state serialises");
    for hook in hooks {
        if let Err(e) = run_one(kind, hook, &stdin, Place::Runtime) {
            eprintln!("den-runtime: warning: {e}");
        }
    }
}

/// setns(PID) moves only the caller's children: fork once more; the child (a member of the
/// container's PID namespace, killed if we die) goes on to exec the hook, this process waits
/// and exits with its status.
///
/// # Safety
/// Only between fork and exec of a single-threaded child.
unsafe fn into_pid_namespace() -> std::io::Result<()> {
    // SAFETY: the caller is a single-threaded child between fork and exec.
    match unsafe { libc::fork() } {
        -1 => Err(std::io::Error::last_os_error()),
        0 => {
            // SAFETY: prctl with integer arguments.
            unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
            Ok(())
        }
        child => {
            // Close std's exec-error pipe (and the rest) here: it would keep `spawn` waiting
            // for this process, which waits for the hook, which waits for its stdin.
            // SAFETY: close_range on fds this process no longer needs.
            unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
            let mut st = 0;
            // SAFETY: waitpid on our own child with a pointer to a local.
            let r = unsafe { libc::waitpid(child, &mut st, 0) };
            let code = match (r, libc::WIFEXITED(st)) {
                (-1, _) => 127,
                (_, true) => libc::WEXITSTATUS(st),
                (_, false) => 128 + libc::WTERMSIG(st),
            };
            // SAFETY: _exit ends this forked child without running the parent's destructors.
            unsafe { libc::_exit(code) }
        }
    }
}

fn run_one(kind: &'static str, hook: &Hook, stdin: &[u8], place: Place) -> Result<(), OciError> {
    let path = hook.path().clone();
    let spawn_err = |source| OciError::HookSpawn {
        kind,
        path: path.clone(),
        source,
    };
    let mut cmd = Command::new(&path);
    let args = hook.args().clone().unwrap_or_default();
    if let Some(arg0) = args.first() {
        cmd.arg0(arg0);
    }
    cmd.args(args.iter().skip(1)).env_clear();
    for kv in hook.env().iter().flatten() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped());
    if let Place::Container(pid) = place {
        let joins = namespaces(pid)?;
        let pid_ns = joins.iter().any(|(_, f)| *f == CloneFlags::CLONE_NEWPID);
        // SAFETY: the closure runs in the forked (single-threaded) child before exec; it makes
        // only async-signal-safe calls (setns, fork, waitpid, prctl, _exit) on fds opened before
        // the fork, and allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                for (fd, flag) in &joins {
                    setns(fd.as_fd(), *flag).map_err(std::io::Error::from)?;
                }
                if pid_ns {
                    into_pid_namespace()?;
                }
                Ok(())
            });
        }
    }
    let mut child = cmd.spawn().map_err(spawn_err)?;
    if let Some(mut input) = child.stdin.take() {
        // A hook that does not read its stdin is not an error.
        let _ = input.write_all(stdin);
    }
    let status = match hook.timeout() {
        None => child.wait().map_err(spawn_err)?,
        Some(secs) => {
            let deadline = Instant::now() + Duration::from_secs(secs.max(1) as u64);
            loop {
                if let Some(status) = child.try_wait().map_err(spawn_err)? {
                    break status;
                }
                if Instant::now() >= deadline {
                    // Our own child, not yet reaped: the kill cannot hit another process.
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(OciError::HookFailed {
                        kind,
                        path,
                        status: format!("timed out after {secs} s"),
                    });
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    };
    match status.success() {
        true => Ok(()),
        false => Err(OciError::HookFailed {
            kind,
            path,
            status: status.to_string(),
        }),
    }
}
