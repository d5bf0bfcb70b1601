//! Loaded image names: `<images>/names.json`, rewritten atomically under an flock on
//! `<images>/lock`. Readers take no lock: a rename is atomic.
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use super::error::ImageError;
use super::reference::{same_name, Reference};
use super::ImageConfig;

/// Prefix of a layer that is a rootfs directory outside the store (never removed by den).
pub(crate) const DIR_PREFIX: &str = "dir:";

/// What a name stands for.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct NameEntry {
    /// The config digest ("sha256:..."), or "dir:<path>" for a rootfs directory.
    pub id: String,
    /// Bottom first: "sha256:<hex>" (in the layer store) or "dir:<path>".
    pub layers: Vec<String>,
    pub config: ImageConfig,
    #[serde(default)]
    pub created: Option<String>,
    /// The registry manifest digest it was pulled by (docker's RepoDigests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The image manifest kept in `<images>/blobs/sha256/` with its config and layer blobs (what
    /// push and save send); `None` for an image stored before den kept them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
}

impl NameEntry {
    /// Its config, with what an entry recorded before den kept them lacks (`EXPOSE`d ports,
    /// labels) read from its config blob in `<images>/blobs/sha256/`, when that was kept.
    pub(crate) fn config(&self, images: &Path) -> ImageConfig {
        let mut config = self.config.clone();
        if config.exposed_ports.is_some() && config.labels.is_some() {
            return config;
        }
        let Some(hex) = self.id.strip_prefix("sha256:") else {
            return config;
        };
        let blob = super::kept::blob_dir(images).join(hex);
        let stored = fs::read(&blob)
            .ok()
            .and_then(|b| super::parsed::parse_config(&b, &blob, "config").ok());
        if let Some((from_blob, _, _)) = stored {
            config.exposed_ports = config.exposed_ports.or(from_blob.exposed_ports);
            config.labels = config.labels.or(from_blob.labels);
        }
        config
    }
}

pub(crate) type Names = BTreeMap<String, NameEntry>;

fn names_path(images: &Path) -> PathBuf {
    images.join("names.json")
}

/// The names on record (none if the file does not exist yet).
pub(crate) fn read(images: &Path) -> Result<Names, ImageError> {
    let path = names_path(images);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Names::new()),
        Err(e) => return Err(ImageError::io(path, e)),
    };
    serde_json::from_slice(&bytes).map_err(|source| ImageError::CorruptNames { path, source })
}

/// Replaces the names file: written to a temp file, synced, renamed over.
pub(crate) fn write(images: &Path, names: &Names, _lock: &StoreLock) -> Result<(), ImageError> {
    let path = names_path(images);
    let tmp = images.join(format!("names.json.tmp.{}", std::process::id()));
    let bytes = serde_json::to_vec_pretty(names).map_err(|source| ImageError::CorruptNames {
        path: path.clone(),
        source,
    })?;
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, &path)
    })();
    result.map_err(|e| {
        // Undo: the temp file must not linger; the old names file is untouched.
        let _ = fs::remove_file(&tmp);
        ImageError::io(&path, e)
    })
}

/// The store's exclusive lock, held while names (and the layers they keep) change.
pub(crate) struct StoreLock {
    _lock: Flock<File>,
}

impl StoreLock {
    pub(crate) fn acquire(images: &Path) -> Result<Self, ImageError> {
        let path = images.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| ImageError::io(&path, e))?;
        let lock = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, errno)| ImageError::io(&path, io::Error::from(errno)))?;
        Ok(Self { _lock: lock })
    }
}

/// Finds `reference` among the names: as typed, or as docker normalises both (`busybox` is
/// `docker.io/library/busybox:latest`).
pub(crate) fn lookup<'a>(names: &'a Names, reference: &str) -> Option<(&'a str, &'a NameEntry)> {
    if let Some((k, v)) = names.get_key_value(reference) {
        return Some((k.as_str(), v));
    }
    let full = Reference::parse(reference).ok()?.to_string();
    names
        .iter()
        .find(|(k, _)| same_name(k, &full))
        .map(|(k, v)| (k.as_str(), v))
}

/// The name an image is recorded under: the reference in full (`docker.io/library/x:latest`).
/// A digest is no name (docker refuses to tag one).
pub(crate) fn canonical_name(name: &str) -> Result<Reference, ImageError> {
    let reference = Reference::parse(name)?;
    if reference.digest().is_some() {
        return Err(ImageError::DigestName {
            name: super::error::shorten(name),
        });
    }
    Ok(reference)
}
