//! The few raw syscalls the harness needs, each wrapped with its SAFETY argument.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Sends `sig` to `pid`. Callers make sure `pid` is a process of theirs (see `procs`).
pub fn kill(pid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    let rc = unsafe { libc::kill(pid, sig) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Moves the calling thread into the network namespace `ns` (an open nsfs file).
pub fn setns_net(ns: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: the fd is borrowed, so it stays open for the call; setns(2) only changes
    // the calling thread's network namespace and touches no memory of ours.
    let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Takes an exclusive flock on `fd`, blocking until it is free. Released when the fd closes.
pub fn flock_exclusive(fd: BorrowedFd<'_>) -> io::Result<()> {
    loop {
        // SAFETY: the fd is borrowed, so it stays open for the call; flock(2) touches no memory.
        let rc = unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX) };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}
