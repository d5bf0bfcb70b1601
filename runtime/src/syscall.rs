//! The runtime's unsafe code: the few syscalls nix does not wrap, or wraps in a way that
//! allocates (which the container child, running between clone and exec, must not do).

use std::ffi::{c_char, CStr, CString};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::panic::AssertUnwindSafe;

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

pub(crate) mod bpf;
mod net;
pub(crate) use net::loopback_up;

/// `struct clone_args` up to `tls` (CLONE_ARGS_SIZE_VER0, 64 bytes).
#[repr(C, align(8))]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
}

/// Create a child process in new namespaces (`flags`), fork-style: the child runs `child` on its
/// copy of this stack and `_exit`s with its result; it never returns from here. The parent gets
/// the child's pid and a pidfd.
///
/// `child` runs in a copy of a possibly multi-threaded process: it must only make syscalls on
/// data prepared before the clone (no allocation, no locks), as `process::child` does.
pub(crate) fn clone_process(
    flags: CloneFlags,
    child: impl FnOnce() -> i32,
) -> Result<(Pid, OwnedFd), Errno> {
    let mut pidfd: libc::c_int = -1;
    let mut args = CloneArgs {
        flags: flags.bits() as u64 | libc::CLONE_PIDFD as u64,
        pidfd: &mut pidfd as *mut libc::c_int as u64,
        child_tid: 0,
        parent_tid: 0,
        exit_signal: libc::SIGCHLD as u64,
        stack: 0,
        stack_size: 0,
        tls: 0,
    };
    // SAFETY: clone3 without CLONE_VM and without a new stack behaves like fork(2): the child
    // gets a private copy of the address space and resumes here on its copy of this stack. The
    // child branch below runs `child` and `_exit`s, so it never unwinds into the caller's frames.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match ret {
        -1 => Err(Errno::last()),
        0 => {
            let code = std::panic::catch_unwind(AssertUnwindSafe(child)).unwrap_or(255);
            exit_now(code)
        }
        pid => {
            // SAFETY: on success clone3 with CLONE_PIDFD stored a new fd that nothing else owns.
            let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
            Ok((Pid::from_raw(pid as libc::pid_t), pidfd))
        }
    }
}

/// `_exit(2)`: leave without running atexit handlers or flushing stdio (the child's copies of
/// the parent's buffers must not be written twice).
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: _exit has no preconditions and does not return.
    unsafe { libc::_exit(code) }
}

/// argv and envp as NUL-terminated pointer arrays, built before the clone so `execve` in the
/// child does not allocate (nix's `execve` builds these arrays on every call).
pub(crate) struct ExecArgs {
    _strings: Vec<CString>,
    argv: Vec<*const c_char>,
    envp: Vec<*const c_char>,
}

impl ExecArgs {
    pub(crate) fn new(argv: Vec<CString>, envp: Vec<CString>) -> ExecArgs {
        let ptrs = |v: &[CString]| {
            let mut p: Vec<*const c_char> = v.iter().map(|s| s.as_ptr()).collect();
            p.push(std::ptr::null());
            p
        };
        let (a, e) = (ptrs(&argv), ptrs(&envp));
        let mut strings = argv;
        strings.extend(envp);
        ExecArgs {
            _strings: strings,
            argv: a,
            envp: e,
        }
    }

    /// `execve(path, argv, envp)`; returns only on failure.
    pub(crate) fn exec(&self, path: &CStr) -> Errno {
        // SAFETY: `argv` and `envp` are NULL-terminated arrays of pointers into `_strings`, which
        // live as long as `self`; `path` is a valid C string.
        unsafe { libc::execve(path.as_ptr(), self.argv.as_ptr(), self.envp.as_ptr()) };
        Errno::last()
    }
}

/// `ioctl(fd, TIOCSCTTY, 0)`: make the tty `fd` the controlling terminal of this session.
pub(crate) fn set_controlling_tty(fd: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: TIOCSCTTY takes an integer argument and only reads it.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) };
    Errno::result(r).map(drop)
}

/// `ioctl(master, TIOCGPTPEER)`: open the pty's slave end from its master, close-on-exec.
pub(crate) fn open_pty_peer(master: BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: TIOCGPTPEER takes open(2) flags by value and returns a new fd.
    let fd = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTPEER, flags) };
    Errno::result(fd)?;
    // SAFETY: the ioctl returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The window size of terminal `fd` (TIOCGWINSZ).
pub(crate) fn window_size(fd: BorrowedFd<'_>) -> Result<libc::winsize, Errno> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `struct winsize` to the pointer, which is valid for writes.
    let r = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            libc::TIOCGWINSZ,
            &mut ws as *mut libc::winsize,
        )
    };
    Errno::result(r).map(|_| ws)
}

/// Set the window size of terminal `fd` (TIOCSWINSZ); the kernel sends SIGWINCH to its
/// foreground process group.
pub(crate) fn set_window_size(fd: BorrowedFd<'_>, ws: &libc::winsize) -> Result<(), Errno> {
    // SAFETY: TIOCSWINSZ reads one `struct winsize` from the pointer, which is valid.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, ws as *const libc::winsize) };
    Errno::result(r).map(drop)
}

/// Mark every fd from `first` up close-on-exec, so none of den's fds leak into the container.
pub(crate) fn cloexec_from(first: u32) -> Result<(), Errno> {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets a flag on fds; it closes nothing.
    let r = unsafe { libc::close_range(first, u32::MAX, libc::CLOSE_RANGE_CLOEXEC as libc::c_int) };
    Errno::result(r).map(drop)
}

/// open(2) + one write(2) of `data` to an existing file (a /proc/sys entry), without allocating.
pub(crate) fn write_file(path: &CStr, data: &[u8]) -> Result<(), Errno> {
    let fd = nix::fcntl::open(
        path,
        nix::fcntl::OFlag::O_WRONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?;
    let n = nix::unistd::write(&fd, data)?;
    if n != data.len() {
        return Err(Errno::EIO);
    }
    Ok(())
}

/// setrlimit(2) of the calling process.
pub(crate) fn set_rlimit(
    resource: libc::__rlimit_resource_t,
    limit: &libc::rlimit,
) -> Result<(), Errno> {
    // SAFETY: `limit` is a valid rlimit for the duration of the call; the kernel only reads it.
    let r = unsafe { libc::setrlimit(resource, limit) };
    Errno::result(r).map(drop)
}

/// Install a seccomp filter: `prog` holds `struct sock_filter` entries (libseccomp's BPF export).
pub(crate) fn install_seccomp(prog: &[u8]) -> Result<(), Errno> {
    let size = std::mem::size_of::<libc::sock_filter>();
    if prog.is_empty() || !prog.len().is_multiple_of(size) || prog.len() / size > u16::MAX as usize
    {
        return Err(Errno::EINVAL);
    }
    let fprog = libc::sock_fprog {
        len: (prog.len() / size) as u16,
        // The kernel only reads the filter (and copies it) during the call.
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: fprog points at `len` complete sock_filter entries in `prog`, alive for the call;
    // SECCOMP_SET_MODE_FILTER with no flags reads them and keeps its own copy.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0,
            &fprog as *const libc::sock_fprog,
        )
    };
    Errno::result(r).map(drop)
}

/// Reset every signal's disposition to the default (exec keeps "ignored"; den's runtime ignores
/// SIGPIPE, which the container must not inherit).
pub(crate) fn reset_signal_dispositions() -> Result<(), Errno> {
    for sig in 1..libc::SIGRTMAX() + 1 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: a zeroed sigaction with SIG_DFL is a valid argument; no handler runs.
        let r = unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(sig, &act, std::ptr::null_mut())
        };
        // glibc reserves two real-time signals for itself and refuses them with EINVAL.
        match Errno::result(r) {
            Ok(_) | Err(Errno::EINVAL) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// SIGPIPE back to its default (Rust starts programs with it ignored): for a command that only reads
/// and prints, a closed reader (`den ps | head -1`) ends it quietly, as it ends docker or ls,
/// instead of a panic in `println!`. Never for a command with something to undo.
pub fn default_sigpipe() -> Result<(), Errno> {
    // SAFETY: a zeroed sigaction with SIG_DFL is a valid argument; no handler runs.
    let r = unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(libc::SIGPIPE, &act, std::ptr::null_mut())
    };
    Errno::result(r).map(drop)
}

/// Block until child `pid` ends and return its raw wait status (nix's `waitpid` fails on
/// statuses with real-time signals, after having reaped the child).
pub(crate) fn wait_exit(pid: Pid) -> Result<libc::c_int, Errno> {
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: waitpid writes one int to the pointer, which is valid for writes.
        let r = unsafe { libc::waitpid(pid.as_raw(), &mut status as *mut libc::c_int, 0) };
        match Errno::result(r) {
            Ok(_) => return Ok(status),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Take fd `n`, inherited across exec (the supervisor's log pipes), if it is open; close-on-exec.
pub(crate) fn inherited_fd(n: i32) -> Option<OwnedFd> {
    // SAFETY: F_SETFD on an int only changes that fd's flags; it fails with EBADF if not open.
    let r = unsafe { libc::fcntl(n, libc::F_SETFD, libc::FD_CLOEXEC) };
    // SAFETY: the fd is open, and nothing else in this fresh process image owns it.
    (n > 2 && r == 0).then(|| unsafe { OwnedFd::from_raw_fd(n) })
}

/// Duplicate `fd` close-on-exec onto the lowest free number above 2 (never onto stdio).
pub(crate) fn dup_above_stdio(fd: BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
    // SAFETY: F_DUPFD_CLOEXEC takes an int and returns a new fd or -1.
    let new = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
    Errno::result(new)?;
    // SAFETY: fcntl returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

// setgroups/setresgid/setresuid as raw syscalls. They change only the calling thread, which in
// the container child is its only thread. glibc's wrappers instead signal every thread glibc
// knows about (in a forked child: the parent's threads, copied as data) under a lock that one
// of those threads may have held at clone time.

/// Raw `setgroups(2)` for this thread.
pub(crate) fn set_groups(groups: &[libc::gid_t]) -> Result<(), Errno> {
    // SAFETY: the kernel reads `len` gids from the pointer, which points at `len` gids.
    let r = unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) };
    Errno::result(r).map(drop)
}

/// Raw `setresgid(2)` (all three ids) for this thread.
pub(crate) fn set_gid(gid: libc::gid_t) -> Result<(), Errno> {
    // SAFETY: integer arguments only.
    let r = unsafe { libc::syscall(libc::SYS_setresgid, gid, gid, gid) };
    Errno::result(r).map(drop)
}

/// Raw `setresuid(2)` (all three ids) for this thread.
pub(crate) fn set_uid(uid: libc::uid_t) -> Result<(), Errno> {
    // SAFETY: integer arguments only.
    let r = unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) };
    Errno::result(r).map(drop)
}

/// `pidfd_open(2)`: a pidfd (close-on-exec) referring to process `pid` as it is now.
pub(crate) fn pidfd_open(pid: i32) -> Result<OwnedFd, Errno> {
    // SAFETY: integer arguments only; returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    Errno::result(fd)?;
    // SAFETY: pidfd_open returned a new fd that nothing else owns (fds fit in an int).
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// `pidfd_send_signal(fd, sig, NULL, 0)`: a signal that can only reach the process the pidfd names,
/// never one that reused its pid.
pub(crate) fn pidfd_send_signal(pidfd: BorrowedFd<'_>, sig: Signal) -> Result<(), Errno> {
    // SAFETY: the fd is open for the whole call, a NULL siginfo is allowed, flags are 0.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig as libc::c_int,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    Errno::result(r).map(drop)
}

/// `ioctl(master, TIOCSPTLCK, 0)`: unlock a pty master's slave (unlockpt(3) on an fd that nix
/// only accepts as its own `PtyMaster`).
pub(crate) fn unlock_pty(master: BorrowedFd<'_>) -> Result<(), Errno> {
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int from the pointer, which points at a live int.
    let r = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCSPTLCK,
            &unlock as *const libc::c_int,
        )
    };
    Errno::result(r).map(drop)
}

/// `fork(2)`, for the supervisor of `den run -d`. Returns the child's pid in the parent and `None`
/// in the child. Only sound while the calling process has a single thread: the caller checks
/// that (`/proc/self/status`), and den forks before any runtime or thread exists.
pub(crate) fn fork_single_threaded() -> Result<Option<Pid>, Errno> {
    // SAFETY: with one thread, the child is a complete copy of the process: no lock can be held
    // by a thread that does not exist in the child, so it may run any code, allocation included.
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Parent { child } => Ok(Some(child)),
        nix::unistd::ForkResult::Child => Ok(None),
    }
}

/// `open_tree(path, OPEN_TREE_CLONE | AT_RECURSIVE)`: a detached copy of the mount tree at `path`.
/// A copy of a shared mount joins its peer group, so a later `move_mount` of it keeps receiving
/// (and sending) mount events: how a `shared`/`slave` bind reaches a container whose root
/// propagation is private.
pub(crate) fn open_tree_clone(path: &CStr) -> Result<OwnedFd, Errno> {
    // <linux/mount.h>: OPEN_TREE_CLONE, OPEN_TREE_CLOEXEC (= O_CLOEXEC); <fcntl.h>: AT_RECURSIVE.
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    const AT_RECURSIVE: libc::c_uint = 0x8000;
    let flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint | AT_RECURSIVE;
    // SAFETY: `path` is a valid NUL-terminated string for the duration of the call; the kernel
    // returns a new fd that nothing else owns, wrapped at once.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: a fresh fd returned by open_tree, owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// `move_mount(from, "", to, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)`: attach a
/// detached tree on the directory `to` is open on (an `/proc/self/fd/N` path is refused).
pub(crate) fn move_mount_to(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> Result<(), Errno> {
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 4;
    const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;
    // SAFETY: the empty paths are valid NUL-terminated strings; `from` and `to` are live fds.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            to.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(())
}
