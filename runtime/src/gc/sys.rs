//! The process calls `gc` needs that nix does not wrap: a pidfd names one process for good, so a
//! signal sent through it can never hit a process that reused the pid.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;

/// `pidfd_open(pid, 0)`: a close-on-exec fd for the process `pid` is right now.
pub(super) fn pidfd_open(pid: i32) -> Result<OwnedFd, Errno> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1; no pointers.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    Errno::result(fd)?;
    // SAFETY: the kernel returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// `pidfd_send_signal(fd, sig, NULL, 0)`.
pub(super) fn pidfd_send_signal(pidfd: &OwnedFd, sig: Signal) -> Result<(), Errno> {
    // SAFETY: the fd is open for the whole call, a NULL siginfo is allowed, flags are 0.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig as i32,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    Errno::result(r).map(drop)
}

/// Wait until the process of `pidfd` has exited (the fd polls readable), at most `timeout`.
/// Returns whether it exited.
pub(super) fn wait_exited(pidfd: &OwnedFd, timeout: Duration) -> Result<bool, Errno> {
    let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
    let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
    loop {
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(n) => return Ok(n > 0),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}
