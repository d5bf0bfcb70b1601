//! netcfg's per-entry records on disk (a network's leases, the published host ports): a directory
//! whose entries are symlinks, one per record, the link's name its key and the link's target its
//! value. A symlink is made whole by one `symlink(2)` that fails with EEXIST when the key is taken,
//! and removed by one `unlink(2)`, so a crash leaves each record there or not, never torn, and a
//! reader without the network lock sees each record old or new. A run touches only its own
//! records: O(1) in how many there are, where one JSON file read and rewritten whole was O(N) and
//! its rename made ext4 (`auto_da_alloc`) flush the new file. Writers hold the network lock.
//! (No fsync, as before: the records matter only while their containers run.)

use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("{op} {what} {}", path.display())]
    Io {
        op: &'static str,
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{what} {} holds a value that is not UTF-8", path.display())]
    NotUtf8 { what: &'static str, path: PathBuf },
}

/// One directory of records of one kind (`what` names it in errors).
#[derive(Debug, Clone)]
pub(crate) struct Records {
    dir: PathBuf,
    what: &'static str,
}

impl Records {
    pub(crate) fn new(dir: PathBuf, what: &'static str) -> Self {
        Self { dir, what }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    fn err(&self, op: &'static str, path: PathBuf) -> impl FnOnce(io::Error) -> RecordError {
        let what = self.what;
        move |source| RecordError::Io {
            op,
            what,
            path,
            source,
        }
    }

    /// Make record `key` = `value`; `false` (and nothing changed) if `key` is taken.
    pub(crate) fn claim(&self, key: &str, value: &str) -> Result<bool, RecordError> {
        let path = self.dir.join(key);
        match symlink(value, &path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(self.err("create", path)(e)),
        }
    }

    /// Is `key` taken? (One `lstat`.)
    pub(crate) fn has(&self, key: &str) -> Result<bool, RecordError> {
        let path = self.dir.join(key);
        match fs::symlink_metadata(&path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.err("inspect", path)(e)),
        }
    }

    /// The value of record `key`, if there is one.
    pub(crate) fn get(&self, key: &str) -> Result<Option<String>, RecordError> {
        self.read(self.dir.join(key))
    }

    fn read(&self, path: PathBuf) -> Result<Option<String>, RecordError> {
        match fs::read_link(&path) {
            Ok(target) => match target.into_os_string().into_string() {
                Ok(value) => Ok(Some(value)),
                Err(_) => Err(RecordError::NotUtf8 {
                    what: self.what,
                    path,
                }),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.err("read", path)(e)),
        }
    }

    /// Remove record `key`; `false` if there was none.
    pub(crate) fn remove(&self, key: &str) -> Result<bool, RecordError> {
        let path = self.dir.join(key);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.err("remove", path)(e)),
        }
    }

    /// Point record `key` at `value`, whatever it held.
    pub(crate) fn set(&self, key: &str, value: &str) -> Result<(), RecordError> {
        if self.claim(key, value)? || self.get(key)?.as_deref() == Some(value) {
            return Ok(());
        }
        self.remove(key)?;
        match self.claim(key, value)? {
            true => Ok(()),
            false => Err(self.err("create", self.dir.join(key))(
                io::ErrorKind::AlreadyExists.into(),
            )),
        }
    }

    /// Every record, key -> value, in no particular order (none if the directory does not exist).
    /// An entry that is not a symlink is no record of den's and is skipped.
    pub(crate) fn list(&self) -> Result<Vec<(String, String)>, RecordError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.err("list", self.dir.clone())(e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(self.err("list", self.dir.clone()))?;
            if !entry.file_type().is_ok_and(|t| t.is_symlink()) {
                continue;
            }
            let Ok(key) = entry.file_name().into_string() else {
                continue;
            };
            // Removed since the listing: gone, not an error.
            if let Some(value) = self.read(entry.path())? {
                out.push((key, value));
            }
        }
        Ok(out)
    }
}

/// Is `s` usable as a record's key: one plain path component?
pub(crate) fn plain_key(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\0', '\n']) && s.len() <= 255
}

/// Make directory `dir` whole or not at all: `fill` populates a fresh `<dir>.tmp` (a leftover one
/// is a dead builder's, under the lock the caller holds, and is built again), which is then
/// renamed into place. For a store made from an older record (a migration).
pub(crate) fn build_dir(
    dir: &Path,
    what: &'static str,
    fill: impl FnOnce(&Path) -> io::Result<()>,
) -> Result<(), RecordError> {
    let temp = dir.with_extension("tmp");
    let err = |op, path: &Path| {
        let path = path.to_path_buf();
        move |source| RecordError::Io {
            op,
            what,
            path,
            source,
        }
    };
    match fs::remove_dir_all(&temp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(err("remove", &temp)(e)),
    }
    fs::create_dir_all(&temp).map_err(err("create", &temp))?;
    fill(&temp).map_err(err("fill", &temp))?;
    fs::rename(&temp, dir).map_err(err("rename into place", dir))
}
