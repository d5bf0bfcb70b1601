//! The network lock: one exclusive flock on <state root>/net.lock serialises IPAM and firewall changes
//! across parallel `den` processes. The kernel drops a flock when its holder dies, so a dead holder never
//! blocks anyone.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

/// A failure to take the network lock.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("create state directory {path}")]
    CreateRoot { path: PathBuf, source: io::Error },
    #[error("open lock file {path}")]
    Open { path: PathBuf, source: io::Error },
    #[error("lock {path}")]
    Lock { path: PathBuf, source: Errno },
}

/// Proof that this process holds the network lock of one state root; released on drop.
#[derive(Debug)]
pub struct NetLock {
    _flock: Flock<File>,
    state_root: PathBuf,
}

impl NetLock {
    /// Blocks until this process holds the exclusive lock on `<state_root>/net.lock` (creating the directory
    /// and the file if needed).
    pub fn acquire(state_root: &Path) -> Result<Self, LockError> {
        std::fs::create_dir_all(state_root).map_err(|source| LockError::CreateRoot {
            path: state_root.to_owned(),
            source,
        })?;
        let path = state_root.join("net.lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|source| LockError::Open {
                path: path.clone(),
                source,
            })?;
        let flock = loop {
            match Flock::lock(file, FlockArg::LockExclusive) {
                Ok(flock) => break flock,
                Err((back, Errno::EINTR)) => file = back,
                Err((_, source)) => return Err(LockError::Lock { path, source }),
            }
        };
        Ok(Self {
            _flock: flock,
            state_root: state_root.to_owned(),
        })
    }

    /// The state root whose lock this is.
    pub fn state_root(&self) -> &Path {
        &self.state_root
    }
}
