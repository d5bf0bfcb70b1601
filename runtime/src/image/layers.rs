//! The content-addressed store of unpacked layers: `<images>/layers/sha256/<hex>/`, each made in
//! `<images>/tmp/` and renamed into place only once complete and verified.
use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::read::MultiGzDecoder;

use super::digest::{Expected, HashingReader, Sha256Digest, ThreadHashingReader};
use super::error::ImageError;
use super::parsed::{Compression, LayerBlob, VerifyAt};
use super::source::Blobs;
use super::unpack::unpack_tar;

/// Hex digits of a layer's short link name.
const SHORT: usize = 16;

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

pub(crate) struct LayerStore {
    root: PathBuf,
}

impl LayerStore {
    /// `images` is `<state root>/images`.
    pub(crate) fn new(images: &Path) -> Self {
        Self {
            root: images.to_path_buf(),
        }
    }

    /// Where layer `digest` is (or would be) unpacked.
    pub(crate) fn path(&self, digest: &Sha256Digest) -> PathBuf {
        self.root.join("layers").join("sha256").join(digest.hex())
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// The short name of layer `key` for overlayfs: `<images>/l/<16 hex>`, a symlink to its
    /// directory (docker's overlay2 does the same), so that 125 layers fit in one mount's options.
    pub(crate) fn link(&self, key: &Sha256Digest) -> PathBuf {
        self.root.join("l").join(&key.hex()[..SHORT])
    }

    /// The layer's short link, made if it is missing; `None` if the layer itself is missing.
    pub(crate) fn lower(&self, key: &Sha256Digest) -> Result<Option<PathBuf>, ImageError> {
        let link = self.link(key);
        if link.is_dir() {
            return Ok(Some(link));
        }
        if !self.path(key).is_dir() {
            return Ok(None);
        }
        make_private_dirs(&self.root.join("l"))?;
        make_private_dirs(&self.tmp_dir())?;
        // Made under a temp name (swept by gc if den dies here) and renamed over: never half
        // there, and racing makers agree.
        let tmp = self.tmp_dir().join(tmp_name(&key.hex()[..SHORT]));
        let target = Path::new("../layers/sha256").join(key.hex());
        std::os::unix::fs::symlink(&target, &tmp)
            .and_then(|()| fs::rename(&tmp, &link))
            .map_err(|e| {
                let _ = fs::remove_file(&tmp);
                ImageError::io(&link, e)
            })?;
        Ok(Some(link))
    }

    /// Layer `key` (the chain of digests up to this layer: its tree depends on the layers below)
    /// as an overlayfs lower dir, unpacking `layer` from `blobs` first if the store lacks it.
    /// `lowers` are the image's layers below it, TOP first.
    pub(crate) fn ensure(
        &self,
        blobs: &dyn Blobs,
        layer: &LayerBlob,
        key: &Sha256Digest,
        lowers: &[PathBuf],
    ) -> Result<PathBuf, ImageError> {
        if let Some(link) = self.lower(key)? {
            return Ok(link);
        }
        let dest = self.path(key);
        let parent = dest.parent().unwrap_or(&self.root);
        make_private_dirs(parent)?;
        make_private_dirs(&self.tmp_dir())?;
        let tmp = TempDir::create(&self.tmp_dir(), key.hex())?;
        fs::set_permissions(&tmp.path, fs::Permissions::from_mode(0o755))
            .map_err(|e| ImageError::io(&tmp.path, e))?;
        unpack_verified(blobs, layer, &tmp.path, lowers)?;
        match fs::rename(&tmp.path, &dest) {
            Ok(()) => tmp.keep(),
            // Someone else finished the same layer first: use theirs (tmp is removed on drop).
            Err(e) if is_exists(&e) && dest.is_dir() => {}
            Err(e) => return Err(ImageError::io(&dest, e)),
        }
        self.lower(key)?
            .ok_or_else(|| ImageError::io(&dest, io::Error::from_raw_os_error(libc::ENOENT)))
    }

    /// Removes layer `digest`: renamed out of place first, so it never looks half there.
    pub(crate) fn remove(&self, digest: &Sha256Digest) -> Result<(), ImageError> {
        let link = self.link(digest);
        if let Err(e) = fs::remove_file(&link) {
            if e.kind() != io::ErrorKind::NotFound {
                return Err(ImageError::io(&link, e));
            }
        }
        let dest = self.path(digest);
        if !dest.exists() {
            return Ok(());
        }
        make_private_dirs(&self.tmp_dir())?;
        let doomed = self
            .tmp_dir()
            .join(tmp_name(&format!("rm-{}", digest.hex())));
        fs::rename(&dest, &doomed).map_err(|e| ImageError::io(&dest, e))?;
        fs::remove_dir_all(&doomed).map_err(|e| ImageError::io(&doomed, e))
    }

    /// Removes what crashed den processes left in `tmp/` (their pid is gone). Best effort: a
    /// leftover costs only disk space, so failures here are not errors.
    pub(crate) fn clean_stale(&self) {
        let Ok(entries) = fs::read_dir(self.tmp_dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let pid = name.split('.').nth(1).and_then(|p| p.parse::<u32>().ok());
            if let Some(pid) = pid {
                if !Path::new(&format!("/proc/{pid}")).exists() {
                    let _ = fs::remove_dir_all(entry.path());
                }
            }
        }
    }
}

fn is_exists(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EEXIST) | Some(libc::ENOTEMPTY))
}

/// Creates `dir` and its missing parents, readable by root only: layers hold setuid binaries
/// that other users must not reach.
pub(crate) fn make_private_dirs(dir: &Path) -> Result<(), ImageError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| ImageError::io(dir, e))
}

/// `<prefix>.<pid>.<n>`: unique in this process, and tells `clean_stale` whose it is.
pub(crate) fn tmp_name(prefix: &str) -> String {
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}.{}.{n}", std::process::id())
}

/// A directory removed on drop unless kept.
struct TempDir {
    path: PathBuf,
    keep: bool,
}

impl TempDir {
    fn create(parent: &Path, prefix: &str) -> Result<Self, ImageError> {
        let path = parent.join(tmp_name(prefix));
        fs::create_dir(&path).map_err(|e| ImageError::io(&path, e))?;
        Ok(Self { path, keep: false })
    }

    fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep {
            // Nothing to report to: a leftover is only disk space, removed by clean_stale.
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// Unpacks `layer` into `dest` while hashing it; a digest mismatch wins over an unpack error
/// (a corrupt blob usually also fails to unpack, and the mismatch is the real cause). Never more
/// than the descriptor's size is read, and a compressed blob is verified whole BEFORE it is
/// decompressed: a gzip bomb under a wrong digest costs a read, never gigabytes written.
fn unpack_verified(
    blobs: &dyn Blobs,
    layer: &LayerBlob,
    dest: &Path,
    lowers: &[PathBuf],
) -> Result<(), ImageError> {
    let image = blobs.image();
    let expected = Expected {
        image,
        digest: &layer.digest,
        size: layer.size,
    };
    // A blob den hashed itself as it downloaded it (and only then renamed into the store) is not
    // hashed a second time while it is unpacked: it is counted, so its size is still checked.
    let rehash = !(blobs.verified() && layer.verify == VerifyAt::Stored);
    let open = || -> Result<BufReader<HashingReader<Box<dyn Read + '_>>>, ImageError> {
        let blob = blobs.open_blob(&layer.path, &layer.digest.to_string())?;
        // One byte past the size is enough to tell "too long".
        let blob: Box<dyn Read + '_> = match layer.size {
            Some(size) => Box::new(blob.take(size.saturating_add(1))),
            None => blob,
        };
        let blob = match rehash {
            true => HashingReader::new(blob),
            false => HashingReader::counting(blob),
        };
        Ok(BufReader::with_capacity(256 << 10, blob))
    };
    let mut stored = open()?;
    let name = layer.digest.to_string();
    let compression = match layer.compression {
        Compression::Sniff => sniff(&mut stored).map_err(|e| ImageError::io(image, e))?,
        known => Some(known),
    };
    let check_stored = |stored: BufReader<HashingReader<Box<dyn Read + '_>>>| {
        let (got, size) = stored
            .into_inner()
            .finish_stream()
            .map_err(|e| ImageError::io(image.join(&layer.path), e))?;
        match got {
            Some(got) => expected.check(&got, size),
            None => expected.check_size(size),
        }
    };
    let gzip = compression == Some(Compression::Gzip);
    if layer.verify == VerifyAt::Stored && gzip && !blobs.verified() {
        check_stored(stored)?;
        stored = open()?;
    }
    let outcome = match compression {
        Some(compression) => {
            let to = Dest { dir: dest, lowers };
            // A plain tar's stored digest already covers what is unpacked.
            let diff_id = layer
                .diff_id
                .as_ref()
                .filter(|d| !(compression == Compression::Tar && **d == layer.digest));
            unpack_stream(
                &mut stored,
                compression,
                layer.verify,
                diff_id,
                &expected,
                &to,
            )
        }
        None => Err(ImageError::UnsupportedMediaType {
            image: image.to_path_buf(),
            blob: name.clone(),
            kind: "layer",
            media_type: "zstd-compressed tar".to_string(),
        }),
    };
    if layer.verify == VerifyAt::Stored {
        check_stored(stored)?;
    }
    outcome
}

/// Peeks at the first bytes: Some(Tar | Gzip), or None for zstd.
fn sniff(reader: &mut impl BufRead) -> io::Result<Option<Compression>> {
    let head = reader.fill_buf()?;
    Ok(if head.starts_with(GZIP_MAGIC) {
        Some(Compression::Gzip)
    } else if head.starts_with(ZSTD_MAGIC) {
        None
    } else {
        Some(Compression::Tar)
    })
}

/// Where a layer is unpacked, and the layers below it (TOP first).
struct Dest<'a> {
    dir: &'a Path,
    lowers: &'a [PathBuf],
}

/// `diff_id`: what the uncompressed tar of a layer verified as stored must hash to as well.
fn unpack_stream(
    stored: &mut impl Read,
    compression: Compression,
    verify: VerifyAt,
    diff_id: Option<&Sha256Digest>,
    expected: &Expected<'_>,
    dest: &Dest<'_>,
) -> Result<(), ImageError> {
    let tar: Box<dyn Read + '_> = match compression {
        Compression::Gzip => Box::new(MultiGzDecoder::new(stored)),
        Compression::Tar | Compression::Sniff => Box::new(stored),
    };
    let mut tar = match (verify, diff_id) {
        (VerifyAt::Uncompressed, _) | (VerifyAt::Stored, Some(_)) => {
            ThreadHashingReader::new(tar).map_err(|e| ImageError::io(dest.dir, e))?
        }
        (VerifyAt::Stored, None) => ThreadHashingReader::counting(tar),
    };
    let name = expected.digest.to_string();
    let unpacked = unpack_tar(&mut tar, dest.dir, &name, dest.lowers);
    // Read to the end either way: the digest covers the whole stream.
    let finished = tar.finish_stream();
    if let (VerifyAt::Stored, Some(want), Ok((Some(got), _))) = (verify, diff_id, &finished) {
        if got != want {
            return Err(ImageError::DiffIdMismatch {
                image: expected.image.to_path_buf(),
                blob: expected.digest.to_string(),
                want: want.to_string(),
                got: got.to_string(),
            });
        }
    }
    if verify == VerifyAt::Uncompressed {
        match finished {
            Ok((got, size)) => {
                // `tar` hashes when verifying the uncompressed stream, so `got` is there.
                if let Some(got) = got {
                    let uncompressed = Expected {
                        size: None,
                        ..*expected
                    };
                    uncompressed.check(&got, size)?;
                }
            }
            Err(source) if unpacked.is_ok() => {
                return Err(ImageError::Unpack {
                    layer: name,
                    entry: "(end of layer)".to_string(),
                    source,
                })
            }
            Err(_) => {} // the unpack error says more
        }
    }
    unpacked
}
