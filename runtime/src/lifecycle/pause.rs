//! `den pause`, `den unpause` (the freezer cgroup), `den wait`, `den rename`.

use std::path::Path;
use std::time::Duration;

use super::{is_restarting, is_running, LifecycleError};
use crate::cgroups;
use crate::events::Event;
use crate::state::{Container, StateError, Status, Store};

/// `den pause NAME`: freeze every process of the running container. Returns its name.
pub fn pause(root: &Path, key: &str) -> Result<String, LifecycleError> {
    set_paused(root, key, true)
}

/// `den unpause NAME`: thaw it. Returns its name.
pub fn unpause(root: &Path, key: &str) -> Result<String, LifecycleError> {
    set_paused(root, key, false)
}

fn set_paused(root: &Path, key: &str, paused: bool) -> Result<String, LifecycleError> {
    let store = Store::new(root);
    let mut c = store.find(key)?;
    if !is_running(&c) {
        return Err(LifecycleError::NotRunning(c.name));
    }
    let dir = store.dir(&c.id);
    match (paused, cgroups::is_frozen(&dir)) {
        (true, true) => return Err(LifecycleError::AlreadyPaused(c.name)),
        (false, false) => return Err(LifecycleError::NotPaused(c.name)),
        _ => {}
    }
    cgroups::set_frozen(&dir, paused)?;
    c.life.paused = paused;
    store.save(&c)?;
    crate::events::emit(
        root,
        Event::container(&c, if paused { "pause" } else { "unpause" }),
    );
    Ok(c.name)
}

/// After a signal to a paused container: thaw it so the signal is delivered (docker's `stop` and
/// `kill` of a paused container work).
pub(crate) fn thaw_for_signal(store: &Store, c: &Container) -> Result<(), LifecycleError> {
    let dir = store.dir(&c.id);
    if c.life.paused || cgroups::is_frozen(&dir) {
        cgroups::set_frozen(&dir, false)?;
        if let Ok(mut now) = store.load_id(&c.id) {
            now.life.paused = false;
            store.save(&now)?;
        }
    }
    Ok(())
}

const POLL: Duration = Duration::from_millis(20);

/// `den wait NAME`: block until the container stops (a created one: until it has run and
/// stopped), then return its exit code. A container whose supervisor died with it counts as
/// stopped with docker's unknown code, 255.
pub fn wait(root: &Path, key: &str) -> Result<i32, LifecycleError> {
    let store = Store::new(root);
    let c = store.find(key)?;
    loop {
        let now = match store.load_id(&c.id) {
            Ok(now) => now,
            // Removed meanwhile (`--rm`): its code is gone with it, as with docker's --rm race.
            Err(StateError::NotFound(_)) => return Err(StateError::NotFound(key.into()).into()),
            Err(e) => return Err(e.into()),
        };
        match now.status {
            Status::Exited if !is_restarting(&now) || now.exit_code.is_some() => {
                return Ok(now.exit_code.unwrap_or(255));
            }
            Status::Running if !is_running(&now) && !super::supervisor_alive(&now) => {
                return Ok(255)
            }
            _ => std::thread::sleep(POLL),
        }
    }
}

/// `den rename OLD NEW`: the container's new name (in `names/`, its record and, on a user network,
/// the other members' /etc/hosts). Returns the new name.
pub fn rename(root: &Path, key: &str, new: &str) -> Result<String, LifecycleError> {
    let store = Store::new(root);
    let c = store.find(key)?;
    store.rename(&c, new)?;
    let renamed = Container {
        name: new.into(),
        ..c.clone()
    };
    crate::events::emit(
        root,
        Event::container(&renamed, "rename").attr("oldName", &c.name),
    );
    if let Some(att) = &c.network {
        if is_running(&c) {
            crate::hosts::refresh(root, &att.network)?;
        }
    }
    Ok(new.to_string())
}
