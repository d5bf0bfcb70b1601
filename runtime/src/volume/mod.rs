//! Data in and out of containers: docker's `-v`, `--mount`, `--tmpfs`, `--volumes-from`, the local
//! volume store (`<root>/volumes/NAME/_data`, as docker's local driver) and seeding a new volume
//! from the image.
//!
//! - `parse`: the flags' grammar and docker's rules, before anything exists (step 1 of `den run`);
//! - `store`: named and anonymous volumes on disk, which containers use them, removal, prune;
//! - `points`: the requests made real at step 2 (volumes created, `-v` host dirs made) into the
//!   container's `mounts.json`, each creation undone if the start fails; their OCI mounts;
//! - `seed`: a new volume filled from the image's content at its path, owners, modes and xattrs
//!   kept, read through a private mount namespace (nothing in the host's mount table);
//! - `copy`: the fd-based tree copy `seed` uses, never following a symlink;
//! - `cp`, `tarball`, `stopped`: `den cp`, its tar streams, a stopped container's filesystem.

mod copy;
mod cp;
mod parse;
mod points;
mod seed;
mod stopped;
mod store;
mod tarball;

use std::fmt;
use std::io;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use cp::{copy, CpError, CpRequest, End};
pub use parse::MountRequest;
pub use parse::{parse_mount, parse_tmpfs, parse_volume, parse_volumes_from, valid_volume_name};
pub use points::{
    apply_to_spec, check_propagation, load, mounts_of, prepare, MountPoint, Mounts, Origin,
    Prepared,
};
pub use seed::seed;
pub use store::{Volume, VolumeStore};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    Bind,
    Volume,
    Tmpfs,
}

impl fmt::Display for MountKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MountKind::Bind => "bind",
            MountKind::Volume => "volume",
            MountKind::Tmpfs => "tmpfs",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// A flag docker would refuse, in docker's words.
    #[error("{message}")]
    Spec { message: String },
    #[error("get {0}: no such volume")]
    NotFound(String),
    #[error("remove {name}: volume is in use - [{}]", users.join(", "))]
    InUse { name: String, users: Vec<String> },
    #[error("path {source_path} is mounted on {mount_point} but it is not a {needed} mount")]
    NotShared {
        source_path: PathBuf,
        mount_point: PathBuf,
        needed: &'static str,
    },
    #[error("--volumes-from {0}: no such container")]
    NoSuchContainer(String),
    #[error("{what} {path}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("seeding volume {name} from the image's {path}")]
    Seed {
        name: String,
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{what} {path}")]
    Corrupt {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl VolumeError {
    fn io(what: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> VolumeError {
        let path = path.into();
        move |source| VolumeError::Io { what, path, source }
    }
}
