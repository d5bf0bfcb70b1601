//! The restart policy, applied by the waiting supervisor once it has recorded the container's exit
//! (docker's restart manager): if the policy says so, it marks the record "restarting", waits the
//! backoff delay, then starts the container again exactly as `den start` does, which forks the
//! next supervisor; this one then ends.
//!
//! `den stop` (and `den rm -f`) end the restarting: they create the container's
//! `stopped-by-hand` marker, which this supervisor looks for before and while it waits (every
//! [`TICK`]). A supervisor that finds the record naming another supervisor (`den start` by hand
//! took over) leaves the container alone.

use std::path::Path;
use std::time::{Duration, Instant};

use super::RunError;
use crate::state::{next_delay, Container, StateError, Status, Store};

/// How often the waiting supervisor looks for the `stopped-by-hand` marker.
const TICK: Duration = Duration::from_millis(50);

/// Is this process the supervisor the record names?
fn mine(c: &Container) -> bool {
    let me = std::process::id() as i32;
    c.supervisor.is_some_and(|(pid, _)| pid == me)
}

fn load(store: &Store, id: &str) -> Result<Option<Container>, RunError> {
    match store.load_id(id) {
        Ok(c) => Ok(Some(c)),
        Err(StateError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// After the exit of container `id` is recorded: restart it if its policy says so. Returns once it
/// runs again (its new supervisor has taken over), or at once if it is not to be restarted.
pub(crate) fn after_exit(root: &Path, id: &str) -> Result<(), RunError> {
    let store = Store::new(root);
    let Some(mut c) = load(&store, id)? else {
        return Ok(());
    };
    let code = c.exit_code.unwrap_or(0);
    let policy = c.life.restart_policy;
    if c.status != Status::Exited
        || !mine(&c)
        || !policy.should_restart(code, c.stopped_by_hand(&store), c.life.restart_count)
    {
        return Ok(());
    }
    let ran = match (c.started_at, c.finished_at) {
        (Some(s), Some(f)) => Duration::from_secs(f.saturating_sub(s).max(0) as u64),
        _ => Duration::ZERO,
    };
    let delay = next_delay(Duration::from_millis(c.life.restart_delay_ms), ran);
    c.life.restart_count += 1;
    c.life.restart_delay_ms = delay.as_millis() as u64;
    c.life.restarting = true;
    store.save(&c)?;
    // The supervisor's journal says each restart (docker's daemon logs them).
    super::supervisor::note(
        root,
        id,
        &format!(
            "exit {code}: restart {} in {} ms ({policy})",
            c.life.restart_count,
            delay.as_millis()
        ),
    );
    if !wait_unless_stopped(&store, &c, delay) {
        return give_up(&store, id);
    }
    // Someone else may have started, removed or stopped it while this one waited.
    match load(&store, id)? {
        Some(now) if now.status == Status::Exited && mine(&now) && !now.stopped_by_hand(&store) => {
        }
        _ => return Ok(()),
    }
    match super::start_again(root, id) {
        Ok(()) => Ok(()),
        Err(e) => {
            give_up(&store, id)?;
            Err(e)
        }
    }
}

/// Sleep `delay` in ticks; false if the container was stopped (or removed) by hand meanwhile.
fn wait_unless_stopped(store: &Store, c: &Container, delay: Duration) -> bool {
    let until = Instant::now() + delay;
    loop {
        if c.stopped_by_hand(store) || !store.dir(&c.id).is_dir() {
            return false;
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(TICK));
    }
}

/// The container stays exited: the record stops saying "restarting" (if it is still ours).
fn give_up(store: &Store, id: &str) -> Result<(), RunError> {
    if let Some(mut c) = load(store, id)? {
        if mine(&c) && c.life.restarting {
            c.life.restarting = false;
            store.save(&c)?;
        }
    }
    Ok(())
}
