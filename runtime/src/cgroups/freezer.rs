//! `den pause`/`den unpause`: the container's freezer, v1's `freezer.state` (FROZEN/THAWED) or
//! v2's `cgroup.freeze` (1/0, done when `cgroup.events` says `frozen 1`). The kernel stops every
//! task of the cgroup; nothing in the container can notice or prevent it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Layout, Planned};

#[derive(Debug, thiserror::Error)]
pub enum FreezerError {
    #[error("the container has no freezer cgroup (made before den kept one, or no freezer hierarchy is mounted)")]
    NoFreezer,
    #[error("writing {value:?} to {path}")]
    Write {
        path: PathBuf,
        value: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("the cgroup {0} did not settle within 5 seconds")]
    Timeout(PathBuf),
}

/// The freezer's control file of the container whose dir is `container_dir`, and its values.
struct Control {
    file: PathBuf,
    /// What to write, and what the state file says once done (v2: a line of cgroup.events).
    frozen: (&'static str, &'static str),
    thawed: (&'static str, &'static str),
    state: PathBuf,
}

fn control(container_dir: &Path) -> Result<Control, FreezerError> {
    let planned = Planned::load(container_dir).ok_or(FreezerError::NoFreezer)?;
    if planned.v2 {
        let dir = planned.dirs.first().ok_or(FreezerError::NoFreezer)?;
        return Ok(Control {
            file: dir.join("cgroup.freeze"),
            frozen: ("1", "frozen 1"),
            thawed: ("0", "frozen 0"),
            state: dir.join("cgroup.events"),
        });
    }
    let layout = Layout::detect().map_err(|_| FreezerError::NoFreezer)?;
    let mount = &layout.v1("freezer").ok_or(FreezerError::NoFreezer)?.mount;
    let dir = planned
        .dirs
        .iter()
        .find(|d| d.starts_with(mount))
        .ok_or(FreezerError::NoFreezer)?;
    let file = dir.join("freezer.state");
    Ok(Control {
        state: file.clone(),
        file,
        frozen: ("FROZEN", "FROZEN"),
        thawed: ("THAWED", "THAWED"),
    })
}

fn settled(state: &Path, want: &str) -> bool {
    fs::read_to_string(state).is_ok_and(|s| s.lines().any(|l| l.trim() == want))
}

/// Freeze (`frozen`) or thaw every task of the container whose dir is `container_dir`; returns
/// once the kernel says it is done.
pub fn set_frozen(container_dir: &Path, frozen: bool) -> Result<(), FreezerError> {
    let c = control(container_dir)?;
    let (value, want) = if frozen { c.frozen } else { c.thawed };
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        // v1 may stay FREEZING while tasks are busy: writing again retries, as runc does.
        fs::write(&c.file, value).map_err(|source| FreezerError::Write {
            path: c.file.clone(),
            value,
            source,
        })?;
        if settled(&c.state, want) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(FreezerError::Timeout(c.file));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Is the container whose dir is `container_dir` frozen (false if it has no freezer)?
pub fn is_frozen(container_dir: &Path) -> bool {
    control(container_dir).is_ok_and(|c| settled(&c.state, c.frozen.1))
}
