//! `enter`: start a process inside a running container (`den exec`), with the same handles as
//! a new container: [`Paused`] -> [`Paused::start`] -> [`Running::wait`](super::Running::wait).
//!
//! ```text
//! den (parent)                                  child
//!   setns(pidfd, PID) for its children only
//!   clone3 --------------------------------->   is in the container's PID namespace
//!   setns back to its own PID namespace         setns(pidfd, MNT|UTS|IPC|NET): the container's
//!                                               namespaces and root, all at once; Ready
//!   start(): Go ----------------------------->  stdio, ids, caps, no_new_privs, cwd, exec
//! ```
//!
//! Joining a PID namespace only changes where the caller's *children* go, so den itself enters
//! it for the one clone and leaves again; the child, forked after, is a member (it shows in the
//! container's `ps`) and dies with the container's PID 1.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use nix::sched::{setns, CloneFlags};
use oci_spec::runtime::Process;

use super::clone::{launch, Paused, Plan, Prepared};
use super::handle::{null_stdin, open_path, prepare, Io};
use super::plan::EnterPlan;
use super::proc_plan::ProcPlan;
use super::{pty, ProcessError};
use crate::syscall;

/// What to start in which running container.
#[derive(Debug)]
pub struct Enter<'a> {
    /// A pidfd of the container's PID 1 (the caller has checked it is that very process).
    pub container: BorrowedFd<'a>,
    /// The container's root directory (an `O_PATH` fd of `/proc/PID/root`): `-t` opens the
    /// pty from the container's own devpts under it.
    pub root: BorrowedFd<'a>,
    /// The process: args, env, cwd, user, capabilities, no_new_privs, terminal.
    pub process: &'a Process,
    /// `-i`: the process reads den's stdin; otherwise /dev/null.
    pub stdin: bool,
    /// The container's seccomp filter (the OCI section), applied to this process too.
    pub seccomp: Option<&'a oci_spec::runtime::LinuxSeccomp>,
    /// Where compiled filters are cached (see `seccomp::compile_cached`).
    pub seccomp_cache: Option<&'a std::path::Path>,
}

/// The namespaces the child enters through the pidfd (PID is entered by the parent).
const NAMESPACES: CloneFlags = CloneFlags::CLONE_NEWNS
    .union(CloneFlags::CLONE_NEWUTS)
    .union(CloneFlags::CLONE_NEWIPC)
    .union(CloneFlags::CLONE_NEWNET);

/// [`NAMESPACES`], and the container's user and cgroup namespaces where it has its own (setns
/// through a pidfd enters the user namespace first, then the others with its capabilities).
fn namespaces(container: BorrowedFd<'_>) -> CloneFlags {
    let pid = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", container.as_raw_fd()))
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("Pid:")?.trim().parse::<i32>().ok())
        });
    let ino = |p: String| std::fs::metadata(p).map(|m| m.ino()).ok();
    let mut flags = NAMESPACES;
    for (name, flag) in [
        ("user", CloneFlags::CLONE_NEWUSER),
        ("cgroup", CloneFlags::CLONE_NEWCGROUP),
    ] {
        let theirs = pid.and_then(|pid| ino(format!("/proc/{pid}/ns/{name}")));
        if theirs.is_some() && theirs != ino(format!("/proc/self/ns/{name}")) {
            flags |= flag;
        }
    }
    flags
}

/// Fork a child into the running container's namespaces; it waits for [`Paused::start`].
pub fn enter(e: &Enter<'_>) -> Result<Paused, ProcessError> {
    let mut plan = EnterPlan {
        process: ProcPlan::new(e.process)?,
    };
    plan.process.seccomp = e
        .seccomp
        .map(|s| crate::seccomp::compile_cached(s, e.seccomp_cache))
        .transpose()?;
    let terminal = plan.process.terminal;
    let (master, tty) = match terminal {
        true => pty::open_in(e.root).map(|p| (Some(p.master), Some(p.slave)))?,
        false => (None, None),
    };
    let pidfd = syscall::dup_above_stdio(e.container)
        .map_err(prepare("duplicate", "the container's pidfd"))?;
    let prepared = Prepared {
        joins: vec![(pidfd, namespaces(e.container))],
        inherit: Vec::new(),
        id_maps: None,
        cgroupns: false,
        cgroup: Vec::new(),
        gate: None,
        stdin: null_stdin(terminal || e.stdin)?,
        stdout: None,
        stderr: None,
        tty,
        tty_path: None,
        io: Io {
            master,
            out: None,
            relay_stdin: e.stdin,
        },
    };
    let pid_ns = PidNsForChildren::enter(e.container)?;
    let paused = launch(CloneFlags::empty(), prepared, Plan::Enter(Box::new(plan)));
    pid_ns.restore()?;
    paused
}

/// The calling thread's PID namespace for new children set to the container's; set back by
/// `restore` (or, on an error path, on drop).
struct PidNsForChildren {
    own: Option<OwnedFd>,
}

impl PidNsForChildren {
    fn enter(container: BorrowedFd<'_>) -> Result<PidNsForChildren, ProcessError> {
        let own = open_path(
            Path::new("/proc/thread-self/ns/pid_for_children"),
            "open den's",
        )?;
        setns(container, CloneFlags::CLONE_NEWPID)
            .map_err(prepare("enter", "the container's PID namespace"))?;
        Ok(PidNsForChildren { own: Some(own) })
    }

    fn restore(mut self) -> Result<(), ProcessError> {
        match self.own.take() {
            Some(own) => setns(own.as_fd(), CloneFlags::CLONE_NEWPID)
                .map_err(prepare("return to", "den's PID namespace")),
            None => Ok(()),
        }
    }
}

impl Drop for PidNsForChildren {
    fn drop(&mut self) {
        if let Some(own) = self.own.take() {
            // Error path only (`restore` reports on the normal one); den forks nothing more.
            let _ = setns(own.as_fd(), CloneFlags::CLONE_NEWPID);
        }
    }
}
