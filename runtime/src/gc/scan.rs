//! Who is live: one pass over `<root>/containers` and `<root>/names`, deciding for each container
//! whether someone is responsible for it. Read-only; cheap enough to run before every `den run`.
//!
//! A container is live while the process recorded as its supervisor (`den run`, or a detached
//! container's supervisor) is the same process and not a zombie: that process will tear it down,
//! and a container being set up right now is covered too, because `den run` records itself in
//! `state.json` before it creates anything else. Exited containers are not live, unless a `den
//! start` holds the flock on their dir (it rewrites the record only once running). A directory
//! without `state.json` is a `den run` between reserving the name and writing the record: live
//! while young, debris after [`UNFINISHED_GRACE`].

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use den_netcfg::{IdSet, Owners};

use super::procs;
use super::GcError;
use crate::state::{Container, StateError, Status, Store};

/// How old a container dir without `state.json` (or a name without a dir) must be to count as
/// left by a dead `den run`; a live one writes the record microseconds after making the dir.
pub(super) const UNFINISHED_GRACE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Its supervisor lives (or, for a record without one, its process): never touched.
    Live,
    /// Not exited, and the process responsible for it is gone: gc's to finish.
    Stale,
    /// Exited: nothing of it should remain but the record.
    Exited,
}

pub(super) struct Scan {
    pub records: Vec<(Container, Verdict)>,
    /// Ids of dirs without a record that are still young, or whose record cannot be read: live.
    pub unknown: Vec<String>,
    /// Dirs without a record, older than the grace: a `den run` died making them.
    pub unfinished: Vec<PathBuf>,
    /// Records that could not be read (they count as live, never touched).
    pub unreadable: Vec<StateError>,
}

impl Scan {
    pub fn take(store: &Store) -> Result<Scan, GcError> {
        let mut scan = Scan {
            records: Vec::new(),
            unknown: Vec::new(),
            unfinished: Vec::new(),
            unreadable: Vec::new(),
        };
        for id in list(&store.root().join("containers"))? {
            match store.load_id(&id) {
                Ok(c) => {
                    let v = match verdict(&c) {
                        Verdict::Exited if starting(&store.dir(&id)) => Verdict::Live,
                        v => v,
                    };
                    scan.records.push((c, v));
                }
                Err(StateError::NotFound(_)) if old(&store.dir(&id)) => {
                    scan.unfinished.push(store.dir(&id))
                }
                Err(StateError::NotFound(_)) => scan.unknown.push(id),
                Err(e) => {
                    scan.unknown.push(id);
                    scan.unreadable.push(e);
                }
            }
        }
        Ok(scan)
    }

    /// Is there a container to finish (besides the network sweep of `den gc`)?
    pub fn needs_collect(&self) -> bool {
        self.records.iter().any(|(_, v)| *v == Verdict::Stale) || !self.unfinished.is_empty()
    }

    pub fn stale(&self) -> impl Iterator<Item = &Container> {
        self.records
            .iter()
            .filter(|(_, v)| *v == Verdict::Stale)
            .map(|(c, _)| c)
    }

    pub fn exited(&self) -> impl Iterator<Item = &Container> {
        self.records
            .iter()
            .filter(|(_, v)| *v == Verdict::Exited)
            .map(|(c, _)| c)
    }

    /// Whose network objects the sweep may remove: live are the live records, dirs gc cannot
    /// judge, and `survivors` (stale ones gc failed to end); known are all of this root's.
    pub fn owners(&self, survivors: impl IntoIterator<Item = String>) -> Owners {
        let records = self
            .records
            .iter()
            .filter(|(_, v)| *v == Verdict::Live)
            .map(|(c, _)| c.id.clone());
        let live = records.chain(self.unknown.iter().cloned()).chain(survivors);
        let known = self
            .records
            .iter()
            .map(|(c, _)| c.id.clone())
            .chain(self.unknown.iter().cloned())
            .chain(
                self.unfinished
                    .iter()
                    .filter_map(|d| Some(d.file_name()?.to_string_lossy().into_owned())),
            );
        Owners {
            live: IdSet::new(live),
            known: IdSet::new(known),
        }
    }
}

/// The quick check before `den run` / `den ps`: is some container stale, or some dir unfinished?
/// Stops at the first one; per container one read of `state.json`, and for a container that is
/// not exited one read of its supervisor's `/proc/PID/stat`.
pub(super) fn any_stale(store: &Store) -> Result<bool, GcError> {
    for id in list(&store.root().join("containers"))? {
        let dir = store.dir(&id);
        // Like `Store::load_id`, in fewer syscalls; anything unreadable is left to `den gc`.
        let stale = match procs::read_small(&dir.join("state.json")) {
            Ok(body) => serde_json::from_slice::<Container>(&body)
                .is_ok_and(|c| verdict(&c) == Verdict::Stale),
            Err(e) if e.kind() == io::ErrorKind::NotFound => old(&dir),
            Err(_) => false,
        };
        if stale {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `names/NAME` links whose container dir does not exist, older than the grace: a `den run`
/// died between reserving the name and making the dir, or gc removed an unfinished dir.
pub(super) fn orphan_names(store: &Store) -> Result<Vec<PathBuf>, GcError> {
    let names = store.root().join("names");
    let mut out = Vec::new();
    for name in list(&names)? {
        let link = names.join(&name);
        let Ok(target) = fs::read_link(&link) else {
            continue;
        };
        if !store.root().join("containers").join(target).exists() && old(&link) {
            out.push(link);
        }
    }
    Ok(out)
}

/// Dirs under the trash (`--rm` containers renamed away) older than the grace: the helper that
/// was to remove them died (a young one may be the helper's work in progress).
pub(super) fn old_trash(store: &Store) -> Result<Vec<PathBuf>, GcError> {
    let trash = store.trash();
    Ok(list(&trash)?
        .into_iter()
        .map(|name| trash.join(name))
        .filter(|p| old(p))
        .collect())
}

fn verdict(c: &Container) -> Verdict {
    // `den create`'s container: at rest until `den start` (its record names no process).
    if c.status == Status::Exited || (c.status == Status::Created && c.supervisor.is_none()) {
        return Verdict::Exited;
    }
    let alive = match (c.supervisor, c.pid, c.pid_start) {
        (Some((pid, start)), _, _) => procs::alive(pid, start),
        // Records written before supervisors were recorded: judge by the container's process.
        (None, Some(pid), Some(start)) => procs::alive(pid, start),
        (None, Some(pid), None) => procs::any_alive(pid),
        (None, None, _) => false,
    };
    if alive {
        Verdict::Live
    } else {
        Verdict::Stale
    }
}

/// Is a `den start` of this exited container in progress? It holds an flock on the container's
/// dir until the record says "running" (the record says "exited" until then).
fn starting(dir: &Path) -> bool {
    fs::File::open(dir)
        .is_ok_and(|f| matches!(f.try_lock_shared(), Err(fs::TryLockError::WouldBlock)))
}

fn old(path: &Path) -> bool {
    fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age > UNFINISHED_GRACE)
}

fn list(dir: &Path) -> Result<Vec<String>, GcError> {
    match fs::read_dir(dir) {
        Ok(rd) => Ok(rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(GcError::List {
            path: dir.to_path_buf(),
            source,
        }),
    }
}
