//! Verbs on existing containers: `den rm`.

use std::path::Path;

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
    c.status == Status::Running
        && c.pid.is_some_and(|p| kill(Pid::from_raw(p), None).is_ok())
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
