//! The JSON records of an older den (a network's `leases.json`, `networks/ports.json`), read once
//! to convert them into [`crate::records`] stores.

use std::io;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

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
