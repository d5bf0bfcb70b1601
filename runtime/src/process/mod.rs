//! The container process: one clone(2) into new namespaces, paused until the caller has set up
//! its network, then set up and exec'd (design steps 3, 5, 6, 7).
//!
//! ```text
//! spawn(&Launch) -> Paused     clone3 into the spec's namespaces; the child joins any
//!                              namespace given by path and waits on a socketpair
//! Paused::netns_path()         the caller attaches the network to /proc/PID/ns/net
//! Paused::start() -> Running   the child mounts, pivot_roots, drops privileges, execs;
//!                              returns once the exec happened, or the child's typed error
//! Running::wait() -> Exit      forwards signals, relays the pty, returns the exit status
//!
//! Paused::set_up(hook) -> Gated   OCI `create`: set up, stop at the exec fifo (see [`Gate`])
//! Gated::release()              OCI `start`'s half in one process (`den-runtime run`)
//!
//! enter(&Enter) -> Paused      `den exec`: a child in a running container's namespaces
//!                              (through its PID 1's pidfd); then start/wait as above
//! ```
//!
//! Threads: `spawn` forks the calling process. The child runs only code that makes syscalls on
//! data prepared before the clone (no allocation, no locks), so it is sound even if other
//! threads exist; still, call `spawn` before starting any runtime, as den does.
//!
//! Signals: from `spawn` on, the calling thread blocks [`FORWARDED_SIGNALS`] (and SIGWINCH with
//! a terminal). `start` refuses to start the container if SIGINT, SIGTERM, SIGHUP or SIGQUIT
//! arrived meanwhile ([`ProcessError::Interrupted`]); `wait` forwards them to the container. They
//! stay blocked afterwards, so den's teardown cannot be cut short; den exits soon after. Note the
//! kernel rule that PID 1 of a PID namespace ignores signals it has no handler for (as in
//! docker): `sleep` as PID 1 ignores SIGTERM, only SIGKILL ends it.
//!
//! Not done: cgroups (none on these v1 hosts yet), seccomp, rlimits (refused if a spec asks).
//! The `Paused`/`Running` handles kill (SIGKILL) and reap the container when dropped before
//! `wait`; they are tied to the thread that called `spawn`.

mod caps;
mod cgroupfs;
mod child;
mod clone;
mod dev;
mod enter;
mod error;
mod gate;
mod handle;
mod masks;
mod mounts;
mod overlay_opts;
mod paths;
mod plan;
mod proc_plan;
mod pty;
mod sync;
mod userns;
mod wait;

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use nix::sys::signal::Signal;
use oci_spec::runtime::Spec;

pub use clone::{spawn, Paused};
pub use enter::{enter, Enter};
pub use error::ProcessError;
pub use gate::{open_gate, Gated};
pub(crate) use mounts::MountPlan;
pub use sync::Step;
pub use userns::IdMaps;
pub use wait::Running;

/// The container's root filesystem as an overlay of image layers.
#[derive(Debug, Clone)]
pub struct Overlay {
    /// Layer directories, BOTTOM first, as the image gives them.
    pub lower: Vec<PathBuf>,
    pub upper: PathBuf,
    pub work: PathBuf,
}

/// What to start.
#[derive(Debug)]
pub struct Launch<'a> {
    pub spec: &'a Spec,
    /// den's extension to plain OCI: mount this overlay at `spec.root.path` INSIDE the
    /// container's new mount namespace (so it vanishes with the container and can never leak
    /// in the host mount namespace), before the spec's mounts. `None`: the rootfs is already
    /// prepared (OCI bundle) and is bind-mounted onto itself.
    pub overlay: Option<Overlay>,
    /// `-i`: the container reads den's stdin; otherwise /dev/null, like docker.
    pub stdin: bool,
    /// The container's stdout (with a terminal: where den relays the pty's output); `None`:
    /// den's own stdout.
    pub stdout: Option<OwnedFd>,
    /// The container's stderr without a terminal; `None`: den's own stderr.
    pub stderr: Option<OwnedFd>,
    /// Where compiled seccomp filters are cached (`None`: compile every time).
    pub seccomp_cache: Option<PathBuf>,
    /// Mount the root filesystem `nodev` (den's fail-closed answer where no device cgroup can
    /// stop the container from using a device node its image ships; its own /dev is a tmpfs).
    pub rootfs_nodev: bool,
    /// Files the child writes "0" to before it reports Ready, to move itself into its cgroup
    /// (empty: it stays in den's).
    pub cgroup: &'a [crate::cgroups::Entry],
    /// OCI `create`: stop where the engine's hooks run, and wait at an exec fifo instead of
    /// exec'ing (`None` for `den run`: straight through to exec).
    pub gate: Option<Gate>,
}

/// Where an OCI container stops between `create` and `start` (runc's exec.fifo).
#[derive(Debug, Clone)]
pub struct Gate {
    /// A FIFO the child opens for reading once set up; one byte written to it lets it exec.
    pub fifo: PathBuf,
    /// Also stop after the mounts, before pivot_root ([`Paused::set_up`] runs the
    /// createContainer hooks there).
    pub stop_before_pivot: bool,
    /// `--preserve-fds N`: fds 3 to 3+N-1 stay open in the container.
    pub preserve_fds: u32,
}

/// How the container's PID 1 ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    /// The shell-style status: the exit code, or 128+N for signal N (docker's 137 for SIGKILL).
    pub fn status(&self) -> i32 {
        match self {
            Exit::Code(c) => *c,
            Exit::Signal(s) => 128 + s,
        }
    }

    fn from_wait_status(status: i32) -> Exit {
        if libc::WIFSIGNALED(status) {
            Exit::Signal(libc::WTERMSIG(status))
        } else {
            Exit::Code(libc::WEXITSTATUS(status))
        }
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit code {c}"),
            Exit::Signal(s) => write!(f, "killed by signal {s}"),
        }
    }
}

/// The signals den forwards to the container (plus SIGWINCH, as a window-size update, with a
/// terminal).
pub const FORWARDED_SIGNALS: [Signal; 6] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];
