//! Verbs on existing containers: `den rm`.

use std::path::Path;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::state::{Container, StateError, Status, Store};

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("container {0} is running: stop it first or use rm -f")]
    Running(String),
    #[error("killing container {name} (pid {pid}): {source}")]
    Kill {
        name: String,
        pid: i32,
        #[source]
        source: Errno,
    },
    #[error(transparent)]
    Detach(#[from] den_netcfg::DetachError),
}

/// Is the container's process still there?
pub fn alive(c: &Container) -> bool {
    c.status == Status::Running && c.pid.is_some_and(|p| kill(Pid::from_raw(p), None).is_ok())
}

/// After a kill: wait (bounded) for the process to go and for the `den run` that owns it to record the exit,
/// so its teardown and ours don't race. A `den run` that was itself killed never records it: go on after a grace.
fn settle(store: &Store, c: Container) -> Result<Container, LifecycleError> {
    let start = Instant::now();
    let mut dead_since: Option<Instant> = None;
    let mut current = c;
    while start.elapsed() < Duration::from_secs(10) {
        if current.status != Status::Running {
            break;
        }
        if alive(&current) {
            dead_since = None;
        } else if dead_since.get_or_insert_with(Instant::now).elapsed() > Duration::from_secs(2) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
        current = match store.load_id(&current.id) {
            Ok(now) => now,
            Err(StateError::NotFound(_)) => break,
            Err(e) => return Err(e.into()),
        };
    }
    Ok(current)
}

/// `den rm [-f] NAME`: kill (with -f), detach its network (idempotent), remove its state. Returns the name.
pub fn remove(root: &Path, key: &str, force: bool) -> Result<String, LifecycleError> {
    let store = Store::new(root);
    let c = store.find(key)?;
    if alive(&c) {
        if !force {
            return Err(LifecycleError::Running(c.name));
        }
        let pid = c.pid.expect("alive has a pid");
        match kill(Pid::from_raw(pid), Signal::SIGKILL) {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(source) => {
                return Err(LifecycleError::Kill {
                    name: c.name,
                    pid,
                    source,
                })
            }
        }
    }
    let c = settle(&store, c)?;
    if let Some(att) = &c.network {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread tokio runtime")
            .block_on(den_netcfg::detach(root, att))?;
    }
    store.remove(&c)?;
    Ok(c.name)
}
