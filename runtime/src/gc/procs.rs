//! Processes as `gc` sees them: alive means the same (pid, start time) AND not a zombie (a killed
//! `den run` whose parent has not reaped it yet is gone for our purposes), and a kill that can
//! only ever reach the process that was recorded.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;

use crate::syscall::{pidfd_open, pidfd_send_signal};

/// How long a SIGKILLed container may take to go (an uninterruptible sleep can delay it).
const KILL_WAIT: Duration = Duration::from_secs(5);

/// State (field 3) and start time (field 22) of /proc/PID/stat; `None` if there is no such pid.
fn stat(pid: i32) -> Option<(char, u64)> {
    let bytes = read_small(Path::new(&format!("/proc/{pid}/stat"))).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    let mut rest = text[text.rfind(')')? + 1..].split_whitespace();
    let state = rest.next()?.chars().next()?;
    Some((state, rest.nth(18)?.parse().ok()?))
}

/// A small file in as few syscalls as possible (std's `read_to_string` probes a /proc file in many
/// short reads, each of which makes the kernel render it again): open, read, read (EOF), close.
pub(super) fn read_small(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(len * 2, 0);
        }
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    Ok(buf)
}

/// Is `pid` still the process that started at `start`, and not a zombie?
pub(super) fn alive(pid: i32, start: u64) -> bool {
    matches!(stat(pid), Some((s, t)) if t == start && s != 'Z' && s != 'X')
}

/// Is `pid` some live process (for records without a start time)?
pub(super) fn any_alive(pid: i32) -> bool {
    matches!(stat(pid), Some((s, _)) if s != 'Z' && s != 'X')
}

/// What became of a kill.
pub(super) enum Killed {
    /// It was there, got SIGKILL and is gone.
    Yes,
    /// It had gone already (or the pid is another process now).
    WasGone,
}

/// SIGKILL the process (pid, start) through a pidfd and wait until it has exited. Its PID
/// namespace, and with it every process of the container, goes with it.
pub(super) fn kill(pid: i32, start: u64) -> Result<Killed, Errno> {
    let pidfd = match pidfd_open(pid) {
        Ok(fd) => fd,
        Err(Errno::ESRCH) => return Ok(Killed::WasGone),
        Err(e) => return Err(e),
    };
    // The fd pins whichever process has the pid now: check it is ours before signalling.
    if !alive(pid, start) {
        return Ok(Killed::WasGone);
    }
    match pidfd_send_signal(pidfd.as_fd(), Signal::SIGKILL) {
        Ok(()) => {}
        Err(Errno::ESRCH) => return Ok(Killed::WasGone),
        Err(e) => return Err(e),
    }
    if wait_exited(&pidfd, KILL_WAIT)? {
        Ok(Killed::Yes)
    } else {
        Err(Errno::ETIMEDOUT)
    }
}

/// Wait until the process of `pidfd` has exited (the fd polls readable), at most `timeout`.
/// Returns whether it exited.
fn wait_exited(pidfd: &OwnedFd, timeout: Duration) -> Result<bool, Errno> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_wrong_start_is_not() {
        let me = std::process::id() as i32;
        let (_, start) = stat(me).unwrap();
        assert!(alive(me, start));
        assert!(any_alive(me));
        assert!(!alive(me, start + 1));
    }

    #[test]
    fn a_reaped_child_is_gone_and_a_zombie_is_not_alive() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        let (_, start) = stat(pid).unwrap();
        // Not reaped yet: a zombie once it exits.
        for _ in 0..500 {
            if stat(pid).is_some_and(|(s, _)| s == 'Z') {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!alive(pid, start), "a zombie counts as gone");
        child.wait().unwrap();
        assert!(!alive(pid, start));
    }

    #[test]
    fn kill_reaches_the_recorded_process_only() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let (_, start) = stat(pid).unwrap();
        assert!(matches!(kill(pid, start + 1), Ok(Killed::WasGone)));
        assert!(alive(pid, start), "a wrong start time must not be killed");
        assert!(matches!(kill(pid, start), Ok(Killed::Yes)));
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    }
}
