//! One cgroup per container, v1 or v2 (see `detect`), hand-rolled on cgroupfs files.
//!
//! Why not a crate: youki's `libcgroups` 0.7 (nix 0.29, procfs, pathrs; v2 device rules need
//! libbpf-sys) places a v1 cgroup at the same path below every hierarchy's root, so a relative
//! `--cgroup-parent` cannot nest under den's OWN cgroup per controller — which differs per
//! controller on these machines (memory in `/process_api/…`, the rest in `/`), and tests must
//! never leave the cgroup they run in. kata's `cgroups-rs` 0.5 pins nix 0.25. What den needs is a
//! few files per controller; the rules (docker's units, runc's v1→v2 conversions) are here.
//!
//! Lifecycle: [`Planned::new`] names the directories (`den-<id>` below the parent, so gc knows the
//! owner), the caller saves that list in the container's dir, [`Planned::create`] makes them and
//! writes the limits (rolled back on failure), the paused PID 1 moves itself in through
//! [`Cgroup::entries`] before it reports Ready, and [`Cgroup::remove`] (or the drop) removes them at teardown.

mod detect;
pub mod devices;
mod freezer;
pub mod stats;
mod v1;
mod v2;

use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};
use std::thread::sleep;
use std::time::Duration;

use nix::errno::Errno;
use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

pub use detect::Layout;
pub use freezer::{is_frozen, set_frozen, FreezerError};

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cannot detect the cgroup hierarchy at {path}")]
    Detect {
        path: PathBuf,
        #[source]
        source: Errno,
    },
    #[error("no cgroup hierarchy is mounted at /sys/fs/cgroup")]
    NoHierarchy,
    #[error("invalid cgroup parent {0:?}: it must not contain \"..\"")]
    BadParent(String),
    #[error("{what} {path}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the device rules for {path}")]
    DeviceRule {
        path: PathBuf,
        #[source]
        source: devices::RuleError,
    },
    #[error("loading the device program for {path} (verifier: {log:?})")]
    BpfLoad {
        path: PathBuf,
        log: String,
        #[source]
        source: io::Error,
    },
    #[error("writing {value:?} to {path}")]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: io::Error,
    },
}

impl CgroupError {
    fn io(what: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> CgroupError {
        let path = path.into();
        move |source| CgroupError::Io { what, path, source }
    }
}

/// `mkdir` of cgroup `dir`; true if this call made it. Missing ancestors are made by
/// `ensure_parents` and the `mkdir` tried again, once (also for an empty ancestor removed in
/// between: someone pruning empty cgroups, as a test harness or a service manager does).
fn make_dir(
    dir: &Path,
    ensure_parents: fn(&Path) -> Result<(), CgroupError>,
) -> Result<bool, CgroupError> {
    let mut retried = false;
    loop {
        match fs::create_dir(dir) {
            Ok(()) => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::NotFound && !retried => {
                retried = true;
                ensure_parents(dir)?;
            }
            Err(e) => return Err(CgroupError::io("creating", dir)(e)),
        }
    }
}

/// Write `value` to the cgroup file `dir/file`.
fn write(dir: &Path, file: &str, value: &str) -> Result<(), CgroupError> {
    let path = dir.join(file);
    fs::write(&path, value).map_err(|source| CgroupError::Write {
        path,
        value: value.to_owned(),
        source,
    })
}

fn read(dir: &Path, file: &str) -> Option<String> {
    fs::read_to_string(dir.join(file)).ok()
}

/// The directory name that carries a container's id (gc reads the owner back from it).
pub fn dir_name(id: &str) -> String {
    format!("den-{id}")
}

/// The container's cgroup directories, not made yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planned {
    pub v2: bool,
    /// v1: one per hierarchy (memory, pids, cpu, …); v2: one.
    pub dirs: Vec<PathBuf>,
    /// v1: the devices hierarchy's dir, if the rules go there.
    #[serde(default)]
    pub devices: Option<PathBuf>,
    /// The cgroup2 dir the device program is attached to (v2: the dir; hybrid: the unified
    /// hierarchy's dir, also in `dirs`), if the rules go there (see `devices`).
    #[serde(default)]
    pub bpf: Option<PathBuf>,
}

/// `path` as a relative path with no `..` (a leading `/` makes it absolute: from the root).
fn clean(path: &str) -> Result<(bool, PathBuf), CgroupError> {
    let p = Path::new(path);
    let mut rel = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => rel.push(n),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => {
                return Err(CgroupError::BadParent(path.to_owned()))
            }
        }
    }
    Ok((p.is_absolute(), rel))
}

impl Planned {
    /// The dirs of cgroup `path` (the OCI `cgroupsPath`): relative to den's own cgroup in each
    /// hierarchy, or from the hierarchy's root if absolute (runc's rule).
    pub fn new(layout: &Layout, path: &str) -> Result<Planned, CgroupError> {
        let (absolute, rel) = clean(path)?;
        let place = |mount: &Path, own: &Path| {
            let base = if absolute { Path::new("/") } else { own };
            let base = base.strip_prefix("/").unwrap_or(base);
            mount.join(base).join(&rel)
        };
        Ok(match layout {
            Layout::V2 { mount, own } => Planned {
                v2: true,
                dirs: vec![place(mount, own)],
                devices: None,
                bpf: Some(place(mount, own)),
            },
            Layout::V1 {
                hierarchies,
                unified,
            } => {
                let bpf = unified.as_ref().map(|u| place(&u.mount, &u.own));
                let mut dirs: Vec<PathBuf> = hierarchies
                    .iter()
                    .map(|h| place(&h.mount, &h.own))
                    .collect();
                dirs.extend(bpf.clone());
                Planned {
                    v2: false,
                    dirs,
                    devices: match bpf {
                        Some(_) => None,
                        None => layout.v1("devices").map(|h| place(&h.mount, &h.own)),
                    },
                    bpf,
                }
            }
        })
    }

    /// Whether the device rules are enforced (v1 devices controller or device program); without,
    /// den fails closed.
    pub fn device_control(&self) -> bool {
        self.devices.is_some() || self.bpf.is_some()
    }

    /// Make the dirs and write the limits; everything made is removed again on failure.
    pub fn create(self, resources: Option<&LinuxResources>) -> Result<Cgroup, CgroupError> {
        let mut cg = Cgroup {
            planned: self,
            made: Vec::new(),
            program: None,
        };
        for dir in cg.planned.dirs.clone() {
            // v1: parents made only when missing (`make_dir`), a cpuset one set only when empty;
            // an existing dir is `den start` after a teardown that could not remove it: reused.
            match cg.planned.v2 {
                true => v2::ensure_parents(&dir).and_then(|()| make_dir(&dir, v2::ensure_parents)),
                false => make_dir(&dir, v1::ensure_parents),
            }?;
            cg.made.push(dir.clone());
            if !cg.planned.v2 {
                v1::init(&dir)?;
            }
        }
        if let Some(r) = resources {
            match cg.planned.v2 {
                false => v1::apply(&cg.planned, r)?,
                true => v2::apply(&cg.planned.dirs[0], r)?,
            }
        }
        if let Some(dir) = &cg.planned.bpf {
            let rules = resources.and_then(|r| r.devices().as_deref());
            cg.program = Some(devices::attach(dir, rules.unwrap_or_default())?);
        }
        Ok(cg)
    }
}

/// A container's cgroup; removed on drop unless [`Cgroup::remove`] ran.
#[derive(Debug)]
pub struct Cgroup {
    planned: Planned,
    made: Vec<PathBuf>,
    /// The device program on `planned.bpf`, detached before the dirs go.
    program: Option<devices::DeviceProgram>,
}

/// A cgroup file the paused PID 1 writes "0" to, to move itself in (see [`Cgroup::entries`]).
#[derive(Debug)]
pub struct Entry {
    pub path: PathBuf,
    pub file: OwnedFd,
}

impl Cgroup {
    /// The files through which the paused PID 1 moves itself in before it reports Ready, opened
    /// here, before the clone. v1: each hierarchy's `tasks`, where "0" moves the writing thread
    /// alone (PID 1 has only one), which the kernel does without taking its global threadgroup
    /// lock, whose write side waits for an RCU grace period: a pid written to `cgroup.procs` from
    /// den took ~10 ms a run, "0" to `tasks` from the child 0.05 ms. v2 has no per-thread file
    /// outside threaded cgroups: its `cgroup.procs`.
    pub fn entries(&self) -> Result<Vec<Entry>, CgroupError> {
        // A hybrid layout's unified dir (the device program's) is a cgroup2 one too.
        let on_v2 = |d: &Path| self.planned.v2 || self.planned.bpf.as_deref() == Some(d);
        self.made
            .iter()
            .map(|d| {
                let file = if on_v2(d) { "cgroup.procs" } else { "tasks" };
                let path = d.join(file);
                fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map(|f| Entry {
                        file: f.into(),
                        path: path.clone(),
                    })
                    .map_err(CgroupError::io("opening", path))
            })
            .collect()
    }

    pub fn planned(&self) -> &Planned {
        &self.planned
    }

    /// Did the kernel's OOM killer kill a process in it (v1 `memory.oom_control`, v2
    /// `memory.events`: `oom_kill N`)?
    pub fn oom_killed(&self) -> bool {
        oom_kills(&self.planned) > 0
    }

    /// Keep the dirs past this handle (OCI `create`: `delete`, in another process, removes them
    /// from the saved [`Planned`]).
    pub fn keep(mut self) {
        self.made.clear();
    }

    /// Remove the dirs (waiting briefly while the last processes leave). Goes on past a failure and
    /// returns the first.
    pub fn remove(mut self) -> Result<(), CgroupError> {
        let made = std::mem::take(&mut self.made);
        let detached = self
            .program
            .take()
            .map_or(Ok(()), devices::DeviceProgram::detach);
        let removed = remove_dirs(&made);
        detached.and(removed)
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        // Nothing to report to from a drop; gc removes what is left (its dirs are listed), and
        // the kernel releases a removed cgroup's programs.
        if let Some(p) = self.program.take() {
            let _ = p.detach();
        }
        let _ = remove_dirs(&self.made);
    }
}

/// The `oom_kill` count of a container's cgroup (0 if unreadable).
pub fn oom_kills(p: &Planned) -> u64 {
    let (dir, file) = match p.v2 {
        true => (p.dirs.first().cloned(), "memory.events"),
        false => (
            p.dirs
                .iter()
                .find(|d| d.join("memory.oom_control").exists())
                .cloned(),
            "memory.oom_control",
        ),
    };
    dir.and_then(|d| read(&d, file))
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("oom_kill ")?.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// rmdir each dir; EBUSY (a process still leaving) is retried for up to ~1 s.
pub fn remove_dirs(dirs: &[PathBuf]) -> Result<(), CgroupError> {
    let mut first = None;
    for d in dirs {
        let mut tries = 0;
        loop {
            match fs::remove_dir(d) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 200 => {
                    tries += 1;
                    sleep(Duration::from_millis(5));
                }
                Err(e) => {
                    first.get_or_insert(CgroupError::io("removing", d.clone())(e));
                    break;
                }
            }
        }
    }
    first.map_or(Ok(()), Err)
}

/// Move `pid` (a `den exec` process, paused before its exec) into a container's saved cgroup, so
/// its limits and device rules hold for it too. A container without one (made before den had
/// cgroups) is left as it is.
pub fn join(container_dir: &Path, pid: i32) -> Result<(), CgroupError> {
    let Some(p) = Planned::load(container_dir) else {
        return Ok(());
    };
    let pid = pid.to_string();
    p.dirs
        .iter()
        .try_for_each(|d| write(d, "cgroup.procs", &pid))
}

/// The end of a container whose [`Cgroup`] handle is in another process (a detached container's
/// waiter): whether it was OOM-killed, and the removal of its saved dirs.
pub fn release(container_dir: &Path) -> (bool, Result<(), CgroupError>) {
    match Planned::load(container_dir) {
        Some(p) => {
            let detached = p.bpf.as_deref().map_or(Ok(()), devices::detach_all);
            (oom_kills(&p) > 0, detached.and(remove_dirs(&p.dirs)))
        }
        None => (false, Ok(())),
    }
}

/// The file a container's planned cgroup dirs are saved in (for gc).
pub const SAVED: &str = "cgroups.json";

impl Planned {
    pub fn save(&self, container_dir: &Path) -> Result<(), CgroupError> {
        let path = container_dir.join(SAVED);
        let body = serde_json::to_vec(self).expect("cgroup dirs serialise");
        fs::write(&path, body).map_err(CgroupError::io("writing", path))
    }

    /// The saved list, if any (a container made before den had cgroups has none).
    pub fn load(container_dir: &Path) -> Option<Planned> {
        let body = fs::read(container_dir.join(SAVED)).ok()?;
        serde_json::from_slice(&body).ok()
    }
}

#[cfg(test)]
mod tests;
