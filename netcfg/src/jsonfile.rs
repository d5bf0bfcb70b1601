//! netcfg's small records on disk (a network's leases, the host-port reservations): one JSON file
//! each, read whole, written whole to a temporary name and renamed over the old one, so a reader
//! without the network lock sees the old or the new record, never a torn one. (No fsync: the
//! records matter only while their containers run, which a power loss ends anyway.)

use std::io;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum JsonFileError {
    #[error("read {what} {}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("parse {what} {}", path.display())]
    Parse {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("write {what} {}", path.display())]
    Write {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The record `what` at `path`; the default (empty) one if there is no file yet.
pub(crate) fn load<T: DeserializeOwned + Default>(
    what: &'static str,
    path: &Path,
) -> Result<T, JsonFileError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| JsonFileError::Parse {
            what,
            path: path.into(),
            source,
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(T::default()),
        Err(source) => Err(JsonFileError::Read {
            what,
            path: path.into(),
            source,
        }),
    }
}

/// Replace the record `what` at `path` (creating its directory) with `value`.
pub(crate) fn save<T: Serialize>(
    what: &'static str,
    path: &Path,
    value: &T,
) -> Result<(), JsonFileError> {
    let err = |source| JsonFileError::Write {
        what,
        path: path.into(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut json = serde_json::to_vec_pretty(value).map_err(|e| err(e.into()))?;
    json.push(b'\n');
    let temp = path.with_extension("json.tmp");
    std::fs::write(&temp, json).map_err(err)?;
    std::fs::rename(&temp, path).map_err(err)
}
