//! The log's writer: the container's stdout and stderr are pipes whose read ends it holds (the
//! supervisor of a detached container, or a foreground `den run`'s relay thread, see `tee`); each
//! line read becomes one docker json-file entry in `container.log` (see [`crate::logs`]), and with
//! `--log-opt max-size=…` the file is rotated (`max-file` files kept). A stream may also be echoed
//! as it is read, byte for byte, to an attached terminal or client (`-a`): a reader that went away
//! (EPIPE) stops the echo, never the log.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};

use crate::logs::{self, stamp, Entry};

/// docker splits longer lines into entries of this size.
const LINE_MAX: usize = 16 * 1024;

struct Stream {
    fd: OwnedFd,
    name: &'static str,
    partial: Vec<u8>,
    open: bool,
    /// Where its bytes are copied as they come (an attached terminal or client).
    echo: Option<OwnedFd>,
}

pub(crate) struct Relay {
    dir: PathBuf,
    /// None: echo only (a `--rm` foreground run, whose log nobody could read).
    file: Option<File>,
    size: u64,
    max_size: Option<u64>,
    max_file: u32,
    streams: Vec<Stream>,
}

pub(crate) fn open_log(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)
}

impl Relay {
    /// The relay of the container whose dir is `dir`, from its stdout and stderr pipes.
    pub fn new(
        dir: &Path,
        out: OwnedFd,
        err: OwnedFd,
        max_size: Option<u64>,
        max_file: Option<u32>,
    ) -> io::Result<Relay> {
        Relay::with_log(dir, out, err, Some((max_size, max_file)))
    }

    /// As [`Relay::new`]; `log` None: no log file, the streams are only echoed.
    pub fn with_log(
        dir: &Path,
        out: OwnedFd,
        err: OwnedFd,
        log: Option<(Option<u64>, Option<u32>)>,
    ) -> io::Result<Relay> {
        for fd in [&out, &err] {
            fcntl(fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).map_err(io::Error::from)?;
        }
        let file = log.map(|_| open_log(&logs::path(dir))).transpose()?;
        let size = match &file {
            Some(f) => f.metadata()?.len(),
            None => 0,
        };
        let (max_size, max_file) = log.unwrap_or_default();
        let stream = |fd, name| Stream {
            fd,
            name,
            partial: Vec::new(),
            open: true,
            echo: None,
        };
        Ok(Relay {
            dir: dir.to_path_buf(),
            file,
            size,
            max_size,
            max_file: max_file.unwrap_or(1).max(1),
            streams: vec![stream(out, "stdout"), stream(err, "stderr")],
        })
    }

    /// Copy stdout's bytes to `out` and stderr's to `err` as they are read (None: not echoed).
    pub fn echo(mut self, out: Option<OwnedFd>, err: Option<OwnedFd>) -> Relay {
        self.streams[0].echo = out;
        self.streams[1].echo = err;
        self
    }

    /// Every fd it uses (the pipes, the echoes, the log file).
    pub fn raw_fds(&self) -> Vec<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        let streams = self.streams.iter().flat_map(|s| {
            [
                Some(s.fd.as_raw_fd()),
                s.echo.as_ref().map(|e| e.as_raw_fd()),
            ]
        });
        streams
            .chain([self.file.as_ref().map(|f| f.as_raw_fd())])
            .flatten()
            .collect()
    }

    /// The pipes still open, with their index for [`Relay::read`].
    pub fn fds(&self) -> Vec<(usize, BorrowedFd<'_>)> {
        self.streams
            .iter()
            .enumerate()
            .filter(|(_, s)| s.open)
            .map(|(i, s)| (i, s.fd.as_fd()))
            .collect()
    }

    /// Read stream `i` until it has nothing more now, logging each complete line.
    pub fn read(&mut self, i: usize) -> io::Result<()> {
        let mut buf = [0u8; 8192];
        loop {
            let n = match nix::unistd::read(&self.streams[i].fd, &mut buf) {
                Ok(0) => {
                    self.streams[i].open = false;
                    return self.flush_partial(i);
                }
                Ok(n) => n,
                Err(Errno::EAGAIN) => return Ok(()),
                Err(Errno::EINTR) => continue,
                Err(e) => {
                    self.streams[i].open = false;
                    return Err(e.into());
                }
            };
            echo(&mut self.streams[i].echo, &buf[..n]);
            if self.file.is_none() {
                continue;
            }
            let mut rest = &buf[..n];
            while let Some(nl) = rest.iter().position(|b| *b == b'\n') {
                self.streams[i].partial.extend_from_slice(&rest[..=nl]);
                rest = &rest[nl + 1..];
                self.flush_partial(i)?;
            }
            self.streams[i].partial.extend_from_slice(rest);
            if self.streams[i].partial.len() >= LINE_MAX {
                self.flush_partial(i)?;
            }
        }
    }

    /// Once the container has ended: what is left in the pipes, and every last partial line.
    pub fn finish(&mut self) -> io::Result<()> {
        for i in 0..self.streams.len() {
            if self.streams[i].open {
                self.read(i)?;
            }
            self.flush_partial(i)?;
        }
        Ok(())
    }

    fn flush_partial(&mut self, i: usize) -> io::Result<()> {
        let s = &mut self.streams[i];
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        if s.partial.is_empty() {
            return Ok(());
        }
        let entry = Entry {
            log: String::from_utf8_lossy(&s.partial).into_owned(),
            stream: s.name.into(),
            time: stamp::format(stamp::now()),
        };
        s.partial.clear();
        let mut line = serde_json::to_vec(&entry).map_err(io::Error::from)?;
        line.push(b'\n');
        file.write_all(&line)?;
        self.size += line.len() as u64;
        match self.max_size {
            Some(max) if self.size >= max => self.rotate(),
            _ => Ok(()),
        }
    }

    /// docker's json-file rotation: `.1` is the newest; `max_file` files in all (1: truncate).
    fn rotate(&mut self) -> io::Result<()> {
        let current = logs::path(&self.dir);
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        if self.max_file == 1 {
            file.set_len(0)?;
        } else {
            for n in (1..self.max_file - 1).rev() {
                let from = logs::rotated(&self.dir, n);
                if from.exists() {
                    fs::rename(&from, logs::rotated(&self.dir, n + 1))?;
                }
            }
            fs::rename(&current, logs::rotated(&self.dir, 1))?;
            self.file = Some(open_log(&current)?);
        }
        self.size = 0;
        Ok(())
    }
}

/// Write `data` whole to the echo fd; a reader gone (EPIPE) or any other failure ends the echo.
fn echo(to: &mut Option<OwnedFd>, mut data: &[u8]) {
    let Some(fd) = to.as_ref() else {
        return;
    };
    while !data.is_empty() {
        match nix::unistd::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => {
                // A non-blocking terminal: wait until it takes more.
                let mut p = [nix::poll::PollFd::new(
                    fd.as_fd(),
                    nix::poll::PollFlags::POLLOUT,
                )];
                let _ = nix::poll::poll(&mut p, nix::poll::PollTimeout::NONE);
            }
            Err(_) => {
                *to = None;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch::Scratch;

    fn pipe() -> (OwnedFd, OwnedFd) {
        nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap()
    }

    #[test]
    fn streams_are_echoed_whole_and_logged_per_line() {
        let scratch = Scratch::new("den-relay");
        let dir = scratch.path();
        let ((out_r, out_w), (err_r, err_w)) = (pipe(), pipe());
        let ((echo_r, echo_w), (no_echo_r, no_echo_w)) = (pipe(), pipe());
        let mut relay = Relay::with_log(dir, out_r, err_r, Some((None, None)))
            .unwrap()
            .echo(Some(echo_w), None);
        nix::unistd::write(&out_w, b"one\ntw").unwrap();
        nix::unistd::write(&err_w, b"oops\n").unwrap();
        drop((out_w, err_w, no_echo_w));
        relay.read(0).unwrap();
        relay.read(1).unwrap();
        relay.finish().unwrap();
        drop(relay);
        let mut echoed = String::new();
        io::Read::read_to_string(&mut File::from(echo_r), &mut echoed).unwrap();
        assert_eq!(echoed, "one\ntw");
        let mut nothing = String::new();
        io::Read::read_to_string(&mut File::from(no_echo_r), &mut nothing).unwrap();
        assert_eq!(nothing, "");
        let log = fs::read_to_string(logs::path(dir)).unwrap();
        let entries: Vec<Entry> = log
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let lines: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| (e.stream.as_str(), e.log.as_str()))
            .collect();
        assert_eq!(
            lines,
            // At EOF a last partial line is an entry of its own.
            [("stdout", "one\n"), ("stdout", "tw"), ("stderr", "oops\n")]
        );
    }

    #[test]
    fn without_a_log_nothing_is_written() {
        let scratch = Scratch::new("den-relay-nolog");
        let dir = scratch.path();
        let ((out_r, out_w), (err_r, err_w)) = (pipe(), pipe());
        let (echo_r, echo_w) = pipe();
        let mut relay = Relay::with_log(dir, out_r, err_r, None)
            .unwrap()
            .echo(None, Some(echo_w));
        nix::unistd::write(&err_w, b"e\n").unwrap();
        drop((out_w, err_w));
        relay.finish().unwrap();
        drop(relay);
        let mut echoed = String::new();
        io::Read::read_to_string(&mut File::from(echo_r), &mut echoed).unwrap();
        assert_eq!(echoed, "e\n");
        assert!(!logs::path(dir).exists());
    }
}
