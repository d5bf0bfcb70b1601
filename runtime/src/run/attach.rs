//! `den run --sig-proxy=false` (without `-t`): docker's client with its signal proxy off. There,
//! a signal (Ctrl-C) ends the client alone and the container runs on under the daemon. den's
//! honest equivalent: the container runs under its own supervisor from the start, as with `-d`
//! (logged, `den stop`/`den logs -f` work on it). This den is only an attached client: it shows the
//! attached streams, which the supervisor echoes into pipes as it logs them, and exits with the
//! container's status, which the supervisor writes on the report pipe once the exit is recorded.
//! den leaves every signal at its default: SIGINT or SIGTERM ends den, the container goes on.
//!
//! `-i` is refused with it: no daemon holds the container's stdin for a client that comes and
//! goes, and a container left reading den's terminal after den ended would fight the shell for it.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::{pipe2, read, write};

use super::detached::{self, Echo};
use super::validate::Validated;
use super::{Attached, RunError};

/// Steps 2-7 in a supervisor, this process attached to it; returns the container's status.
pub(crate) fn run(v: Validated, attached: Attached) -> Result<i32, RunError> {
    let id = v.id.clone();
    let pipe = |on: bool| -> Result<Option<(OwnedFd, OwnedFd)>, RunError> {
        on.then(|| pipe2(OFlag::O_CLOEXEC))
            .transpose()
            .map_err(|source| RunError::ReportPipe {
                id: id.clone(),
                source,
            })
    };
    let (out, err) = (pipe(attached.stdout)?, pipe(attached.stderr)?);
    let (out_r, out_w) = out.unzip();
    let (err_r, err_w) = err.unzip();
    let echo = Echo {
        out: out_w,
        err: err_w,
    };
    let spawned = detached::spawn_attached(v, None, Some(echo))?;
    let Some((report, early)) = spawned.report else {
        return Err(RunError::SupervisorLost { id });
    };
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut streams = [
        out_r.map(|r| (r, stdout.as_fd())),
        err_r.map(|r| (r, stderr.as_fd())),
    ];
    let mut report = Some(report);
    let mut said = early;
    loop {
        if exit_line(&said).is_some() {
            // Written after the supervisor closed the echo pipes: they only need reading to EOF.
            report = None;
        }
        if report.is_none() && streams.iter().all(Option::is_none) {
            return exit_line(&said).ok_or(RunError::ExitLost { id });
        }
        let mut fds: Vec<PollFd> = streams
            .iter()
            .flatten()
            .map(|(r, _)| PollFd::new(r.as_fd(), PollFlags::POLLIN))
            .collect();
        if let Some(r) = &report {
            fds.push(PollFd::new(r.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => return Err(RunError::ExitLost { id }),
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        let mut ready = ready.into_iter();
        for slot in streams.iter_mut().filter(|s| s.is_some()) {
            if ready.next() == Some(true) && !copy(slot) {
                *slot = None;
            }
        }
        if let (Some(true), Some(r)) = (ready.next(), &report) {
            let mut buf = [0u8; 64];
            match read(r, &mut buf) {
                Ok(0) => report = None,
                Ok(n) => said.extend_from_slice(&buf[..n]),
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                Err(_) => report = None,
            }
        }
    }
}

/// `exit STATUS` in what the report pipe said after "ok".
fn exit_line(said: &[u8]) -> Option<i32> {
    let text = std::str::from_utf8(said).ok()?;
    text.split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .find_map(|l| l.strip_prefix("exit "))?
        .trim()
        .parse()
        .ok()
}

/// Copy what one echo pipe has to den's stream; false once it is at EOF.
fn copy(slot: &mut Option<(OwnedFd, BorrowedFd<'_>)>) -> bool {
    let Some((from, to)) = slot.as_ref() else {
        return false;
    };
    let mut buf = [0u8; 16384];
    let n = match read(from, &mut buf) {
        Ok(0) => return false,
        Ok(n) => n,
        Err(Errno::EINTR | Errno::EAGAIN) => return true,
        Err(_) => return false,
    };
    let mut data = &buf[..n];
    while !data.is_empty() {
        match write(to, data) {
            Ok(n) => data = &data[n..],
            Err(Errno::EINTR) => {}
            // Nobody reads den's output any more: drain the pipe, drop the bytes.
            Err(_) => break,
        }
    }
    true
}

/// `--sig-proxy=false -i` is refused (see the module's text).
pub(crate) fn check(sig_proxy: bool, interactive: bool, tty: bool) -> Result<bool, RunError> {
    match (sig_proxy, tty, interactive) {
        (true, _, _) | (false, true, _) => Ok(false),
        (false, false, true) => Err(RunError::SigProxyInteractive),
        (false, false, false) => Ok(true),
    }
}

#[cfg(test)]
mod tests {
    use super::exit_line;

    #[test]
    fn the_exit_counts_once_its_line_is_whole() {
        assert_eq!(exit_line(b"exit 3\n"), Some(3));
        assert_eq!(exit_line(b"exit 137\n"), Some(137));
        assert_eq!(exit_line(b"exit 13"), None);
        assert_eq!(exit_line(b""), None);
    }
}
