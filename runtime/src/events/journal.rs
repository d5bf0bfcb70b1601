//! The journal's files and its one writer: one `open(O_APPEND)` + `write` + size check + `close`
//! per event, and a rotation (under `events.lock`) when the file has passed its size.
//!
//! The fd is opened per event rather than kept for the process's life: after another process's
//! rotation a kept fd would go on appending to `events.1.jsonl` (a long-lived supervisor's die and
//! health events would then never reach a follower of `events.jsonl`), and knowing it has happened
//! costs a stat of the path per event, about what the open costs.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Seek, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::{Event, EventError};

/// The longest line (its newline included) one event may be: `PIPE_BUF`, under which the kernel's
/// appends are never split or interleaved.
pub const MAX_LINE: usize = libc::PIPE_BUF;

/// `events.jsonl`'s size past which it is rotated.
const MAX_SIZE: u64 = 1 << 20;

/// The journal being appended to.
pub fn journal_path(root: &Path) -> PathBuf {
    root.join("events.jsonl")
}

/// The journal before the last rotation.
pub fn rotated_path(root: &Path) -> PathBuf {
    root.join("events.1.jsonl")
}

fn max_size() -> u64 {
    static MAX: OnceLock<u64> = OnceLock::new();
    *MAX.get_or_init(|| {
        std::env::var("DEN_EVENTS_MAX_SIZE")
            .ok()
            .and_then(|s| s.parse().ok())
            .filter(|&n| n > 0)
            .unwrap_or(MAX_SIZE)
    })
}

/// Append `events` to the journal of `root`, one line each, in as few `write(2)`s as keep each
/// under `MAX_LINE` (a container's `create` and `start` are one write).
pub fn append(root: &Path, events: &[Event]) -> Result<(), EventError> {
    let mut chunks: Vec<String> = Vec::new();
    for e in events {
        let line = fitted(e)?;
        match chunks.last_mut() {
            Some(c) if c.len() + line.len() <= MAX_LINE => c.push_str(&line),
            _ => chunks.push(line),
        }
    }
    let path = journal_path(root);
    let err = |source| EventError::Append {
        path: path.clone(),
        source,
    };
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(&path)
        .map_err(err)?;
    // One write per chunk: `write_all` would split a short write into two, which O_APPEND does
    // not keep together. A regular file's write of under PIPE_BUF is not short but on a full disk.
    for chunk in &chunks {
        let n = f.write(chunk.as_bytes()).map_err(err)?;
        if n != chunk.len() {
            return Err(err(std::io::Error::from(std::io::ErrorKind::WriteZero)));
        }
    }
    // After an O_APPEND write the offset is the file's end (an lseek: cheaper than a stat).
    let size = f.stream_position().map_err(err)?;
    if size >= max_size() {
        rotate(root, &f)?;
    }
    Ok(())
}

/// The event's line with its newline, fitted under `MAX_LINE`: labels (the only attributes of
/// unbounded number) are dropped, largest first, until it fits.
fn fitted(event: &Event) -> Result<String, EventError> {
    let mut line = event.to_line() + "\n";
    if line.len() <= MAX_LINE {
        return Ok(line);
    }
    let mut e = event.clone();
    const KEPT: [&str; 6] = ["name", "image", "exitCode", "signal", "type", "driver"];
    while line.len() > MAX_LINE {
        let Some(largest) = e
            .actor
            .attributes
            .iter()
            .filter(|(k, _)| !KEPT.contains(&k.as_str()))
            .max_by_key(|(k, v)| k.len() + v.len())
            .map(|(k, _)| k.clone())
        else {
            return Err(EventError::TooLong(line.len()));
        };
        e.actor.attributes.remove(&largest);
        line = e.to_line() + "\n";
    }
    Ok(line)
}

/// `events.jsonl` (the file `ours` is open on) has passed its size: it becomes `events.1.jsonl`.
/// One process rotates; one that finds the lock taken leaves it to that one, and one that gets it
/// after another's rotation finds `events.jsonl` is another file, and leaves it.
fn rotate(root: &Path, ours: &File) -> Result<(), EventError> {
    let path = journal_path(root);
    let lock_path = root.join("events.lock");
    let err = |source| EventError::Rotate {
        path: path.clone(),
        source,
    };
    let lock = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(&lock_path)
        .map_err(err)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(()),
        Err(TryLockError::Error(e)) => return Err(err(e)),
    }
    let ours = ours.metadata().map_err(err)?;
    match std::fs::metadata(&path) {
        Ok(now) if now.ino() == ours.ino() && now.dev() == ours.dev() => {
            std::fs::rename(&path, rotated_path(root)).map_err(err)
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(err(e)),
    }
    // The lock goes with `lock`'s fd.
}

#[cfg(test)]
mod tests {
    use super::super::{Event, Kind};
    use super::*;

    #[test]
    fn a_line_over_pipe_buf_drops_labels_not_names() {
        let mut e = Event::new(Kind::Container, "start", "abc").attr("name", "web");
        for i in 0..100 {
            e = e.attr(&format!("label{i}"), "x".repeat(60));
        }
        let line = fitted(&e).unwrap();
        assert!(line.len() <= MAX_LINE);
        let back: Event = serde_json::from_str(line.trim_end()).unwrap();
        assert_eq!(back.actor.attributes["name"], "web");
    }

    #[test]
    fn an_event_that_cannot_fit_is_an_error() {
        let e = Event::new(Kind::Container, "start", "abc").attr("name", "n".repeat(5000));
        assert!(matches!(fitted(&e), Err(EventError::TooLong(_))));
    }

    #[test]
    fn events_of_one_change_go_in_one_write_of_whole_lines() {
        let root = std::env::temp_dir().join(format!("den-events-unit-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        let a = Event::new(Kind::Container, "create", "abc");
        let b = Event::new(Kind::Container, "start", "abc");
        append(&root, &[a.clone(), b.clone()]).unwrap();
        let text = std::fs::read_to_string(journal_path(&root)).unwrap();
        std::fs::remove_dir_all(&root).unwrap();
        let back: Vec<Event> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(back, [a, b]);
    }
}
