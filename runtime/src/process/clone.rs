//! `spawn`: prepare every fd and string, then one clone3 into the new namespaces (`launch`, also
//! used by `enter`); `Paused`: the child waiting for Go.

use std::cell::Cell;
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};

use super::child::{self, ChildFds};
use super::gate::Gated;
use super::handle::{above_stdio, dup, null_stdin, open_path, prepare, Child, Io};
use super::plan::{self, ChildPlan, EnterPlan};
use super::sync::{receive, send_msg, Failure, Msg, Received, Step};
use super::userns::{IdMaps, Inherited};
use super::wait::Running;
use super::{pty, Launch, ProcessError, FORWARDED_SIGNALS};
use crate::syscall;

/// A container whose PID 1 exists in its namespaces and waits for [`Paused::start`].
/// Dropping it kills and reaps the child.
pub struct Paused {
    child: Child,
    sock: OwnedFd,
    plan: Plan,
    io: Io,
    signals: SignalFd,
}

/// Block the forwarded signals in this thread and read them from a signalfd instead.
fn block_signals(terminal: bool) -> Result<SignalFd, ProcessError> {
    let mut set = SigSet::empty();
    for s in FORWARDED_SIGNALS {
        set.add(s);
    }
    if terminal {
        set.add(Signal::SIGWINCH);
    }
    set.thread_block()
        .map_err(prepare("block", "forwarded signals"))?;
    SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(prepare("create a signalfd for", "forwarded signals"))
}

/// Clone the container's PID 1 into the spec's namespaces; it waits for [`Paused::start`].
pub fn spawn(launch: &Launch<'_>) -> Result<Paused, ProcessError> {
    let plan = plan::build(launch)?;
    let mut joins = plan
        .joins
        .iter()
        .map(|j| Ok((open_path(&j.path, "open namespace")?, j.flag)))
        .collect::<Result<Vec<_>, ProcessError>>()?;
    // With a new user namespace the child could not join them: it is born in them.
    let inherit = match plan.id_maps.is_some() {
        true => std::mem::take(&mut joins),
        false => Vec::new(),
    };
    let terminal = plan.process.terminal;
    let (master, tty, tty_path) = match terminal {
        true => pty::open().map(|p| (Some(p.master), Some(p.slave), p.path))?,
        false => (None, None, None),
    };
    let (stdout, stderr, out) = match terminal {
        true => (None, None, dup(&launch.stdout, "the stdout fd")?),
        false => (
            dup(&launch.stdout, "the stdout fd")?,
            dup(&launch.stderr, "the stderr fd")?,
            None,
        ),
    };
    let cgroup = launch
        .cgroup
        .iter()
        .map(|e| {
            syscall::dup_above_stdio(e.file.as_fd()).map_err(prepare("duplicate", "a cgroup fd"))
        })
        .collect::<Result<_, _>>()?;
    let mut plan = plan;
    let gate = match &launch.gate {
        Some(g) => {
            let fd = above_stdio(
                nix::fcntl::open(
                    &g.fifo,
                    nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
                    nix::sys::stat::Mode::empty(),
                )
                .map_err(prepare("open the exec fifo", g.fifo.display().to_string()))?,
            )?;
            plan.process.exec_gate = Some(super::proc_plan::c(
                "exec fifo",
                format!("/proc/self/fd/{}", fd.as_raw_fd()),
            )?);
            plan.process.close_from = 3 + g.preserve_fds;
            Some(fd)
        }
        None => None,
    };
    let prepared = Prepared {
        joins,
        inherit,
        id_maps: plan.id_maps.clone(),
        cgroupns: false,
        gate,
        cgroup,
        stdin: null_stdin(terminal || launch.stdin)?,
        stdout,
        stderr,
        tty,
        tty_path,
        io: Io {
            master,
            out,
            relay_stdin: launch.stdin,
        },
    };
    // A cgroup namespace is unshared by the child once in its cgroup, so that it is its root.
    let flags = plan.clone_flags - CloneFlags::CLONE_NEWCGROUP;
    let prepared = Prepared {
        cgroupns: plan.clone_flags.contains(CloneFlags::CLONE_NEWCGROUP),
        ..prepared
    };
    self::launch(flags, prepared, Plan::New(Box::new(plan)))
}

/// What a child is started with, besides its plan and the sync socket.
pub(super) struct Prepared {
    pub joins: Vec<(OwnedFd, CloneFlags)>,
    /// Namespaces the cloning thread joins for the clone (see `userns`).
    pub inherit: Vec<(OwnedFd, CloneFlags)>,
    /// A new user namespace's maps, written before the child goes on.
    pub id_maps: Option<IdMaps>,
    /// Unshare a cgroup namespace after joining the cgroup.
    pub cgroupns: bool,
    pub cgroup: Vec<OwnedFd>,
    /// The exec fifo's O_PATH fd (OCI `create`).
    pub gate: Option<OwnedFd>,
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    pub tty: Option<OwnedFd>,
    pub tty_path: Option<CString>,
    pub io: Io,
}

/// The plan a child follows after Go.
pub(super) enum Plan {
    /// A new container's PID 1.
    New(Box<ChildPlan>),
    /// A process in a running container.
    Enter(Box<EnterPlan>),
}

impl Plan {
    fn before_go(&self, fds: &ChildFds) -> Result<(), Failure> {
        match self {
            Plan::New(p) => child::prepare_root(p, fds),
            Plan::Enter(_) => Ok(()),
        }
    }

    fn setup_and_exec(&self, fds: &ChildFds) -> Failure {
        match self {
            Plan::New(p) => child::create_and_exec(p, fds),
            Plan::Enter(p) => child::enter_and_exec(p, fds),
        }
    }

    fn cmd(&self) -> &str {
        match self {
            Plan::New(p) => &p.process.cmd,
            Plan::Enter(p) => &p.process.cmd,
        }
    }

    fn culprit(&self, f: &Failure) -> String {
        match self {
            Plan::New(p) => p.culprit(f),
            Plan::Enter(p) => p.culprit(f),
        }
    }
}

/// One clone3 with `flags` (new namespaces); the child joins `prepared.joins`, reports Ready and
/// waits for Go. Returns once it is Ready, or with its typed error.
pub(super) fn launch(
    flags: CloneFlags,
    prepared: Prepared,
    plan: Plan,
) -> Result<Paused, ProcessError> {
    let (parent_end, child_end) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(prepare("create", "the sync socketpair"))?;
    let Prepared {
        joins,
        inherit,
        id_maps,
        cgroupns,
        cgroup,
        gate,
        stdin,
        stdout,
        stderr,
        tty,
        tty_path,
        io,
    } = prepared;
    let fds = ChildFds {
        sock: above_stdio(child_end)?,
        parent_end: Cell::new(Some(parent_end)),
        joins,
        cgroup,
        gate,
        stdin,
        stdout,
        stderr,
        tty: tty.map(above_stdio).transpose()?,
        tty_path,
        wait_mapped: id_maps.is_some(),
        cgroupns,
    };
    let signals = block_signals(io.master.is_some())?;
    let inherited = Inherited::enter(&inherit)?;
    let (pid, pidfd) = syscall::clone_process(flags, || {
        child::run(&fds, |f| plan.before_go(f), |f| plan.setup_and_exec(f))
    })
    .map_err(|source| ProcessError::Clone { source })?;
    let child = Child::new(pid, pidfd);
    inherited.restore()?;
    // Close our copies of the child's fds (its end of the socket above all: EOF means exec).
    let sock = fds.parent_end.take();
    drop(fds);
    let sock = sock.ok_or(ProcessError::Sync {
        pid: pid.as_raw(),
        op: "keep the socket",
        source: Errno::EBADF,
    })?;
    let mut paused = Paused {
        child,
        sock,
        plan,
        io,
        signals,
    };
    if let Some(maps) = id_maps {
        maps.write(pid.as_raw())?;
        send_msg(paused.sock.as_fd(), &Msg::Mapped).map_err(|source| ProcessError::Sync {
            pid: pid.as_raw(),
            op: "send Mapped",
            source,
        })?;
    }
    match receive(paused.sock.as_fd()) {
        Ok(Received::Msg(Msg::Ready)) => Ok(paused),
        Ok(Received::Msg(Msg::Failed(f))) => Err(paused.failure(f)),
        Ok(Received::Eof) => Err(paused.died()),
        Ok(other) => Err(paused.protocol("waiting for the child to be ready", other)),
        Err(source) => Err(ProcessError::Sync {
            pid: pid.as_raw(),
            op: "receive Ready",
            source,
        }),
    }
}

impl Paused {
    /// Host PID of the container's PID 1.
    pub fn pid(&self) -> i32 {
        self.child.pid.as_raw()
    }

    /// The pty master with a terminal (OCI: sent to the engine's console socket).
    pub fn take_terminal(&mut self) -> Option<OwnedFd> {
        self.io.master.take()
    }

    /// The container's network namespace, `/proc/<pid>/ns/net`.
    pub fn netns_path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/ns/net", self.pid()))
    }

    /// Let the child set up and exec. Returns once the exec happened (the child's close-on-exec
    /// socket end closed) or with the child's typed error.
    pub fn start(self) -> Result<Running, ProcessError> {
        let pid = self.pid();
        let mut early = Vec::new();
        while let Some(info) = self
            .signals
            .read_signal()
            .map_err(|source| ProcessError::Sync {
                pid,
                op: "read pending signals",
                source,
            })?
        {
            let signal = info.ssi_signo as i32;
            if [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT].contains(&signal) {
                return Err(ProcessError::Interrupted { signal });
            }
            early.push(signal);
        }
        // A child that failed building its root before Go has left (the send fails) with its
        // failure queued on the socket: that is the error to report.
        let go = send_msg(self.sock.as_fd(), &Msg::Go);
        match (go, receive(self.sock.as_fd())) {
            (_, Ok(Received::Msg(Msg::Failed(f)))) => Err(self.failure(f)),
            (Err(source), _) => Err(ProcessError::Sync {
                pid,
                op: "send Go",
                source,
            }),
            (Ok(()), Ok(Received::Eof)) => {
                let Paused {
                    child, io, signals, ..
                } = self;
                Ok(Running::new(child, io, signals, early))
            }
            (Ok(()), Ok(other)) => Err(self.protocol("waiting for exec", other)),
            (Ok(()), Err(source)) => Err(ProcessError::Sync {
                pid,
                op: "wait for exec",
                source,
            }),
        }
    }

    /// OCI `create`: Go, then let the child set up to its exec gate. Where it stops after its
    /// mounts ([`Gate::stop_before_pivot`](super::Gate)), `mounted(pid)` runs (the
    /// createContainer hooks) before it goes on. Returns once it waits at the fifo.
    pub fn set_up<E: From<ProcessError>>(
        self,
        mut mounted: impl FnMut(i32) -> Result<(), E>,
    ) -> Result<Gated, E> {
        let pid = self.pid();
        let sync = |op| move |source| ProcessError::Sync { pid, op, source };
        send_msg(self.sock.as_fd(), &Msg::Go).map_err(sync("send Go"))?;
        loop {
            match receive(self.sock.as_fd()).map_err(sync("wait for the exec gate"))? {
                Received::Msg(Msg::Mounted) => {
                    mounted(pid)?;
                    send_msg(self.sock.as_fd(), &Msg::Go).map_err(sync("send Go"))?;
                }
                Received::Msg(Msg::Created) => {
                    let Paused {
                        child,
                        sock,
                        io,
                        signals,
                        ..
                    } = self;
                    return Ok(Gated::new(child, sock, io, signals));
                }
                Received::Msg(Msg::Failed(f)) => return Err(self.failure(f).into()),
                Received::Eof => {
                    let mut me = self;
                    return Err(me.died().into());
                }
                other => return Err(self.protocol("waiting for the exec gate", other).into()),
            }
        }
    }

    pub(super) fn failure(&self, f: Failure) -> ProcessError {
        let cmd = self.plan.cmd().to_owned();
        match (f.step, f.errno) {
            (Step::Exec, Errno::ENOENT) => ProcessError::ExecNotFound { cmd },
            (Step::Exec, Errno::EACCES) => ProcessError::PermissionDenied { cmd },
            (step, source) => ProcessError::Setup {
                step,
                culprit: self.plan.culprit(&f),
                source,
            },
        }
    }

    fn died(&mut self) -> ProcessError {
        let exit = self.child.reap().ok();
        ProcessError::DiedDuringSetup {
            pid: self.pid(),
            exit,
        }
    }

    fn protocol(&self, phase: &'static str, got: Received) -> ProcessError {
        ProcessError::Protocol {
            pid: self.pid(),
            phase,
            got: format!("{got:?}"),
        }
    }
}

impl std::fmt::Debug for Paused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Paused")
            .field("pid", &self.pid())
            .finish_non_exhaustive()
    }
}
