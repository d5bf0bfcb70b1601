//! `--network container:NAME`: the new container joins NAME's network namespace (its
//! interfaces, addresses, routes and lo, the way a pod shares one) while its PID, mount, UTS and
//! IPC namespaces stay its own. No netcfg attach: the network is NAME's.
//!
//! Like docker, it takes NAME's hostname and bind-mounts NAME's very /etc/hostname, /etc/hosts
//! and /etc/resolv.conf files (not copies), so a later update of NAME's files shows in both.
//!
//! The namespace is held open from the check that NAME runs (pidfd + start time) to the clone,
//! and joined through that fd (`/proc/self/fd/N`), so a PID reused meanwhile cannot redirect it.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;

use crate::exec::{load_spec, SpecFileError, Target, TargetError};
use crate::spec::NetNs;
use crate::state::Store;

/// The /etc files a container shares with the one whose network it joins.
const SHARED_FILES: [&str; 3] = ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"];

#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error("conflicting options: port publishing and the container type network mode")]
    Publish,
    #[error("conflicting options: hostname and the network mode")]
    Hostname,
    #[error("cannot join the network of container {0}: it is not running")]
    NotRunning(String),
    #[error(transparent)]
    Target(TargetError),
    #[error(transparent)]
    SpecFile(#[from] SpecFileError),
}

impl From<TargetError> for JoinError {
    fn from(e: TargetError) -> JoinError {
        match e {
            TargetError::NotRunning(name) => JoinError::NotRunning(name),
            other => JoinError::Target(other),
        }
    }
}

/// The running container whose network namespace a new one joins.
#[derive(Debug)]
pub struct JoinedNet {
    hostname: String,
    netns: OwnedFd,
    etc_files: Vec<(PathBuf, String)>,
}

impl JoinedNet {
    /// docker's conflicts for the container network mode: `-p` and `--hostname`.
    pub fn check_options(publish: bool, hostname: bool) -> Result<(), JoinError> {
        if publish {
            return Err(JoinError::Publish);
        }
        if hostname {
            return Err(JoinError::Hostname);
        }
        Ok(())
    }

    /// Pin the network namespace of running container `key` (name or id) and find its files.
    pub fn open(root: &Path, key: &str) -> Result<JoinedNet, JoinError> {
        let store = Store::new(root);
        let target = Target::open(&store, key)?;
        let spec = load_spec(&store.dir(&target.record.id), &target.record.name)?;
        let netns = target.open_proc("ns/net", OFlag::O_RDONLY)?;
        // Its own files, or those it shares itself (it may have joined another's network).
        let etc_files = spec
            .mounts()
            .iter()
            .flatten()
            .filter_map(|m| {
                let dest = m.destination().to_str()?;
                let bind = m.typ().as_deref() == Some("bind");
                (bind && SHARED_FILES.contains(&dest))
                    .then(|| Some((m.source().clone()?, dest.to_owned())))
                    .flatten()
            })
            .collect();
        Ok(JoinedNet {
            hostname: target.record.hostname,
            netns,
            etc_files,
        })
    }

    /// The namespace to join, through den's own fd for it.
    pub fn netns(&self) -> NetNs {
        NetNs::Join(PathBuf::from(format!(
            "/proc/self/fd/{}",
            self.netns.as_raw_fd()
        )))
    }

    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// The other container's /etc files, as (host path, container path) to bind.
    pub fn etc_files(&self) -> Vec<(PathBuf, String)> {
        self.etc_files.clone()
    }
}
