//! `den exec`: run a command in a running container.
//!
//! 1. validate the options;
//! 2. find the container and pin its PID 1 with a pidfd, verified by (pid, start time);
//! 3. read its OCI spec (`config.json`): the process's user, capabilities, env and cwd;
//! 4. open its root (`/proc/PID/root`, checked against the pidfd) for `-u` and `-t`;
//! 5. `process::enter`: a child joins all of its namespaces through the pidfd — mount (and so
//!    its root), UTS, IPC, network, and PID (it shows in the container's `ps`) — drops to the
//!    container's privileges and execs; den relays the terminal, forwards signals and returns
//!    the command's exit status (127 not found, 126 not executable, 125 den's own failure).

mod config;
mod process;
mod target;

use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;

use nix::fcntl::OFlag;

use crate::envflags::{self, FlagError};
use crate::events::{self, Event};
use crate::process::{self as proc, Enter, ProcessError};
use crate::spec::SpecError;
use crate::state::Store;
pub use config::{load_spec, save_spec, SpecFileError, SPEC_FILE};
use process::exec_process;
pub use target::{Target, TargetError};

/// What the user asked `den exec` for.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    pub root: PathBuf,
    /// Name, id or unique id prefix.
    pub container: String,
    pub cmd: Vec<String>,
    /// `-e K=V`, or `-e K` to copy K from den's environment; these override the container's.
    pub env: Vec<String>,
    /// `-w`: absolute; default the container's working directory.
    pub workdir: Option<String>,
    /// `-u uid[:gid]` or `name[:group]`, looked up in the container; default its user.
    pub user: Option<String>,
    /// `-i`: pass den's stdin.
    pub interactive: bool,
    /// `-t`: a pty from the container's devpts.
    pub tty: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("no command specified")]
    NoCommand,
    #[error(transparent)]
    Flag(#[from] FlagError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    SpecFile(#[from] SpecFileError),
    #[error("the spec of container {0} has no process")]
    NoProcess(String),
    #[error(transparent)]
    User(#[from] SpecError),
    #[error(transparent)]
    Process(#[from] ProcessError),
    #[error(transparent)]
    Cgroup(#[from] crate::cgroups::CgroupError),
    #[error("exec -d cannot be combined with -i or -t: den has no attach")]
    DetachedTerminal,
    #[error("cannot fork the detached exec")]
    Fork(#[source] nix::errno::Errno),
}

impl ExecError {
    /// docker's convention: 127 command not found, 126 not executable, 125 den's own failure.
    pub fn exit_status(&self) -> i32 {
        match self {
            ExecError::Process(e) => e.exit_status(),
            _ => 125,
        }
    }
}

impl ExecOptions {
    fn validate(&self) -> Result<(), ExecError> {
        if self.cmd.first().is_none_or(|c| c.is_empty()) {
            return Err(ExecError::NoCommand);
        }
        Ok(envflags::check(&self.env, self.workdir.as_ref())?)
    }
}

/// Run the command in the container and return its exit status.
pub fn exec(opts: &ExecOptions) -> Result<i32, ExecError> {
    opts.validate()?;
    let store = Store::new(&opts.root);
    let target = Target::open(&store, &opts.container)?;
    let spec = load_spec(&store.dir(&target.record.id), &target.record.name)?;
    let root = target.open_proc("root", OFlag::O_PATH | OFlag::O_DIRECTORY)?;
    let root_path = PathBuf::from(format!("/proc/self/fd/{}", root.as_raw_fd()));
    let process = exec_process(&spec, &target.record, opts, &root_path)?;
    // docker's exec events: the command in the action, the exec's own id in `execID`.
    let (exec_id, cmd) = (crate::state::new_id(), opts.cmd.join(" "));
    let event = |action: &str| Event::container(&target.record, action).attr("execID", &exec_id);
    events::emit(&opts.root, event(&format!("exec_create: {cmd}")));
    let dir = store.dir(&target.record.id);
    let cache = opts.root.join("cache").join("seccomp");
    let started = proc::enter(&Enter {
        container: target.pidfd.as_fd(),
        root: root.as_fd(),
        process: &process,
        stdin: opts.interactive,
        seccomp: spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()),
        seccomp_cache: Some(&cache),
    })
    .map_err(ExecError::from)
    .and_then(|paused| {
        // Into the container's cgroup before it execs: its limits and device rules hold here too.
        crate::cgroups::join(&dir, paused.pid())?;
        Ok(paused.start()?)
    });
    let running = match started {
        Ok(running) => running,
        // The container ended meanwhile: say that, not how joining it failed.
        Err(_) if !target.alive() => {
            return Err(TargetError::NotRunning(target.record.name.clone()).into())
        }
        Err(e) => return Err(e),
    };
    events::emit(&opts.root, event(&format!("exec_start: {cmd}")));
    let status = running.wait()?.status();
    events::emit(&opts.root, event("exec_die").attr("exitCode", status));
    Ok(status)
}

/// `den exec -d`: check the container runs, then run the exec in a child of its own (a new
/// session, stdio on /dev/null) that waits for the process, and return at once. Call it while den
/// has one thread.
pub fn exec_detached(opts: &ExecOptions) -> Result<(), ExecError> {
    opts.validate()?;
    if opts.interactive || opts.tty {
        return Err(ExecError::DetachedTerminal);
    }
    Target::open(&Store::new(&opts.root), &opts.container)?;
    if !crate::run::single_threaded() {
        return Err(ExecError::Fork(nix::errno::Errno::EAGAIN));
    }
    match crate::syscall::fork_single_threaded().map_err(ExecError::Fork)? {
        Some(_) => Ok(()),
        None => {
            let detached = nix::unistd::setsid().is_ok()
                && nix::fcntl::open("/dev/null", OFlag::O_RDWR, nix::sys::stat::Mode::empty())
                    .and_then(|null| {
                        nix::unistd::dup2_stdin(&null)?;
                        nix::unistd::dup2_stdout(&null)?;
                        nix::unistd::dup2_stderr(&null)
                    })
                    .is_ok();
            let code = match detached {
                true => exec(opts).unwrap_or_else(|e| e.exit_status()),
                false => 125,
            };
            crate::syscall::exit_now(code)
        }
    }
}
