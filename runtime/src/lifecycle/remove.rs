//! `den rm [-f] [-v]`.

use std::path::Path;
use std::time::Duration;

use den_netcfg::Networks;
use nix::sys::signal::Signal;

use super::signal::send;
use super::{is_running, wait_gone, wait_recorded, LifecycleError};
use crate::state::Store;

/// `den rm [-f] NAME`: kill (with -f), let its supervisor record the exit, detach its network
/// (idempotent: done already unless the supervisor died), remove its state and, with `volumes`, its
/// anonymous volumes (docker's `rm -v`). Returns the name.
pub fn remove(
    root: &Path,
    key: &str,
    force: bool,
    volumes: bool,
) -> Result<String, LifecycleError> {
    let store = Store::new(root);
    let mut c = store.find(key)?;
    if force && (is_running(&c) || super::is_restarting(&c)) {
        // Its restart policy must not start it again meanwhile.
        c = super::end_restarting(&store, &c)?;
    }
    if is_running(&c) {
        if !force {
            return Err(LifecycleError::Running(c.name));
        }
        send(&store, &c, Signal::SIGKILL)?;
        super::pause::thaw_for_signal(&store, &c)?;
        if !wait_gone(&c, Duration::from_secs(10)) {
            return Err(LifecycleError::Unkillable {
                name: c.name,
                pid: c.pid.unwrap_or(0),
            });
        }
    }
    let Some(c) = wait_recorded(&store, &c)? else {
        // Its supervisor removed it (`--rm`), teardown included.
        return Ok(c.name);
    };
    for att in c.attachments() {
        Networks::new(root).detach(att)?;
        crate::hosts::refresh(root, &att.network)?;
    }
    if volumes {
        crate::volume::VolumeStore::new(root).remove_anonymous(&store.dir(&c.id))?;
    }
    store.remove(&c)?;
    crate::events::emit(root, crate::events::Event::container(&c, "destroy"));
    Ok(c.name)
}

/// `den container prune`: remove every container that does not run (nor waits to be restarted).
/// Returns the ids removed and the first failure, if any (it goes on past failures).
pub fn prune(root: &Path) -> Result<(Vec<String>, Option<LifecycleError>), LifecycleError> {
    let store = Store::new(root);
    let mut removed = Vec::new();
    let mut failed = None;
    for c in store.list()? {
        if is_running(&c) || super::is_restarting(&c) {
            continue;
        }
        match remove(root, &c.id, false, false) {
            Ok(_) => removed.push(c.id),
            Err(e) => {
                failed.get_or_insert(e);
            }
        }
    }
    Ok((removed, failed))
}
