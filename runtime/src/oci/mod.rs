//! The OCI runtime lifecycle (runc's verbs) on den's process code: `create` clones the container
//! through [`process::spawn`](crate::process::spawn) and leaves it set up and waiting at an exec
//! fifo; `start` releases it; `state`, `kill`, `delete` read and act on the record in
//! `ROOT/ID/state.json`. The runtime binary exits after each verb: the engine (conmon, the
//! containerd shim) is the container's parent.
//!
//! ```text
//! create  bundle -> spec; ROOT/ID (the id's reservation), exec.fifo, cgroup
//!         spawn -> Ready:   into the cgroup, oomScoreAdj; prestart + createRuntime hooks
//!         Go -> Mounted:    createContainer hooks (in its mount namespace)
//!         Go -> Created:    console socket gets the pty; state.json, pid file; exit
//! start   startContainer hooks (in its namespaces); one byte into exec.fifo; poststart hooks
//! delete  (--force: SIGKILL and wait) poststop hooks; cgroup and ROOT/ID removed
//! ```

mod bundle;
mod console;
mod create;
mod devices;
mod error;
mod exec;
mod freezer;
mod hooks;
mod record;
mod verbs;

pub use bundle::{load_bundle, Bundle};
pub use create::{create, run, CreateOptions};
pub use error::OciError;
pub use exec::{exec, process_for, read_process, ExecOptions};
pub use freezer::set_frozen;
pub use record::{list, load, OciStatus, Record};
pub use verbs::{delete, kill, pids, start};

use std::path::{Path, PathBuf};

/// The OCI spec versions den reads (major 1).
pub const OCI_VERSION: &str = "1.0.2";

/// `ROOT/ID`, after checking the id is one path component of sane characters (runc's rule).
pub fn container_dir(root: &Path, id: &str) -> Result<PathBuf, OciError> {
    let ok = !id.is_empty()
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+-.".contains(c));
    if !ok {
        return Err(OciError::BadId { id: id.to_owned() });
    }
    Ok(root.join(id))
}

/// The exec fifo of a container dir.
pub(crate) fn fifo(dir: &Path) -> PathBuf {
    dir.join("exec.fifo")
}
