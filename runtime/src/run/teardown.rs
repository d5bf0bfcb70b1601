//! Step 7: once the container's PID 1 has ended, detach its network, then record the exit (or remove
//! the container, with `--rm`). In that order: when the record says "exited", the teardown is done,
//! which `den stop` and `den rm -f` rely on.

use std::path::Path;

use den_netcfg::Networks;

use super::launch::Started;
use super::unplug;
use super::RunError;
use crate::hosts;
use crate::process::Exit;
use crate::state::{self, StateError, Status, Store};

/// Detach the network of container `id` as its record says, then record how it ended (`status`: the
/// shell-style exit status). A container already removed (`den rm -f` took over) is left alone.
/// Goes on past a failed detach; returns its error after recording the exit.
pub(crate) fn record_exit(
    root: &Path,
    id: &str,
    status: i32,
    oom_killed: bool,
) -> Result<(), RunError> {
    let store = Store::new(root);
    let mut record = match store.load_id(id) {
        Ok(r) => r,
        Err(StateError::NotFound(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let mut behind = None;
    let detached = match &record.network {
        Some(att) => Networks::new(root).detach_with(att, |u| {
            behind = unplug::start(Some(u));
            behind.is_some()
        }),
        None => Ok(()),
    };
    // The networks `den network connect` added: their veths die with the netns; their leases
    // and the veths (at once) are released here. Every one is tried; the first error is kept.
    let mut detached = detached;
    for att in &record.connected {
        let r = Networks::new(root).detach(att);
        if detached.is_ok() {
            detached = r;
        }
    }
    if behind.is_none() && record.auto_remove {
        behind = unplug::start(None);
    }
    // Its lease is gone: the other members of a user network stop listing it.
    let mut names = Ok(());
    for att in record.attachments() {
        let r = hosts::refresh(root, &att.network);
        if names.is_ok() {
            names = r;
        }
    }
    den_netcfg::trace::step(|| "# network detached".into());
    record.status = Status::Exited;
    record.finished_at = Some(state::now_secs());
    record.exit_code = Some(status);
    record.oom_killed = oom_killed;
    record.life.paused = false;
    crate::events::died(root, &record, status, &store.dir(id));
    // `den rm -f` may have removed it while we detached.
    match store.load_id(id) {
        Err(StateError::NotFound(_)) => {}
        _ if record.auto_remove => {
            // docker's `--rm` takes the container's anonymous volumes with it.
            let volumes = crate::volume::VolumeStore::new(root).remove_anonymous(&store.dir(id));
            match behind {
                // Out of `containers/` now (what `den ps` and a name look-up read); its files go
                // in the child.
                Some(b) => b.remove(&store.remove_later(&record)?),
                None => store.remove(&record)?,
            }
            volumes?;
        }
        _ => store.save(&record)?,
    }
    crate::events::auto_removed(root, &record);
    detached?;
    names?;
    Ok(())
}

/// Step 7 in this process: wait (forwarding signals), then tear down. Returns the status `den run`
/// exits with (the container's) and what went wrong in the teardown, if anything.
pub(crate) fn finish(started: Started) -> Result<(i32, Option<RunError>), RunError> {
    let Started {
        store,
        record,
        running,
        mut net,
        cgroup,
        mounts_held,
        logs: _,
    } = started;
    let exit = running.wait();
    den_netcfg::trace::step(|| "# container exited".into());
    // Read before the cgroup goes; removed before the record says "exited" (teardown done).
    let oom_killed = cgroup.oom_killed();
    let cgroup_removed = cgroup.remove();
    den_netcfg::trace::step(|| "# cgroup removed; tearing down".into());
    // `record_exit` detaches what the record says, which is what the guard holds.
    net.disarm();
    let status = match &exit {
        Ok(e) => e.status(),
        Err(_) => 125,
    };
    let recorded = record_exit(store.root(), &record.id, status, oom_killed)
        .and(cgroup_removed.map_err(RunError::from));
    den_netcfg::trace::step(|| "# torn down".into());
    // The helper `record_exit` forked holds it too; without one, its mounts go now.
    drop(mounts_held);
    let exit: Exit = exit?;
    Ok((exit.status(), recorded.err()))
}
