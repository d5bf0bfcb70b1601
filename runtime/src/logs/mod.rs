//! A detached container's output, as docker's json-file driver keeps it: the container's stdout
//! and stderr are pipes its supervisor reads (`run::relay`), writing one JSON line per line of
//! output, `{"log":"…\n","stream":"stdout"|"stderr","time":"RFC 3339 ns"}`, to
//! `<container dir>/container.log`, appended to across `den start`s and, with `--log-opt
//! max-size=…`, rotated to `container.log.1` … `.N`. `den logs [-f] [--tail N] [-t] [--since T]
//! [--until T]` writes each line back to the stream it came from. Lines that are not JSON (a log
//! written before den kept streams apart) count as stdout.
//! A container run in the foreground is logged the same way, by a tee den forks (`run::tee`), but
//! with `--rm` (nobody could read its log afterwards). `den attach` follows it (`attach`).

mod attach;
pub mod stamp;

pub use attach::attach;

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::lifecycle;
use crate::state::{StateError, Store};

#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("reading the log {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("you cannot attach to a stopped container {0}, start it first")]
    NotRunning(String),
    #[error("cannot take the signals to pass on to the container")]
    Signals(#[source] io::Error),
    #[error("waiting for the container's exit")]
    Wait(#[source] Box<crate::lifecycle::LifecycleError>),
    #[error("writing the log of container {name}")]
    Write {
        name: String,
        #[source]
        source: io::Error,
    },
}

/// Where the log of the container whose dir is `dir` lives.
pub fn path(dir: &Path) -> PathBuf {
    dir.join("container.log")
}

/// Rotated log `n` (1 is the newest) of the container whose dir is `dir`.
pub fn rotated(dir: &Path, n: u32) -> PathBuf {
    dir.join(format!("container.log.{n}"))
}

/// One line of output, as docker's json-file keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub log: String,
    pub stream: String,
    pub time: String,
}

impl Entry {
    /// A line of the log file (without its newline); a line that is not an entry is stdout.
    fn parse(line: &str) -> Entry {
        serde_json::from_str(line).unwrap_or_else(|_| Entry {
            log: format!("{line}\n"),
            stream: "stdout".into(),
            time: String::new(),
        })
    }
}

/// What `den logs` shows.
#[derive(Debug, Clone, Default)]
pub struct LogsOptions {
    pub follow: bool,
    /// Only the last N lines.
    pub tail: Option<usize>,
    /// `-t`: each line after its time.
    pub timestamps: bool,
    /// `--since`, `--until`: times since the epoch.
    pub since: Option<Duration>,
    pub until: Option<Duration>,
}

/// Where each stream goes.
pub struct Sinks<'a> {
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
}

impl Sinks<'_> {
    fn write(&mut self, e: &Entry, o: &LogsOptions) -> io::Result<()> {
        let time = stamp::parse_rfc3339(&e.time);
        if let (Some(since), Some(t)) = (o.since, time) {
            if t < since {
                return Ok(());
            }
        }
        if let (Some(until), Some(t)) = (o.until, time) {
            if t > until {
                return Ok(());
            }
        }
        let out: &mut dyn Write = if e.stream == "stderr" {
            self.stderr
        } else {
            self.stdout
        };
        if o.timestamps {
            write!(out, "{} ", e.time)?;
        }
        out.write_all(e.log.as_bytes())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stdout.flush()?;
        self.stderr.flush()
    }
}

/// How often `-f` looks for more output and checks whether the container still runs.
const FOLLOW_POLL: Duration = Duration::from_millis(50);

/// The complete lines readable from `r` now (a last line without its newline stays in `partial`).
fn read_lines(r: &mut impl BufRead, partial: &mut String) -> io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    loop {
        let mut buf = Vec::new();
        if r.read_until(b'\n', &mut buf)? == 0 {
            return Ok(out);
        }
        partial.push_str(&String::from_utf8_lossy(&buf));
        if partial.ends_with('\n') {
            out.push(Entry::parse(partial.trim_end_matches('\n')));
            partial.clear();
        }
    }
}

/// `den logs NAME`: the log (rotated files first), then with `follow` what the container writes
/// until it ends.
pub fn logs(root: &Path, key: &str, o: &LogsOptions, sinks: &mut Sinks) -> Result<(), LogsError> {
    let store = Store::new(root);
    let c = store.find(key)?;
    let dir = store.dir(&c.id);
    let current = path(&dir);
    let read_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LogsError::Read { path, source }
    };
    let write_err = |source| LogsError::Write {
        name: c.name.clone(),
        source,
    };
    let mut files: Vec<PathBuf> = (1..)
        .map(|n| rotated(&dir, n))
        .take_while(|p| p.exists())
        .collect();
    files.reverse();
    files.push(current.clone());
    let mut tail: VecDeque<Entry> = VecDeque::new();
    let mut live: Option<(BufReader<File>, u64)> = None;
    let mut partial = String::new();
    for p in &files {
        let f = match File::open(p) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(read_err(p)(e)),
        };
        let ino = f.metadata().map_err(read_err(p))?.ino();
        let mut r = BufReader::new(f);
        partial.clear();
        for e in read_lines(&mut r, &mut partial).map_err(read_err(p))? {
            match o.tail {
                Some(n) => {
                    tail.push_back(e);
                    if tail.len() > n {
                        tail.pop_front();
                    }
                }
                None => sinks.write(&e, o).map_err(write_err)?,
            }
        }
        live = Some((r, ino));
    }
    for e in &tail {
        sinks.write(e, o).map_err(write_err)?;
    }
    sinks.flush().map_err(write_err)?;
    if !o.follow {
        return Ok(());
    }
    loop {
        // Checked before reading, so what it wrote before it ended is read after.
        let running = match store.load_id(&c.id) {
            Ok(now) => lifecycle::is_running(&now),
            Err(StateError::NotFound(_)) => false,
            Err(e) => return Err(e.into()),
        };
        let mut got = 0;
        if let Some((r, _)) = live.as_mut() {
            for e in read_lines(r, &mut partial).map_err(read_err(&current))? {
                sinks.write(&e, o).map_err(write_err)?;
                got += 1;
            }
        }
        sinks.flush().map_err(write_err)?;
        if !running {
            break;
        }
        if got == 0 {
            // Rotated (or made) meanwhile: go on in the new file.
            if let Ok(f) = File::open(&current) {
                let ino = f.metadata().map(|m| m.ino()).ok();
                if live.as_ref().map(|(_, i)| *i) != ino {
                    live = Some((BufReader::new(f), ino.unwrap_or(0)));
                    partial.clear();
                    continue;
                }
            }
            std::thread::sleep(FOLLOW_POLL);
        }
    }
    Ok(())
}

/// The entries of a log's text, for tests.
#[cfg(test)]
fn entries(text: &str) -> Vec<Entry> {
    let mut partial = String::new();
    let mut r = BufReader::new(text.as_bytes());
    let mut v = read_lines(&mut r, &mut partial).unwrap();
    v.extend((!partial.is_empty()).then(|| Entry::parse(&partial)));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_entries_and_old_raw_lines_are_stdout() {
        let text =
            "{\"log\":\"two\\n\",\"stream\":\"stderr\",\"time\":\"2026-12-01T00:00:01.5Z\"}\nraw\n";
        let e = entries(text);
        assert_eq!(e[0].stream, "stderr");
        assert_eq!(e[0].log, "two\n");
        assert_eq!(e[1].stream, "stdout");
        assert_eq!(e[1].log, "raw\n");
    }

    #[test]
    fn streams_go_back_apart_and_times_filter() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut sinks = Sinks {
            stdout: &mut out,
            stderr: &mut err,
        };
        let o = LogsOptions {
            timestamps: true,
            since: stamp::parse_rfc3339("2026-12-01T00:00:01Z"),
            ..Default::default()
        };
        for (log, stream, time) in [
            ("early\n", "stdout", "2026-12-01T00:00:00.9Z"),
            ("a\n", "stdout", "2026-12-01T00:00:01Z"),
            ("b\n", "stderr", "2026-12-01T00:00:02Z"),
        ] {
            let e = Entry {
                log: log.into(),
                stream: stream.into(),
                time: time.into(),
            };
            sinks.write(&e, &o).unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), "2026-12-01T00:00:01Z a\n");
        assert_eq!(String::from_utf8(err).unwrap(), "2026-12-01T00:00:02Z b\n");
    }
}
