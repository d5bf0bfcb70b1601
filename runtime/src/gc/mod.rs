//! `den gc`: finish what dead den processes left. After a `kill -9` of `den run` (or of a detached
//! container's supervisor) at any step, this finds the containers nobody is responsible for any
//! more and removes exactly what they left, and nothing else.
//!
//! Why that is possible: everything `den run` makes names its owner before or as it is made. The
//! record (`state.json`, with the supervisor's pid and start time) is written before anything
//! else; the container's pid right after it starts (before that, a paused child dies by itself
//! when den does: it waits on a socket from den); leases, host-port reservations, published-map
//! elements and host veths carry the container id (see `den_netcfg::Owners`); the overlay is mounted
//! only inside the container's mount namespace and vanishes with it; the locks are flocks, which
//! the kernel drops with their holder.
//!
//! Steps, all under the network lock (so no `den run` can make a network object meanwhile, and
//! two collections never overlap):
//! 1. `scan`: a container is live while its supervisor is; never touch a live one;
//! 2. a stale container whose process still runs is SIGKILLed through a pidfd (its lifetime
//!    holder is dead, so nothing else would ever stop it or tear its network down);
//! 3. the network sweep removes elements, veths, port reservations and leases whose owner is not
//!    live;
//! 4. records: a container that never started is removed (the rollback its `den run` could not
//!    finish); one that ran is marked Exited — 137 if gc killed it, 255 (docker's "unknown") if
//!    it had ended unobserved — or removed if it was `--rm`; unfinished dirs and dangling names
//!    older than a grace period are removed, and `--rm` dirs left in the trash by a helper that
//!    died; then stale temp files.
//!
//! [`collect_stale`] is what `den ps` calls first, and what `den run` calls only after a start
//! failed on a held name, port or address (then it retries once): one read-only pass over the
//! records, and a collection only if some container is stale.

mod files;
mod procs;
mod scan;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use den_netcfg::{AttachError, Collection, Networks, Sweep, SweepError, Swept};
use nix::errno::Errno;

use crate::state::{self, Container, StateError, Status, Store};
use procs::Killed;
use scan::Scan;

/// The exit code gc records for a container it killed (SIGKILL, like `docker kill`).
pub const KILLED_EXIT: i32 = 137;
/// The exit code gc records for a container that ended while nobody watched (docker's 255).
pub const UNKNOWN_EXIT: i32 = 255;

#[derive(Debug, thiserror::Error)]
pub enum GcError {
    #[error(transparent)]
    Lock(#[from] AttachError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("listing {path}")]
    List {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("killing container {name} (pid {pid})")]
    Kill {
        name: String,
        pid: i32,
        #[source]
        source: Errno,
    },
    #[error("unmounting {path}")]
    Unmount {
        path: PathBuf,
        #[source]
        source: Errno,
    },
    #[error("removing {path}")]
    Remove {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Volume(#[from] crate::volume::VolumeError),
    #[error(transparent)]
    Network(#[from] SweepError),
    #[error(transparent)]
    Cgroup(#[from] crate::cgroups::CgroupError),
}

/// One thing gc did; `Display` is the line `den gc` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    Killed { name: String, id: String, pid: i32 },
    MarkedExited { name: String, id: String, code: i32 },
    Container { name: String, id: String },
    Name(PathBuf),
    Mount(PathBuf),
    Cgroup(PathBuf),
    File(PathBuf),
    Net(Swept),
}

impl fmt::Display for Removed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = |id: &str| id.chars().take(12).collect::<String>();
        match self {
            Removed::Killed { name, id, pid } => write!(
                f,
                "killed container {name} ({}) pid {pid}: its supervisor is gone",
                short(id)
            ),
            Removed::MarkedExited { name, id, code } => {
                write!(f, "marked container {name} ({}) exited ({code})", short(id))
            }
            Removed::Container { name, id } => {
                write!(f, "removed container {name} ({})", short(id))
            }
            Removed::Name(p) => write!(f, "removed dangling name {}", p.display()),
            Removed::Mount(p) => write!(f, "unmounted {}", p.display()),
            Removed::Cgroup(p) => write!(f, "removed cgroup {}", p.display()),
            Removed::File(p) => write!(f, "removed {}", p.display()),
            Removed::Net(s) => s.fmt(f),
        }
    }
}

/// What a collection did, and what it could not do (it goes on past each failure).
#[derive(Debug, Default)]
pub struct GcReport {
    pub removed: Vec<Removed>,
    pub failed: Vec<GcError>,
}

/// `den gc`: a full collection — stale containers, and every network object, dangling name and
/// temp file whose owner is gone. Errs only if it cannot start (lock, listing the state dir).
pub fn collect(root: &Path) -> Result<GcReport, GcError> {
    collect_locked(root, true)
}

/// What `den ps` calls first, and `den run` after a conflict: returns at once (one read-only pass over the records,
/// no lock) unless some container's supervisor is gone, and then collects.
pub fn collect_stale(root: &Path) -> Result<GcReport, GcError> {
    if !scan::any_stale(&Store::new(root))? {
        return Ok(GcReport::default());
    }
    collect_locked(root, false)
}

fn collect_locked(root: &Path, full: bool) -> Result<GcReport, GcError> {
    Networks::new(root).collect(|net| collect_under(root, full, net))?
}

fn collect_under(root: &Path, full: bool, net: &Collection<'_>) -> Result<GcReport, GcError> {
    let store = Store::new(root);
    // Under the network lock: any container that made a network object is in this scan.
    let mut scan = Scan::take(&store)?;
    let mut report = GcReport::default();
    report.failed.extend(
        std::mem::take(&mut scan.unreadable)
            .into_iter()
            .map(GcError::from),
    );
    if !full && !scan.needs_collect() {
        return Ok(report);
    }
    let mut finished = Vec::new();
    let mut survivors = Vec::new();
    for c in scan.stale() {
        match end_process(c) {
            Ok(killed) => {
                if let Some(pid) = killed {
                    report.removed.push(Removed::Killed {
                        name: c.name.clone(),
                        id: c.id.clone(),
                        pid,
                    });
                }
                finished.push((c, killed.is_some()));
            }
            Err(e) => {
                report.failed.push(e);
                survivors.push(c.id.clone());
            }
        }
    }
    let owners = scan.owners(survivors);
    let Sweep { removed, failed } = net.sweep(&owners);
    report.removed.extend(removed.into_iter().map(Removed::Net));
    // A record is what makes its network objects this root's: keep it until they are all gone.
    let net_clean = failed.is_empty();
    report.failed.extend(failed.into_iter().map(GcError::from));
    for (c, killed) in finished {
        finish_record(&store, c, killed, net_clean, &mut report);
    }
    for dir in &scan.unfinished {
        files::unmount_under(dir, &mut report.removed, &mut report.failed);
        remove_cgroups(dir, &mut report);
        files::remove(dir, &mut report.removed, &mut report.failed);
    }
    match scan::orphan_names(&store) {
        Ok(links) => links.iter().for_each(|l| remove_name(l, &mut report)),
        Err(e) => report.failed.push(e),
    }
    match scan::old_trash(&store) {
        Ok(dirs) => dirs
            .iter()
            .for_each(|d| files::remove(d, &mut report.removed, &mut report.failed)),
        Err(e) => report.failed.push(e),
    }
    if full {
        for c in scan.exited() {
            let tmp = store.dir(&c.id).join(".state.json.tmp");
            files::remove(&tmp, &mut report.removed, &mut report.failed);
        }
        files::sweep_image_temps(root, &mut report.removed, &mut report.failed);
    }
    Ok(report)
}

/// The cgroup dirs a container's dir lists (`cgroups::SAVED`), those that still exist.
fn remove_cgroups(container_dir: &Path, report: &mut GcReport) {
    let Some(planned) = crate::cgroups::Planned::load(container_dir) else {
        return;
    };
    if let Some(Err(e)) = planned
        .bpf
        .as_deref()
        .map(crate::cgroups::devices::detach_all)
    {
        report.failed.push(e.into());
    }
    for d in planned.dirs.iter().filter(|d| d.exists()) {
        match crate::cgroups::remove_dirs(std::slice::from_ref(d)) {
            Ok(()) => report.removed.push(Removed::Cgroup(d.clone())),
            Err(e) => report.failed.push(e.into()),
        }
    }
}

fn remove_name(link: &Path, report: &mut GcReport) {
    match std::fs::remove_file(link) {
        Ok(()) => report.removed.push(Removed::Name(link.to_path_buf())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => report.failed.push(GcError::Remove {
            path: link.to_path_buf(),
            source,
        }),
    }
}

/// Make sure the stale container's process is gone: SIGKILL it if it still runs. Returns its pid
/// if gc killed it.
fn end_process(c: &Container) -> Result<Option<i32>, GcError> {
    let target = match (c.pid, c.pid_start) {
        (Some(pid), Some(start)) => Some((pid, start)),
        // Without a start time the pid may be anyone's now: never signal it.
        (Some(_), None) => None,
        // No pid recorded: its den died before the save right after the clone, while the child
        // still waited for step 6 — and a waiting child exits when its den's socket closes.
        (None, _) => None,
    };
    let Some((pid, start)) = target else {
        return Ok(None);
    };
    match procs::kill(pid, start) {
        Ok(Killed::Yes) => Ok(Some(pid)),
        Ok(Killed::WasGone) => Ok(None),
        Err(source) => Err(GcError::Kill {
            name: c.name.clone(),
            pid,
            source,
        }),
    }
}

/// Record the end of a stale container: remove it if it never started or was `--rm` (only once
/// the network sweep succeeded: the next collection retries otherwise), else mark it Exited.
/// Skipped if its record changed since the scan (someone else took it over).
fn finish_record(
    store: &Store,
    seen: &Container,
    killed: bool,
    net_clean: bool,
    report: &mut GcReport,
) {
    let mut c = match store.load_id(&seen.id) {
        Ok(c) if c.supervisor == seen.supervisor && c.status == seen.status => c,
        Ok(_) | Err(StateError::NotFound(_)) => return,
        Err(e) => return report.failed.push(e.into()),
    };
    let dir = store.dir(&c.id);
    files::unmount_under(&dir, &mut report.removed, &mut report.failed);
    // Its processes are gone (killed above, or ended): its cgroup dirs can go.
    remove_cgroups(&dir, report);
    let (name, id) = (c.name.clone(), c.id.clone());
    if c.status == Status::Created || c.auto_remove {
        if !net_clean {
            return;
        }
        // What its own teardown would have removed with it (`--rm`; a start that never finished).
        if let Err(e) = crate::volume::VolumeStore::new(store.root()).remove_anonymous(&dir) {
            report.failed.push(e.into());
        }
        match store.remove(&c) {
            Ok(()) => report.removed.push(Removed::Container { name, id }),
            Err(e) => report.failed.push(e.into()),
        }
        return;
    }
    let code = if killed { KILLED_EXIT } else { UNKNOWN_EXIT };
    c.status = Status::Exited;
    c.exit_code = Some(code);
    c.finished_at = Some(state::now_secs());
    match store.save(&c) {
        Ok(()) => report
            .removed
            .push(Removed::MarkedExited { name, id, code }),
        Err(e) => report.failed.push(e.into()),
    }
}
