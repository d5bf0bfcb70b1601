//! `exec`: a process in a running container, through den's `process::enter` (the path `den exec`
//! takes): the container's namespaces via its pidfd, its cgroup, its seccomp filter.

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::Process;

use super::record::{load, OciStatus};
use super::{console, OciError};
use crate::process::{self, Enter};
use crate::syscall;

#[derive(Debug, Default, Clone)]
pub struct ExecOptions {
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
}

/// The spec's process with `args` and the overrides of runc's flags (`--cwd`, `--env`,
/// `--user`, `--tty`), for `exec ID ARGS...` without `--process`.
pub fn process_for(root: &Path, id: &str, args: Vec<String>) -> Result<Process, OciError> {
    let r = load(root, id)?;
    let mut p = r.process.unwrap_or_default();
    p.set_args(Some(args));
    p.set_terminal(Some(false));
    Ok(p)
}

/// Run `process` in container `id`. Foreground: its exit status; `--detach`: 0 once it exec'd.
pub fn exec(root: &Path, id: &str, process: &Process, o: &ExecOptions) -> Result<i32, OciError> {
    let r = load(root, id)?;
    let status = r.status(root);
    if !matches!(status, OciStatus::Running | OciStatus::Created) {
        return Err(OciError::NotRunning { id: id.to_owned() });
    }
    if process.terminal().unwrap_or(false) && o.detach && o.console_socket.is_none() {
        return Err(OciError::NoConsoleSocket);
    }
    let err = |source| OciError::Kill {
        id: id.to_owned(),
        pid: r.pid,
        source,
    };
    let pidfd = syscall::pidfd_open(r.pid).map_err(err)?;
    if !r.alive() {
        return Err(OciError::NotRunning { id: id.to_owned() });
    }
    let proc_root = format!("/proc/{}/root", r.pid);
    let root_fd: OwnedFd = nix::fcntl::open(
        proc_root.as_str(),
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| OciError::io("opening", &proc_root)(e.into()))?;
    let cache = root.join(".cache").join("seccomp");
    let mut paused = process::enter(&Enter {
        container: pidfd.as_fd(),
        root: root_fd.as_fd(),
        process,
        stdin: true,
        seccomp: r.seccomp.as_ref(),
        seccomp_cache: Some(&cache),
    })?;
    for d in r.cgroup.iter().flat_map(|c| c.dirs.iter()) {
        let procs = d.join("cgroup.procs");
        std::fs::write(&procs, paused.pid().to_string())
            .map_err(OciError::io("joining the cgroup", procs))?;
    }
    if let (Some(socket), Some(master)) = (&o.console_socket, paused.take_terminal()) {
        console::send_master(socket, master, process.console_size())?;
    }
    let running = paused.start()?;
    if let Some(pid_file) = &o.pid_file {
        super::create::write_pid_file(pid_file, running.pid())?;
    }
    if o.detach {
        running.detach();
        return Ok(0);
    }
    Ok(running.wait()?.status())
}

/// A `--process` file: an OCI process JSON.
pub fn read_process(path: &Path) -> Result<Process, OciError> {
    let f = File::open(path).map_err(|source| OciError::NoConfig {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_reader(f).map_err(|source| OciError::BadConfig {
        path: path.to_path_buf(),
        source,
    })
}
