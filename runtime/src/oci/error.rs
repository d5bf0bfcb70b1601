//! Errors of the OCI verbs: each names its culprit in one line (the front prints it to stderr and
//! to `--log` as runc does).

use std::io;
use std::path::PathBuf;

use nix::errno::Errno;

use crate::cgroups::CgroupError;
use crate::lifecycle::LifecycleError;
use crate::process::ProcessError;

#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error("cannot read the bundle's config {path}")]
    NoConfig {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the bundle's config {path} is not a valid OCI spec")]
    BadConfig {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("unsupported ociVersion {version:?} (den reads 1.x)")]
    Version { version: String },
    #[error("{field} is not supported by den")]
    Unsupported { field: &'static str },
    #[error("invalid container id {id:?}: use letters, digits and _+-.")]
    BadId { id: String },
    #[error("container {id} already exists")]
    Exists { id: String },
    #[error("container {id} does not exist")]
    NotFound { id: String },
    #[error("cannot start container {id}: it is {status}, not created")]
    NotCreated { id: String, status: String },
    #[error("container {id} is not running")]
    NotRunning { id: String },
    #[error("cannot delete container {id}: it is {status} (use --force)")]
    StillRunning { id: String, status: String },
    #[error("{path} (linux.namespaces) is not a namespace")]
    NotNamespace { path: PathBuf },
    #[error("process.terminal needs --console-socket when the runtime detaches")]
    NoConsoleSocket,
    #[error("cannot send the terminal to the console socket {path}")]
    Console {
        path: PathBuf,
        #[source]
        source: Errno,
    },
    #[error("{kind} hook {path} could not be run")]
    HookSpawn {
        kind: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{kind} hook {path} failed: {status}")]
    HookFailed {
        kind: &'static str,
        path: PathBuf,
        status: String,
    },
    #[error("cannot signal container {id} (pid {pid})")]
    Kill {
        id: String,
        pid: i32,
        #[source]
        source: Errno,
    },
    #[error("{what} {path}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Process(#[from] ProcessError),
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    #[error(transparent)]
    Signal(#[from] LifecycleError),
}

impl OciError {
    pub(crate) fn io(
        what: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> OciError {
        let path = path.into();
        move |source| OciError::Io { what, path, source }
    }
}
