//! The blobs each image keeps as distributed: its manifest, config and (compressed) layers in
//! `<images>/blobs/sha256/`, beside the unpacked layers. They are what `den push` sends and
//! `den image save` writes: an unpacked layer cannot give them back (tarring it again would not
//! reproduce its digest or diff_id). containerd keeps its content store the same way.
//!
//! A pull downloads them there and keeps them; a load copies them in (verified as they are
//! copied), writing an OCI manifest for a docker-save archive, which has none. `rmi` and
//! `image prune` remove the blobs no recorded image uses, unless a pull is under way.
use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::Deserialize;

use super::digest::{Expected, HashingReader, Sha256Digest};
use super::error::ImageError;
use super::layers::{make_private_dirs, tmp_name};
use super::names::Names;
use super::parsed::{Parsed, VerifyAt};
use super::source::Blobs;

pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// `<images>/blobs/sha256`.
pub(crate) fn blob_dir(images: &Path) -> PathBuf {
    images.join("blobs/sha256")
}

/// A blob as a manifest lists it.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Desc {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

impl Desc {
    pub(crate) fn hex(&self) -> &str {
        self.digest.trim_start_matches("sha256:")
    }
}

/// An image's kept manifest, read back.
pub(crate) struct Kept {
    pub digest: Sha256Digest,
    pub media_type: String,
    pub bytes: Vec<u8>,
    pub config: Desc,
    pub layers: Vec<Desc>,
}

#[derive(Deserialize)]
struct ManifestJson {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    config: Desc,
    layers: Vec<Desc>,
}

/// Reads the kept manifest `digest` ("sha256:...") of the store at `images`.
pub(crate) fn read(images: &Path, digest: &str) -> Result<Kept, ImageError> {
    let dir = blob_dir(images);
    let digest = Sha256Digest::parse(digest, &dir)?;
    let path = dir.join(digest.hex());
    let bytes = fs::read(&path).map_err(|e| ImageError::io(&path, e))?;
    let m: ManifestJson = serde_json::from_slice(&bytes).map_err(|source| ImageError::Json {
        image: dir.clone(),
        what: format!("manifest {digest}"),
        source,
    })?;
    for d in m.layers.iter().chain([&m.config]) {
        Sha256Digest::parse(&d.digest, &dir)?;
    }
    Ok(Kept {
        digest,
        media_type: m.media_type.unwrap_or_else(|| OCI_MANIFEST.to_string()),
        bytes,
        config: m.config,
        layers: m.layers,
    })
}

/// Copies the blobs of `parsed` from `blobs` into the store (those it lacks), verified as they
/// are copied, and returns the digest of its kept manifest.
pub(crate) fn keep(
    images: &Path,
    blobs: &dyn Blobs,
    parsed: &Parsed,
) -> Result<Sha256Digest, ImageError> {
    let dir = blob_dir(images);
    make_private_dirs(&dir)?;
    make_private_dirs(&images.join("tmp"))?;
    let config = copy(&dir, blobs, &parsed.config_path, Some(&parsed.id))?;
    let mut layers = Vec::with_capacity(parsed.layers.len());
    for layer in &parsed.layers {
        let expected = (layer.verify == VerifyAt::Stored).then_some(&layer.digest);
        layers.push(copy(&dir, blobs, &layer.path, expected)?);
    }
    let raw = match &parsed.manifest {
        Some(raw) => raw.clone(),
        None => written_manifest(&config, &layers),
    };
    store_bytes(&dir, &raw)
}

/// What a blob was copied as.
struct Copied {
    digest: Sha256Digest,
    size: u64,
    gzip: bool,
}

/// An OCI manifest for blobs that came without one (docker-save archives).
fn written_manifest(config: &Copied, layers: &[Copied]) -> Vec<u8> {
    let desc = |media: &str, c: &Copied| serde_json::json!({ "mediaType": media, "digest": c.digest.to_string(), "size": c.size });
    let layers: Vec<serde_json::Value> = layers
        .iter()
        .map(|l| desc(if l.gzip { OCI_LAYER_GZIP } else { OCI_LAYER }, l))
        .collect();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": desc(OCI_CONFIG, config),
        "layers": layers,
    });
    manifest.to_string().into_bytes()
}

/// Copies member `path` of `blobs` to `dir/<its sha256>`, which must be `expected` if given.
fn copy(
    dir: &Path,
    blobs: &dyn Blobs,
    path: &str,
    expected: Option<&Sha256Digest>,
) -> Result<Copied, ImageError> {
    if let Some(digest) = expected {
        let done = dir.join(digest.hex());
        if let Ok(meta) = fs::metadata(&done) {
            return Ok(Copied {
                digest: digest.clone(),
                size: meta.len(),
                gzip: is_gzip(&done),
            });
        }
    }
    let tmp = Tmp(tmp_path(dir));
    let mut out = File::create(&tmp.0).map_err(|e| ImageError::io(&tmp.0, e))?;
    let mut reader = HashingReader::new(blobs.open_blob(path, path)?);
    let mut head = Vec::with_capacity(2);
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| ImageError::io(blobs.image().join(path), e))?;
        if n == 0 {
            break;
        }
        let take = (2 - head.len()).min(n);
        head.extend_from_slice(&buf[..take]);
        out.write_all(&buf[..n])
            .map_err(|e| ImageError::io(&tmp.0, e))?;
    }
    let (digest, size) = reader
        .finish()
        .map_err(|e| ImageError::io(blobs.image().join(path), e))?;
    if let Some(want) = expected {
        Expected {
            image: blobs.image(),
            digest: want,
            size: None,
        }
        .check(&digest, size)?;
    }
    let done = dir.join(digest.hex());
    out.sync_all().map_err(|e| ImageError::io(&tmp.0, e))?;
    fs::rename(&tmp.0, &done).map_err(|e| ImageError::io(&done, e))?;
    Ok(Copied {
        digest,
        size,
        gzip: head == [0x1f, 0x8b],
    })
}

fn is_gzip(path: &Path) -> bool {
    let mut head = [0u8; 2];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && head == [0x1f, 0x8b]
}

/// A temp file in `<images>/tmp/` (`dir` is `<images>/blobs/sha256`), named as gc sweeps a
/// dead writer's: `blob.PID.N`.
fn tmp_path(dir: &Path) -> PathBuf {
    let images = dir.parent().and_then(Path::parent).unwrap_or(dir);
    images.join("tmp").join(tmp_name("blob"))
}

/// A temp file removed on drop unless renamed away (then the remove finds nothing).
struct Tmp(PathBuf);

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Stores small `bytes` (a manifest) under their digest.
fn store_bytes(dir: &Path, bytes: &[u8]) -> Result<Sha256Digest, ImageError> {
    let digest = Sha256Digest::of_bytes(bytes);
    let done = dir.join(digest.hex());
    let tmp = Tmp(tmp_path(dir));
    fs::write(&tmp.0, bytes)
        .and_then(|()| fs::rename(&tmp.0, &done))
        .map_err(|e| ImageError::io(&done, e))?;
    Ok(digest)
}

/// The blobs (hex) the recorded images use: their manifests (and the index pulled by), configs
/// and layers.
fn used(images: &Path, names: &Names) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for entry in names.values() {
        for d in entry.digest.iter().chain(&entry.manifest) {
            used.insert(d.trim_start_matches("sha256:").to_string());
        }
        let Some(kept) = entry.manifest.as_ref().and_then(|m| read(images, m).ok()) else {
            continue;
        };
        for d in kept.layers.iter().chain([&kept.config]) {
            used.insert(d.hex().to_string());
        }
    }
    used
}

/// Removes the kept blobs no recorded image uses (not a pull's partial downloads). The caller
/// holds the guard exclusively: no pull is under way that may be about to record them.
/// Returns the bytes removed.
pub(crate) fn sweep(images: &Path, names: &Names, _quiet: &PullGuard) -> Result<u64, ImageError> {
    let used = used(images, names);
    let mut bytes = 0;
    let dir = blob_dir(images);
    for e in fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if Sha256Digest::from_hex(&name).is_none() || used.contains(&name) {
            continue;
        }
        let size = e.metadata().map_or(0, |m| m.len());
        match fs::remove_file(e.path()) {
            Ok(()) => bytes += size,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(ImageError::io(e.path(), err)),
        }
    }
    Ok(bytes)
}

/// `<images>/blobs.lock`: shared by every pull from its first download to its recorded name,
/// exclusive while unused layers and blobs are removed (`rmi`, `image prune`), which leave them
/// for a later prune while a pull runs: the pull may be about to record them.
pub(crate) struct PullGuard {
    _lock: Flock<File>,
}

impl PullGuard {
    fn open(images: &Path) -> Result<File, ImageError> {
        let path = images.join("blobs.lock");
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| ImageError::io(&path, e))
    }

    /// Held by a pull.
    pub(crate) fn shared(images: &Path) -> Result<Self, ImageError> {
        let lock = Flock::lock(Self::open(images)?, FlockArg::LockShared)
            .map_err(|(_, e)| ImageError::io(images.join("blobs.lock"), io::Error::from(e)))?;
        Ok(Self { _lock: lock })
    }

    /// `None` while a pull holds it.
    pub(crate) fn exclusive(images: &Path) -> Result<Option<Self>, ImageError> {
        match Flock::lock(Self::open(images)?, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => Ok(Some(Self { _lock: lock })),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(None),
            Err((_, e)) => Err(ImageError::io(
                images.join("blobs.lock"),
                io::Error::from(e),
            )),
        }
    }
}
