//! `den run`, step by step. This list is the one reference for the step numbers that comments
//! elsewhere ("step 4") use, and the code below follows it in the same order.
//!
//! 1. validate everything (options, image, network plan) before anything is created;
//! 2. reserve the name, create the state dir and the overlay's upper/work dirs;
//! 3. clone the child into its new namespaces and its cgroup — it builds its root (mounts, /dev,
//!    pivot_root) meanwhile, then waits on the sync socket;
//! 4. netcfg attaches the child's netns (bridge, veth, lease, routes, firewall);
//! 5. write /etc/hostname, /etc/hosts, /etc/resolv.conf for it (in place: their inodes are bound);
//! 6. release the child: sysctls, read-only paths, drops privileges and execs;
//! 7. wait (forwarding signals), then tear down: network detached, then the exit recorded (or the
//!    container removed, `--rm`).
//!
//! `validate` is step 1, `launch` steps 2-6, `teardown` step 7. The foreground `den run` does them all
//! in this process. `den run -d` does step 1 here and forks the supervisor for the rest (`detached`):
//! the fork comes before the clone of step 3, while den has one thread and no tokio runtime. `den
//! start` runs steps 2-7 again for an exited container, detached, with its id, name and dirs.
//!
//! Every step that makes something holds a guard that undoes it on drop, so a failure at step N undoes
//! steps 1..N-1.

mod attach;
mod detached;
mod error;
mod etc;
mod health;
mod init;
mod launch;
mod lifeflags;
mod names;
mod netflags;
mod netguard;
mod netjoin;
mod options;
mod relay;
mod restart;
mod saved;
mod storage;
pub mod supervisor;
mod teardown;
mod tee;
mod unplug;
mod validate;
mod watch;

use std::path::Path;
use std::time::Duration;

use crate::lifecycle;
use crate::state::{StateError, Status, Store};
pub(crate) use detached::single_threaded;
pub use error::{one_line, RunError};
pub use lifeflags::{LifeFlagError, LifeFlags};
pub use netflags::{NetFlagError, NetFlags};
pub use netjoin::JoinError;
pub use options::{NetworkMode, RunOptions, Storage};
pub use saved::{host_config, process_settings, ProcessSettings};
pub(crate) use teardown::record_exit;
pub use tee::Attached;
use validate::Validated;

/// Run a container in the foreground and return the status `den` should exit with. Its output is
/// logged as a detached one's (`tee`), but with `--rm`; with `--sig-proxy=false` it runs under a
/// supervisor and den attaches to it (`attach`).
pub fn run(opts: &RunOptions) -> Result<i32, RunError> {
    opts.life.check_foreground()?;
    let attached = opts.attach.unwrap_or_default();
    if attach::check(opts.sig_proxy, opts.interactive, opts.tty)? {
        // `--sig-proxy=false`: under a supervisor, as `-d`, this den only attached to it.
        let mut opts = opts.clone();
        opts.root = std::path::absolute(&opts.root)
            .map_err(RunError::io("resolving the state dir", opts.root.clone()))?;
        let validated = Validated::new(&opts)?; // 1
        return attach::run(validated, attached); // 2-7
    }
    let validated = Validated::new(opts)?; // 1
    foreground(validated, !opts.rm, attached, None)
}

/// Steps 2-7 of a foreground run in this process, its output teed to its log if `keep_log` and to
/// den's stdio as `attached` says; `lock` is released once it runs.
fn foreground(
    validated: Validated,
    keep_log: bool,
    attached: Attached,
    lock: Option<std::fs::File>,
) -> Result<i32, RunError> {
    let output = match tee::wanted(keep_log, attached) {
        true => launch::Output::LogPipes,
        false => launch::Output::Inherit,
    };
    let mut started = launch::launch(validated, output)?; // 2-6
    drop(lock);
    let tee = started.logs.take().and_then(|pipes| {
        let life = &started.record.life;
        let log = keep_log.then_some((life.log_max_size, life.log_max_file));
        let dir = started.store.dir(&started.record.id);
        tee::start(&dir, pipes, log, attached)
            .map_err(|e| {
                eprintln!(
                    "den: cannot relay the output of {}: {e}",
                    started.record.name
                )
            })
            .ok()
    });
    let name = started.record.name.clone();
    let (status, teardown) = teardown::finish(started)?; // 7
    if tee.is_some_and(|t| !t.wait()) {
        eprintln!("den: the log of {name} is incomplete (writing it failed)");
    }
    if let Some(e) = teardown {
        // The container's own status is what `den run` exits with; the teardown's trouble is said.
        eprintln!("den: {}", one_line(&e));
    }
    Ok(status)
}

/// `den run -d`: step 1 here, steps 2-7 in the container's supervisor. Returns the container's id
/// once its command runs; `-i`, `-t` and `-a` are refused (`den attach` follows its log: no stdin, no tty).
pub fn run_detached(opts: &RunOptions) -> Result<String, RunError> {
    if opts.attach.is_some() {
        return Err(RunError::AttachDetached);
    }
    if opts.interactive || opts.tty {
        return Err(RunError::DetachedTerminal(if opts.tty { 't' } else { 'i' }));
    }
    // The supervisor works from `/`.
    let mut opts = opts.clone();
    opts.root = std::path::absolute(&opts.root)
        .map_err(RunError::io("resolving the state dir", opts.root.clone()))?;
    let validated = Validated::new(&opts)?; // 1
    detached::spawn(validated, None) // 2-7
}

/// `den create`: step 1 and the state of step 2; `den start` runs it. Returns its id.
pub fn create(opts: &RunOptions) -> Result<String, RunError> {
    let mut opts = opts.clone();
    opts.root = std::path::absolute(&opts.root)
        .map_err(RunError::io("resolving the state dir", opts.root.clone()))?;
    let validated = Validated::new(&opts)?; // 1
    launch::create_only(validated) // 2
}

/// `den start -a NAME`: as `den start`, in the foreground (steps 2-7 here, its output on den's and
/// appended to its log), returning its exit status. Its restart policy does not apply (nothing
/// stays to apply it).
pub fn start_attached(root: &Path, key: &str) -> Result<i32, RunError> {
    let (root, lock, mut c) = exited_and_locked(root, key)?;
    c.set_stopped_by_hand(&Store::new(&root), false)?;
    c.life.restart_count = 0;
    let keep_log = !c.auto_remove;
    let validated = Validated::restart(&root, c)?; // 1
    foreground(validated, keep_log, Attached::default(), Some(lock)) // 2-7
}

/// `den start NAME`: run an exited container again, detached, with the same id, name, upper dir,
/// command, env, published ports and (if still free) address. Returns its name. A start by hand
/// clears the restart count and the "stopped by hand" mark (docker's).
pub fn start(root: &Path, key: &str) -> Result<String, RunError> {
    start_with(root, key, true)
}

/// The restart by its supervisor (`restart`): as `den start`, keeping the restart count.
fn start_again(root: &Path, id: &str) -> Result<(), RunError> {
    start_with(root, id, false).map(drop)
}

fn start_with(root: &Path, key: &str, by_hand: bool) -> Result<String, RunError> {
    let (root, lock, mut c) = exited_and_locked(root, key)?;
    if by_hand {
        c.set_stopped_by_hand(&Store::new(&root), false)?;
        c.life.restart_count = 0;
        c.life.restart_delay_ms = 0;
    }
    c.life.restarting = false;
    let name = c.name.clone();
    let validated = Validated::restart(&root, c)?; // 1
    detached::spawn(validated, Some(lock))?; // 2-7, the lock held until the record says "running"
    Ok(name)
}

/// Container `key` of state dir `root` (made absolute), exited and recorded so, with its dir locked:
/// what every start begins with. One start at a time: a second one waits at the lock, then finds it
/// running; a supervisor still tearing the last run down finishes first.
fn exited_and_locked(
    root: &Path,
    key: &str,
) -> Result<(std::path::PathBuf, std::fs::File, crate::state::Container), RunError> {
    let root = std::path::absolute(root)
        .map_err(RunError::io("resolving the state dir", root.to_path_buf()))?;
    let store = Store::new(&root);
    let c = store.find(key)?;
    let lock = lock_dir(&store.dir(&c.id))?;
    let c = store.load_id(&c.id)?;
    if lifecycle::is_running(&c) {
        return Err(RunError::AlreadyRunning(c.name));
    }
    let c = lifecycle::wait_recorded(&store, &c)?
        .ok_or_else(|| StateError::NotFound(key.to_string()))?;
    if c.status == Status::Running {
        return Err(RunError::NotCleanedUp(c.name));
    }
    Ok((root, lock, c))
}

/// An exclusive flock on the container's dir (released when every fd of it is closed).
fn lock_dir(dir: &Path) -> Result<std::fs::File, RunError> {
    let f = std::fs::File::open(dir).map_err(RunError::io("opening", dir.to_path_buf()))?;
    f.lock()
        .map_err(RunError::io("locking", dir.to_path_buf()))?;
    Ok(f)
}

/// `den restart [-t SECS] NAME`: `den stop` (if it runs or waits to restart), then `den start`.
pub fn restart(root: &Path, key: &str, grace: Option<Duration>) -> Result<String, RunError> {
    match lifecycle::stop_container(root, key, grace) {
        Ok(_) | Err(lifecycle::LifecycleError::NotRunning(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let name = start(root, key)?;
    // Started just now: found unless removed since (then there is nothing to say it of).
    if let Ok(c) = Store::new(root).find(&name) {
        crate::events::emit(root, crate::events::Event::container(&c, "restart"));
    }
    Ok(name)
}

/// A container `den start --restart-policies` started: its name, and its start's outcome.
pub type PolicyStart = (String, Result<String, RunError>);

/// `den start --restart-policies` (after a reboot: a systemd unit or an `@reboot` cron line runs
/// it): start every exited container whose policy is `always`, or `unless-stopped` and not
/// stopped by hand, as docker's daemon does when it starts. Returns each one's name and outcome.
pub fn start_by_policy(root: &Path) -> Result<Vec<PolicyStart>, RunError> {
    let store = Store::new(root);
    let due = store.list()?.into_iter().filter(|c| {
        let c = lifecycle::observed(c);
        c.status != Status::Running
            && !lifecycle::is_restarting(&c)
            && c.life
                .restart_policy
                .after_reboot(c.stopped_by_hand(&store))
    });
    Ok(due
        .map(|c| {
            let started = start(root, &c.id);
            (c.name, started)
        })
        .collect())
}
