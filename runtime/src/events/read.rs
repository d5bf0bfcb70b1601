//! `den events`: the journal's past events (`events.1.jsonl`, then `events.jsonl`) between
//! `--since` and `--until`, then, unless `--until` has passed, the new ones as they are appended,
//! woken by inotify on the state root (a rotation is seen as `events.jsonl` becoming another file:
//! the old one is read to its end first).

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use super::{journal_path, rotated_path, Event, EventError, Filter};
use crate::logs::stamp;

/// How long a follower sleeps between looks when inotify cannot watch the state root (it does
/// not exist yet), and at most between two looks otherwise.
const LOOK: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Times since the epoch.
    pub since: Option<Duration>,
    pub until: Option<Duration>,
    pub filter: Filter,
}

impl ReadOptions {
    fn wants(&self, e: &Event) -> bool {
        let t = e.time_nano;
        self.since.is_none_or(|s| t >= s.as_nanos() as i128)
            && self.until.is_none_or(|u| t <= u.as_nanos() as i128)
            && self.filter.matches(e)
    }
}

/// Hand every event `o` asks for to `out`, in the journal's order: the past ones (with `--since`
/// or `--until`; docker shows none without), then, without an `--until` or until it passes, the
/// new ones. Ends when `out` fails (its error returned) or the `--until` passes.
pub fn read(
    root: &Path,
    o: &ReadOptions,
    out: &mut dyn FnMut(&Event) -> std::io::Result<()>,
) -> Result<(), EventError> {
    let now = stamp::now();
    let past = o.since.is_some() || o.until.is_some();
    let follow = o.until.is_none_or(|u| u > now);
    // Watched before the files are read, so nothing appended in between is missed.
    let watch = match follow {
        true => watch(root)?,
        false => None,
    };
    let mut cur = Tail::open(&journal_path(root))?;
    if past {
        let ours = cur.as_ref().map(|t| t.ino);
        if let Some(mut old) = Tail::open(&rotated_path(root))?.filter(|t| Some(t.ino) != ours) {
            old.drain(o, out, true)?;
        }
    }
    if let Some(t) = cur.as_mut() {
        t.drain(o, out, past)?;
    }
    if !follow {
        return Ok(());
    }
    loop {
        // `events.jsonl` is another file (a rotation, or the first event): ours to its end, then
        // the new one.
        if let Ok(m) = std::fs::metadata(journal_path(root)) {
            if cur.as_ref().is_none_or(|t| t.ino != m.ino()) {
                if let Some(t) = cur.as_mut() {
                    t.drain(o, out, true)?;
                }
                cur = Tail::open(&journal_path(root))?;
            }
        }
        if let Some(t) = cur.as_mut() {
            t.drain(o, out, true)?;
        }
        let now = stamp::now();
        let left = match o.until {
            Some(u) if u <= now => return Ok(()),
            Some(u) => (u - now).min(LOOK),
            None => LOOK,
        };
        wait(root, watch.as_ref(), left)?;
    }
}

/// An inotify watch of the state root, or `None` when it does not exist yet (then a follower looks
/// every `LOOK`).
fn watch(root: &Path) -> Result<Option<Inotify>, EventError> {
    let err = |source| EventError::Watch {
        path: root.to_path_buf(),
        source,
    };
    let ino = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK).map_err(err)?;
    let flags = AddWatchFlags::IN_MODIFY | AddWatchFlags::IN_CREATE | AddWatchFlags::IN_MOVED_TO;
    match ino.add_watch(root, flags) {
        Ok(_) => Ok(Some(ino)),
        Err(nix::errno::Errno::ENOENT) => Ok(None),
        Err(e) => Err(err(e)),
    }
}

/// Until something changes in the state root, or `left` passes.
fn wait(root: &Path, watch: Option<&Inotify>, left: Duration) -> Result<(), EventError> {
    let err = |source| EventError::Watch {
        path: root.to_path_buf(),
        source,
    };
    let Some(ino) = watch else {
        std::thread::sleep(left);
        return Ok(());
    };
    let timeout = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
    let mut fds = [PollFd::new(ino.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, timeout) {
        Ok(_) | Err(nix::errno::Errno::EINTR) => {}
        Err(e) => return Err(err(e)),
    }
    // What changed does not matter: the files are looked at again.
    match ino.read_events() {
        Ok(_) | Err(nix::errno::Errno::EAGAIN) => Ok(()),
        Err(e) => Err(err(e)),
    }
}

/// One journal file, read from where the last look stopped; a line without its newline yet waits.
struct Tail {
    file: File,
    ino: u64,
    path: std::path::PathBuf,
    partial: Vec<u8>,
}

impl Tail {
    fn open(path: &Path) -> Result<Option<Tail>, EventError> {
        let err = |source| EventError::Read {
            path: path.to_path_buf(),
            source,
        };
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(err(e)),
        };
        let ino = file.metadata().map_err(err)?.ino();
        Ok(Some(Tail {
            file,
            ino,
            path: path.to_path_buf(),
            partial: Vec::new(),
        }))
    }

    /// Read to the end; each whole line's event goes to `out` if `show` and `o` wants it.
    fn drain(
        &mut self,
        o: &ReadOptions,
        out: &mut dyn FnMut(&Event) -> std::io::Result<()>,
        show: bool,
    ) -> Result<(), EventError> {
        let mut buf = [0u8; 64 * 1024];
        loop {
            let n = match self.file.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(EventError::Read {
                        path: self.path.clone(),
                        source,
                    })
                }
            };
            self.partial.extend_from_slice(&buf[..n]);
            let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') else {
                continue;
            };
            let whole: Vec<u8> = self.partial.drain(..=end).collect();
            if !show {
                continue;
            }
            for line in whole.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                // A line that is not an event (a journal written by something else) is passed over.
                let Ok(e) = serde_json::from_slice::<Event>(line) else {
                    continue;
                };
                if o.wants(&e) {
                    out(&e).map_err(EventError::Write)?;
                }
            }
        }
    }
}
