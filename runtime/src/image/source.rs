//! Where an image's files come from: a directory (OCI image layout) or a tar archive.
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::digest::read_small;
use super::error::ImageError;

/// Read access to the files of an image by their path inside it ("index.json",
/// "blobs/sha256/<hex>", "manifest.json", ...).
pub(crate) trait Blobs {
    /// The image's own path (layout directory or archive), for errors.
    fn image(&self) -> &Path;

    /// Whether den itself verified these blobs as it wrote them (a pull's downloads): then a
    /// compressed layer is not hashed in a pass of its own before it is unpacked (it still is
    /// while it is).
    fn verified(&self) -> bool {
        false
    }

    /// Opens the file at `path` inside the image; `None` if there is none.
    fn open(&self, path: &str) -> Result<Option<Box<dyn Read + '_>>, ImageError>;

    /// Opens the blob at `path`, which must be there; `blob` names it in errors.
    fn open_blob(&self, path: &str, blob: &str) -> Result<Box<dyn Read + '_>, ImageError> {
        self.open(path)?.ok_or_else(|| ImageError::MissingBlob {
            image: self.image().to_path_buf(),
            blob: blob.to_string(),
        })
    }

    /// Reads a small metadata file whole; `None` if there is none.
    fn read_json_file(&self, path: &str) -> Result<Option<Vec<u8>>, ImageError> {
        match self.open(path)? {
            Some(reader) => read_small(reader, self.image(), path).map(Some),
            None => Ok(None),
        }
    }
}

/// An OCI image layout directory.
pub(crate) struct DirBlobs {
    dir: PathBuf,
    verified: bool,
}

impl DirBlobs {
    pub(crate) fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            verified: false,
        }
    }

    /// Blobs den downloaded and verified itself (`<images>/blobs/sha256/`).
    pub(crate) fn downloaded(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            verified: true,
        }
    }
}

impl Blobs for DirBlobs {
    fn image(&self) -> &Path {
        &self.dir
    }

    fn verified(&self) -> bool {
        self.verified
    }

    /// `path` comes from den itself (fixed names, or `blobs/<alg>/<validated hex>`), never from
    /// the image's JSON, so it cannot climb out of the directory.
    fn open(&self, path: &str) -> Result<Option<Box<dyn Read + '_>>, ImageError> {
        let full = self.dir.join(path);
        match File::open(&full) {
            Ok(file) => Ok(Some(Box::new(file))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ImageError::io(full, e)),
        }
    }
}

/// The blob path of a sha256 digest inside a layout.
pub(crate) fn blob_path(hex: &str) -> String {
    format!("blobs/sha256/{hex}")
}
