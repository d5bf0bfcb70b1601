//! A detached container's output: its stdout and stderr go straight (no relay process) to one file,
//! `<container dir>/container.log`, appended to across `den start`s. `den logs [-f] [--tail N]`.
//! A container run in the foreground wrote to den's own output and has no log.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

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

/// How often `-f` looks for more output and checks whether the container still runs.
const FOLLOW_POLL: Duration = Duration::from_millis(50);
const CHUNK: u64 = 8192;

/// The offset of the first of the last `n` lines of `f` (`len` bytes long); a last line without its
/// newline counts as a line.
fn tail_offset(f: &mut File, len: u64, n: usize) -> io::Result<u64> {
    if n == 0 {
        return Ok(len);
    }
    let mut newlines = 0;
    let mut end = len;
    let mut buf = vec![0u8; CHUNK as usize];
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let chunk = &mut buf[..(end - start) as usize];
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(chunk)?;
        for (i, b) in chunk.iter().enumerate().rev() {
            // The file's final newline ends the last line; it does not start one.
            if *b == b'\n' && start + i as u64 + 1 != len {
                newlines += 1;
                if newlines == n {
                    return Ok(start + i as u64 + 1);
                }
            }
        }
        end = start;
    }
    Ok(0)
}

/// Copy `f` from its current offset to its end onto `out`.
fn copy_rest(f: &mut File, out: &mut dyn Write) -> io::Result<u64> {
    io::copy(f, out)
}

/// `den logs [-f] [--tail N] NAME`: the log (its last `tail` lines), then with `follow` what the
/// container writes until it ends.
pub fn logs(
    root: &Path,
    key: &str,
    follow: bool,
    tail: Option<usize>,
    out: &mut dyn Write,
) -> Result<(), LogsError> {
    let store = Store::new(root);
    let c = store.find(key)?;
    let path = path(&store.dir(&c.id));
    let read_err = |source| LogsError::Read {
        path: path.clone(),
        source,
    };
    let write_err = |source| LogsError::Write {
        name: c.name.clone(),
        source,
    };
    let mut f = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(read_err(e)),
    };
    let len = f.metadata().map_err(read_err)?.len();
    let from = match tail {
        Some(n) => tail_offset(&mut f, len, n).map_err(read_err)?,
        None => 0,
    };
    f.seek(SeekFrom::Start(from)).map_err(read_err)?;
    copy_rest(&mut f, out).map_err(write_err)?;
    out.flush().map_err(write_err)?;
    if !follow {
        return Ok(());
    }
    loop {
        // Checked before reading, so what it wrote before it ended is read after.
        let running = match store.load_id(&c.id) {
            Ok(now) => lifecycle::is_running(&now),
            Err(StateError::NotFound(_)) => false,
            Err(e) => return Err(e.into()),
        };
        let copied = copy_rest(&mut f, out).map_err(write_err)?;
        out.flush().map_err(write_err)?;
        if !running {
            break;
        }
        if copied == 0 {
            std::thread::sleep(FOLLOW_POLL);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail(content: &str, n: usize) -> String {
        let dir = std::env::temp_dir().join(format!("den-logs-test-{}-{n}", std::process::id()));
        std::fs::write(&dir, content).unwrap();
        let mut f = File::open(&dir).unwrap();
        let off = tail_offset(&mut f, content.len() as u64, n).unwrap();
        std::fs::remove_file(&dir).unwrap();
        content[off as usize..].to_string()
    }

    #[test]
    fn tails_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(tail("a\nb\nc", 2), "b\nc");
        assert_eq!(tail("a\nb\n", 5), "a\nb\n");
        assert_eq!(tail("a\nb\n", 0), "");
        assert_eq!(tail("", 3), "");
    }

    #[test]
    fn tails_across_chunks() {
        let long: String = (0..5000).map(|i| format!("line {i}\n")).collect();
        assert_eq!(tail(&long, 3), "line 4997\nline 4998\nline 4999\n");
        assert_eq!(tail(&long, 5000), long);
    }
}
