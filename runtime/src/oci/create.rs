//! `create` (and `run`, which is create + start + wait + delete in one process).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use nix::sys::stat::Mode;
use nix::sys::statfs::statfs;

use super::bundle::load_bundle;
use super::hooks::{self, Place};
use super::record::{OciStatus, Record};
use super::verbs::{release, remove};
use super::{console, container_dir, fifo, OciError};
use crate::cgroups::{self, Cgroup, Layout, Planned};
use crate::process::{self, Gate, Gated, Launch};
use crate::state;

#[derive(Debug, Default, Clone)]
pub struct CreateOptions {
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub preserve_fds: u32,
}

/// `ROOT/ID`, removed on drop unless committed (a failed create leaves nothing).
struct DirGuard(Option<PathBuf>);

impl Drop for DirGuard {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            // Error path only; nothing to report to.
            let _ = fs::remove_dir_all(dir);
        }
    }
}

/// The v1 freezer dir, removed on drop (a failed create; the process is gone by then).
struct FreezerGuard(Option<PathBuf>);

impl Drop for FreezerGuard {
    fn drop(&mut self) {
        if let Some(dir) = &self.0 {
            let _ = crate::cgroups::remove_dirs(std::slice::from_ref(dir));
        }
    }
}

/// A container at its exec gate, with what undoes it if the caller fails.
struct Created {
    gated: Gated,
    record: Record,
    cgroup: Option<Cgroup>,
    dir: DirGuard,
}

impl Created {
    fn commit(mut self) -> (Gated, Record) {
        self.dir.0 = None;
        if let Some(cg) = self.cgroup.take() {
            cg.keep();
        }
        (self.gated, self.record)
    }
}

/// `create`: the container waits at its exec fifo; returns its pid.
pub fn create(root: &Path, id: &str, o: &CreateOptions) -> Result<i32, OciError> {
    if terminal_of(&o.bundle)? && o.console_socket.is_none() {
        return Err(OciError::NoConsoleSocket);
    }
    let (gated, _) = set_up(root, id, o)?.commit();
    Ok(gated.detach())
}

/// `run` in the foreground: create, start, wait, delete; the container's exit status.
pub fn run(root: &Path, id: &str, o: &CreateOptions) -> Result<i32, OciError> {
    let (gated, record) = set_up(root, id, o)?.commit();
    let dir = record.dir(root);
    let running = match release(&record, &dir, |f| gated.release(f).map_err(OciError::from)) {
        Ok(r) => r,
        Err(e) => {
            let _ = remove(&record, &dir);
            return Err(e);
        }
    };
    let exit = running.wait();
    let removed = remove(&record, &dir);
    let status = exit?.status();
    removed?;
    Ok(status)
}

fn terminal_of(bundle: &Path) -> Result<bool, OciError> {
    let b = load_bundle(bundle)?;
    Ok(b.spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false))
}

/// Namespace paths must name namespaces (nsfs), checked before anything is made.
fn check_namespace_paths(spec: &oci_spec::runtime::Spec) -> Result<(), OciError> {
    const NSFS_MAGIC: i64 = 0x6e73_6673;
    let list = spec.linux().as_ref().and_then(|l| l.namespaces().clone());
    for ns in list.iter().flatten() {
        if let Some(path) = ns.path() {
            let is_ns = statfs(path).is_ok_and(|s| s.filesystem_type().0 == NSFS_MAGIC);
            if !is_ns {
                return Err(OciError::NotNamespace { path: path.clone() });
            }
        }
    }
    Ok(())
}

fn set_up(root: &Path, id: &str, o: &CreateOptions) -> Result<Created, OciError> {
    let dir = container_dir(root, id)?;
    let bundle = load_bundle(&o.bundle)?;
    let spec = &bundle.spec;
    check_namespace_paths(spec)?;
    fs::create_dir_all(root).map_err(OciError::io("creating the state root", root))?;
    match fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(OciError::Exists { id: id.to_owned() })
        }
        Err(e) => return Err(OciError::io("creating", &dir)(e)),
    }
    let guard = DirGuard(Some(dir.clone()));
    let fifo_path = fifo(&dir);
    nix::unistd::mkfifo(&fifo_path, Mode::from_bits_truncate(0o622))
        .map_err(|e| OciError::io("creating the exec fifo", &fifo_path)(io::Error::from(e)))?;
    let linux = spec.linux().as_ref();
    chown_to_mapped_root(&fifo_path, linux)?;
    let cgroups_path = linux
        .and_then(|l| l.cgroups_path().as_ref())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| cgroups::dir_name(id));
    let layout = Layout::detect()?;
    let planned = Planned::new(&layout, &cgroups_path)?;
    // den's own cgroups take the v1 freezer hierarchy too; a dir of its own only where they do not.
    let freezer = match layout {
        Layout::V1 { .. } => {
            super::freezer::v1_dir(&cgroups_path).filter(|d| !planned.dirs.contains(d))
        }
        Layout::V2 { .. } => None,
    };
    let cgroup = planned
        .clone()
        .create(linux.and_then(|l| l.resources().as_ref()))?;
    let hooks = spec.hooks().clone();
    let create_container = hooks
        .as_ref()
        .and_then(|h| h.create_container().clone())
        .unwrap_or_default();
    // Before the spawn: dropped after the child (killed and reaped by its own drop) on failure.
    let freezer_guard = FreezerGuard(freezer.clone());
    let entries = cgroup.entries()?;
    let paused = process::spawn(&Launch {
        spec,
        overlay: None,
        stdin: true,
        stdout: None,
        stderr: None,
        seccomp_cache: Some(root.join(".cache").join("seccomp")),
        rootfs_nodev: false,
        cgroup: &entries,
        gate: Some(Gate {
            fifo: fifo_path,
            stop_before_pivot: !create_container.is_empty(),
            preserve_fds: o.preserve_fds,
        }),
    })?;
    drop(entries);
    let pid = paused.pid();
    if let Some(dir) = &freezer {
        super::freezer::join(dir, pid)?;
    }
    let process = spec.process().clone();
    if let Some(adj) = process.as_ref().and_then(|p| p.oom_score_adj()) {
        let path = format!("/proc/{pid}/oom_score_adj");
        fs::write(&path, adj.to_string()).map_err(OciError::io("writing", path))?;
    }
    let record = Record {
        id: id.to_owned(),
        pid,
        pid_start: state::start_time(pid).unwrap_or_default(),
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: state::rfc3339(state::now_secs()),
        annotations: spec.annotations().clone().unwrap_or_default(),
        hooks: hooks.clone(),
        cgroup: Some(planned),
        process,
        seccomp: linux.and_then(|l| l.seccomp().clone()),
        freezer: freezer.clone(),
    };
    let creating = record.state_json(OciStatus::Creating);
    let list = |f: fn(&oci_spec::runtime::Hooks) -> &Option<Vec<oci_spec::runtime::Hook>>| {
        hooks
            .as_ref()
            .and_then(|h| f(h).clone())
            .unwrap_or_default()
    };
    hooks::run_all(
        "prestart",
        &list(|h| h.prestart()),
        &creating,
        Place::Runtime,
    )?;
    let create_runtime = list(|h| h.create_runtime());
    hooks::run_all("createRuntime", &create_runtime, &creating, Place::Runtime)?;
    let mut gated = paused.set_up(|pid| {
        hooks::run_all(
            "createContainer",
            &create_container,
            &creating,
            Place::Container(pid),
        )
    })?;
    if let (Some(socket), Some(master)) = (&o.console_socket, gated.take_terminal()) {
        let size = spec.process().as_ref().and_then(|p| p.console_size());
        console::send_master(socket, master, size)?;
    }
    record.save(&dir)?;
    if let Some(pid_file) = &o.pid_file {
        write_pid_file(pid_file, pid)?;
    }
    std::mem::forget(freezer_guard);
    Ok(Created {
        gated,
        record,
        cgroup: Some(cgroup),
        dir: guard,
    })
}

/// In a user namespace the container's root opens the exec fifo as its host ids (runc chowns it
/// the same way).
fn chown_to_mapped_root(
    fifo: &Path,
    linux: Option<&oci_spec::runtime::Linux>,
) -> Result<(), OciError> {
    let root_of = |m: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| {
        m.iter()
            .flatten()
            .find(|l| l.container_id() == 0 && l.size() > 0)
            .map(|l| l.host_id())
    };
    let Some(linux) = linux else { return Ok(()) };
    let (uid, gid) = (root_of(linux.uid_mappings()), root_of(linux.gid_mappings()));
    if uid.is_none() && gid.is_none() {
        return Ok(());
    }
    std::os::unix::fs::chown(fifo, uid, gid).map_err(OciError::io("chowning", fifo))
}

/// Write the pid file whole or not at all (conmon and the shim read it as soon as it exists).
pub(crate) fn write_pid_file(path: &Path, pid: i32) -> Result<(), OciError> {
    let path = std::path::absolute(path).map_err(OciError::io("resolving", path))?;
    let tmp = path.with_extension("den-tmp");
    fs::write(&tmp, pid.to_string()).map_err(OciError::io("writing", &tmp))?;
    fs::rename(&tmp, &path).map_err(OciError::io("writing", path))
}
