//! The container's PID 1 between clone and exec (`create_and_exec`: its mounts, root, ids and
//! capabilities), and a process `den exec` starts in a running container (`enter_and_exec`).
//!
//! Runs in a copy of a possibly multi-threaded parent, so it must not allocate or take locks:
//! it only makes syscalls on the `ChildPlan` and fds prepared before the clone, and reports a
//! failure as a fixed-size message naming the step.

use std::cell::Cell;
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sched::{setns, CloneFlags};
use nix::sys::prctl::set_pdeathsig;
use nix::sys::signal::Signal;
use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow};
use nix::sys::socket::{recv, MsgFlags};
use nix::sys::stat::{umask, Mode};
use nix::unistd::{
    chdir, dup2_stderr, dup2_stdin, dup2_stdout, fchdir, pivot_root, read, sethostname, setsid,
};

use super::caps;
use super::masks;
use super::plan::{ChildPlan, EnterPlan};
use super::proc_plan::ProcPlan;
use super::sync::{receive, send_msg, Failure, Msg, Received, Step};
use crate::syscall;

/// The fds the child uses; the parent closes its copies right after the clone.
pub struct ChildFds {
    pub sock: OwnedFd,
    /// The parent's end of the socketpair: closed first thing in the child, so the child sees
    /// EOF (and gives up) if den dies before sending Go.
    pub parent_end: Cell<Option<OwnedFd>>,
    /// Namespaces to join (setns) before reporting Ready: a namespace file, or a container's
    /// pidfd with the set of its namespaces to enter.
    pub joins: Vec<(OwnedFd, CloneFlags)>,
    /// Cgroup files to write "0" to (moving this process in) before reporting Ready.
    pub cgroup: Vec<OwnedFd>,
    /// The exec fifo (O_PATH), only held open here: the child reopens it through
    /// `/proc/self/fd/N` (its number is in the plan) at the gate.
    #[allow(dead_code)]
    pub gate: Option<OwnedFd>,
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    /// The pty slave with a terminal.
    pub tty: Option<OwnedFd>,
    /// Its path in den's mount namespace, bind-mounted on /dev/console.
    pub tty_path: Option<CString>,
    /// In a new user namespace: wait for the parent's Mapped, then become its root.
    pub wait_mapped: bool,
    /// Unshare a cgroup namespace once in the cgroup (so its root is the container's cgroup).
    pub cgroupns: bool,
}

/// The child's main: join the namespaces and the cgroup, report Ready, `before_go` (while den
/// attaches the network), wait for Go, `setup_and_exec`. Returns only on failure (the exit status
/// is irrelevant: the parent has the typed error and reaps).
pub fn run(
    fds: &ChildFds,
    before_go: impl FnOnce(&ChildFds) -> Result<(), Failure>,
    setup_and_exec: impl FnOnce(&ChildFds) -> Failure,
) -> i32 {
    drop(fds.parent_end.take());
    let sock = fds.sock.as_fd();
    // Until Go, den's death kills this process at once: it may be building its root in the
    // container's dirs, which gc removes then. A den already gone shows as EOF on the socket.
    if set_pdeathsig(Signal::SIGKILL).is_err() || parent_gone(sock) {
        return 1;
    }
    // Until exec (which resets it), the container's processes must not reach our fds and memory
    // through /proc or ptrace: a `den exec` child is in their PID namespace from the clone on,
    // still holding den's fds (runc's fix for CVE-2016-9962).
    if let Err(e) = nix::sys::prctl::set_dumpable(false) {
        let _ = send_msg(sock, &Msg::Failed(Failure::new(Step::NotDumpable, e)));
        return 1;
    }
    if fds.wait_mapped {
        if let Err(f) = super::userns::become_mapped_root(sock) {
            let _ = send_msg(sock, &Msg::Failed(f));
            return 1;
        }
    }
    for (i, (fd, flags)) in fds.joins.iter().enumerate() {
        if let Err(e) = setns(fd, *flags) {
            let _ = send_msg(sock, &Msg::Failed(Failure::at(Step::JoinNamespace, i, e)));
            return 1;
        }
    }
    for (i, fd) in fds.cgroup.iter().enumerate() {
        if let Err(e) = nix::unistd::write(fd, b"0") {
            let _ = send_msg(sock, &Msg::Failed(Failure::at(Step::JoinCgroup, i, e)));
            return 1;
        }
    }
    if fds.cgroupns {
        if let Err(e) = nix::sched::unshare(CloneFlags::CLONE_NEWCGROUP) {
            let _ = send_msg(sock, &Msg::Failed(Failure::new(Step::JoinCgroup, e)));
            return 1;
        }
    }
    if send_msg(sock, &Msg::Ready).is_err() {
        return 1;
    }
    // A failure here is read by the parent after its Go (queued on the socket).
    if let Err(f) = before_go(fds) {
        let _ = send_msg(sock, &Msg::Failed(f));
        return 1;
    }
    match receive(sock) {
        // From Go on, den's death leaves it running, as its record says (gc ends it).
        Ok(Received::Msg(Msg::Go)) => {
            if let Err(e) = set_pdeathsig(None) {
                let _ = send_msg(sock, &Msg::Failed(Failure::new(Step::Protocol, e)));
                return 1;
            }
        }
        // den went away before starting us.
        Ok(Received::Eof) | Err(_) => return 1,
        Ok(_) => {
            let _ = send_msg(
                sock,
                &Msg::Failed(Failure::new(Step::Protocol, Errno::EPROTO)),
            );
            return 1;
        }
    }
    let failure = setup_and_exec(fds);
    let _ = send_msg(sock, &Msg::Failed(failure));
    1
}

/// The sync socket's other end is closed (a peek that does not wait reads EOF).
fn parent_gone(sock: BorrowedFd<'_>) -> bool {
    let flags = MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT;
    matches!(recv(sock.as_raw_fd(), &mut [0u8; 1], flags), Ok(0))
}

fn at(step: Step) -> impl Fn(Errno) -> Failure {
    move |e| Failure::new(step, e)
}

fn stdio(fds: &ChildFds) -> Result<(), Failure> {
    if let Some(tty) = &fds.tty {
        setsid().map_err(at(Step::Terminal))?;
        syscall::set_controlling_tty(tty.as_fd()).map_err(at(Step::Terminal))?;
        dup2_stdin(tty).map_err(at(Step::Terminal))?;
        dup2_stdout(tty).map_err(at(Step::Terminal))?;
        return dup2_stderr(tty).map_err(at(Step::Terminal));
    }
    if let Some(fd) = &fds.stdin {
        dup2_stdin(fd).map_err(at(Step::Stdio))?;
    }
    if let Some(fd) = &fds.stdout {
        dup2_stdout(fd).map_err(at(Step::Stdio))?;
    }
    if let Some(fd) = &fds.stderr {
        dup2_stderr(fd).map_err(at(Step::Stdio))?;
    }
    Ok(())
}

fn mount_rootfs(plan: &ChildPlan) -> Result<OwnedFd, Failure> {
    let none: Option<&CStr> = None;
    mount(none, c"/", none, plan.propagation, none).map_err(at(Step::MakePrivate))?;
    let root = plan.root.as_c_str();
    if let Some(dir) = &plan.overlay_cwd {
        chdir(dir.as_c_str()).map_err(at(Step::MountRootfs))?;
    }
    match &plan.overlay {
        Some(data) => mount(
            Some(c"overlay"),
            root,
            Some(c"overlay"),
            MsFlags::empty(),
            Some(data.as_c_str()),
        ),
        None => mount(
            Some(root),
            root,
            none,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            none,
        ),
    }
    .map_err(at(Step::MountRootfs))?;
    if plan.root_nodev {
        let flags = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_NODEV;
        mount(none, root, none, flags, none).map_err(at(Step::MountRootfs))?;
    }
    open(
        root,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(at(Step::OpenRootfs))
}

/// pivot_root(".", ".") then detach the old root stacked on top (runc's way: no put_old dir).
fn pivot(root: BorrowedFd<'_>) -> Result<(), Errno> {
    fchdir(root)?;
    pivot_root(c".", c".")?;
    umount2(c".", MntFlags::MNT_DETACH)?;
    chdir(c"/")
}

/// A new container's PID 1 before Go: what of its root the plan builds then (see
/// [`ChildPlan::root_before_go`]): the mounts and pivot_root, and without sysctls the rest.
pub fn prepare_root(plan: &ChildPlan, fds: &ChildFds) -> Result<(), Failure> {
    match plan.root_before_go {
        true => build_root(plan, fds).and_then(|()| match plan.sysctls.is_empty() {
            true => finish_root(plan),
            false => Ok(()),
        }),
        false => Ok(()),
    }
}

/// A new container's PID 1 after Go: build the rest of its root, then become its process.
pub fn create_and_exec(plan: &ChildPlan, fds: &ChildFds) -> Failure {
    let set_up = || {
        if !plan.root_before_go {
            build_root(plan, fds)?;
        }
        if !plan.root_before_go || !plan.sysctls.is_empty() {
            finish_root(plan)?;
        }
        become_process(&plan.process, fds)
    };
    match set_up() {
        Ok(()) => exec(&plan.process),
        Err(f) => f,
    }
}

/// A process in a running container: the namespaces (and so its root) are joined already.
pub fn enter_and_exec(plan: &EnterPlan, fds: &ChildFds) -> Failure {
    match stdio(fds).and_then(|()| become_process(&plan.process, fds)) {
        Ok(()) => exec(&plan.process),
        Err(f) => f,
    }
}

/// `lo`, the mounts, /dev, pivot_root: nothing den does between Ready and Go is needed here.
fn build_root(plan: &ChildPlan, fds: &ChildFds) -> Result<(), Failure> {
    if plan.loopback_up {
        syscall::loopback_up().map_err(at(Step::Loopback))?;
    }
    umask(Mode::empty());
    stdio(fds)?;
    for (i, m) in plan.mounts.iter().enumerate() {
        m.clone_source()
            .map_err(|e| Failure::at(Step::Mount, i, e))?;
    }
    let root = mount_rootfs(plan)?;
    for (i, m) in plan.mounts.iter().enumerate() {
        m.apply(root.as_fd())
            .map_err(|e| Failure::at(Step::Mount, i, e))?;
    }
    plan.dev.apply(root.as_fd(), fds.tty_path.as_deref())?;
    if let Some(dir) = &plan.workdir {
        dir.ensure_dir(root.as_fd()).map_err(at(Step::Workdir))?;
    }
    if plan.stop_before_pivot {
        stop_for_hooks(fds.sock.as_fd())?;
    }
    pivot(root.as_fd()).map_err(at(Step::PivotRoot))
}

/// The sysctls (after Go: `net.ipv4.conf.eth0.*` needs the network), then the masked and
/// read-only paths (/proc/sys among them), the hostname.
fn finish_root(plan: &ChildPlan) -> Result<(), Failure> {
    for (i, (path, value)) in plan.sysctls.iter().enumerate() {
        syscall::write_file(path, value.as_bytes()).map_err(|e| Failure::at(Step::Sysctl, i, e))?;
    }
    for (i, p) in plan.masked.iter().enumerate() {
        masks::mask(p).map_err(|e| Failure::at(Step::MaskPath, i, e))?;
    }
    for (i, p) in plan.readonly.iter().enumerate() {
        masks::make_readonly(p).map_err(|e| Failure::at(Step::ReadonlyPath, i, e))?;
    }
    if plan.root_readonly {
        let none: Option<&CStr> = None;
        let mut flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        if plan.root_nodev {
            flags |= MsFlags::MS_NODEV;
        }
        mount(none, c"/", none, flags, none).map_err(at(Step::ReadonlyRoot))?;
    }
    if let Some(name) = &plan.hostname {
        sethostname(name).map_err(at(Step::Hostname))?;
    }
    Ok(())
}

/// Drop to the process's ids and capabilities, set no_new_privs, chdir, umask, signals, fds.
/// The seccomp filter goes last, right before exec, when no_new_privs is set; without it the
/// kernel requires CAP_SYS_ADMIN, so it goes before the capabilities are dropped (runc's order).
/// With an exec gate (OCI `create`), the wait for `start` comes after all of it but the
/// no_new_privs seccomp filter, which might not allow the fifo's syscalls.
fn become_process(plan: &ProcPlan, fds: &ChildFds) -> Result<(), Failure> {
    // Opened while still root: the fifo is the runtime's, not the container user's.
    let gate = plan
        .exec_gate
        .as_deref()
        .map(open_gate)
        .transpose()
        .map_err(at(Step::ExecGate))?;
    if fds.wait_mapped {
        nix::sys::prctl::set_dumpable(false).map_err(at(Step::NotDumpable))?;
    }
    let seccomp = plan.seccomp.as_ref();
    if let Some(bpf) = seccomp.filter(|_| !plan.no_new_privs) {
        syscall::install_seccomp(&bpf.0).map_err(at(Step::Seccomp))?;
    }
    for (i, (resource, limit)) in plan.rlimits.iter().enumerate() {
        syscall::set_rlimit(*resource, limit).map_err(|e| Failure::at(Step::Rlimit, i, e))?;
    }
    caps::apply(&plan.ids, &plan.caps)?;
    if plan.no_new_privs {
        nix::sys::prctl::set_no_new_privs().map_err(at(Step::NoNewPrivs))?;
    }
    chdir(plan.cwd.as_c_str()).map_err(at(Step::Chdir))?;
    umask(plan.umask);
    syscall::reset_signal_dispositions().map_err(at(Step::Signals))?;
    pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
        .map_err(at(Step::Signals))?;
    syscall::cloexec_from(plan.close_from).map_err(at(Step::CloseFds))?;
    if let Some(gate) = gate {
        wait_at_gate(gate, fds.sock.as_fd()).map_err(at(Step::ExecGate))?;
    }
    if let Some(bpf) = seccomp.filter(|_| plan.no_new_privs) {
        syscall::install_seccomp(&bpf.0).map_err(at(Step::Seccomp))?;
    }
    Ok(())
}

/// Tell the parent the mounts are made, wait for Go (the createContainer hooks ran).
fn stop_for_hooks(sock: BorrowedFd<'_>) -> Result<(), Failure> {
    send_msg(sock, &Msg::Mounted).map_err(at(Step::Protocol))?;
    match receive(sock) {
        Ok(Received::Msg(Msg::Go)) => Ok(()),
        Ok(_) => Err(Failure::new(Step::Protocol, Errno::EPROTO)),
        Err(e) => Err(Failure::new(Step::Protocol, e)),
    }
}

/// Open the exec fifo for reading, non-blocking: a reader exists from here on, so `start`'s
/// non-blocking open for writing succeeds.
fn open_gate(gate: &CStr) -> Result<OwnedFd, Errno> {
    open(
        gate,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// Report Created and block until `start` writes its byte. EOF without a byte: `start` gave
/// up; no exec.
fn wait_at_gate(fifo: OwnedFd, sock: BorrowedFd<'_>) -> Result<(), Errno> {
    send_msg(sock, &Msg::Created)?;
    loop {
        let mut fds = [PollFd::new(fifo.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
        let mut byte = [0u8; 1];
        match read(fifo.as_fd(), &mut byte) {
            Ok(1) => return Ok(()),
            Ok(_) => return Err(Errno::ECANCELED),
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
}

/// execve each candidate like execvpe: skip missing ones, remember EACCES, stop at other errors.
fn exec(plan: &ProcPlan) -> Failure {
    let mut denied = false;
    for (i, path) in plan.candidates.iter().enumerate() {
        match plan.exec.exec(path) {
            Errno::ENOENT | Errno::ENOTDIR | Errno::ESTALE | Errno::ENODEV | Errno::ETIMEDOUT => {}
            Errno::EACCES => denied = true,
            e => return Failure::at(Step::Exec, i, e),
        }
    }
    Failure::new(
        Step::Exec,
        if denied { Errno::EACCES } else { Errno::ENOENT },
    )
}
