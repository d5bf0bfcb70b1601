//! sha256 digests: parsing, hashing while streaming, and verifying small blobs.
use std::fmt;
use std::io::{self, Read};
use std::path::Path;

use oci_spec::image::{Digest, DigestAlgorithm};
use sha2::{Digest as _, Sha256};

use super::error::ImageError;

/// Small JSON blobs (index, manifest, config) larger than this are refused.
const MAX_SMALL_BLOB: u64 = 16 << 20;

/// A sha256 digest, the only algorithm den stores layers under.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Sha256Digest {
    hex: String,
}

impl Sha256Digest {
    /// From an OCI descriptor's digest; `image` names the image in errors.
    pub(crate) fn from_oci(digest: &Digest, image: &Path) -> Result<Self, ImageError> {
        match digest.algorithm() {
            DigestAlgorithm::Sha256 => Ok(Self {
                hex: digest.digest().to_string(),
            }),
            other => Err(ImageError::BadDigest {
                image: image.to_path_buf(),
                blob: digest.to_string(),
                reason: format!("unsupported algorithm {other} (den supports sha256)"),
            }),
        }
    }

    /// From "sha256:<64 lowercase hex>".
    pub(crate) fn parse(s: &str, image: &Path) -> Result<Self, ImageError> {
        let digest = Digest::try_from(s).map_err(|e| ImageError::BadDigest {
            image: image.to_path_buf(),
            blob: s.to_string(),
            reason: e.to_string(),
        })?;
        Self::from_oci(&digest, image)
    }

    /// From 64 lowercase hex characters, if `hex` is that.
    pub(crate) fn from_hex(hex: &str) -> Option<Self> {
        let ok = hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        ok.then(|| Self {
            hex: hex.to_string(),
        })
    }

    pub(crate) fn hex(&self) -> &str {
        &self.hex
    }

    pub(crate) fn of_bytes(bytes: &[u8]) -> Self {
        Self {
            hex: hex(&Sha256::digest(bytes)),
        }
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A reader that hashes (sha256) and counts everything read through it.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Option<Sha256>,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Some(Sha256::new()),
            count: 0,
        }
    }

    /// Counts without hashing: `finish` then returns `None` for the digest.
    pub(crate) fn counting(inner: R) -> Self {
        Self {
            inner,
            hasher: None,
            count: 0,
        }
    }

    /// Reads the rest of the stream, then returns its digest (if hashing) and length.
    pub(crate) fn finish_stream(mut self) -> io::Result<(Option<Sha256Digest>, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        let digest = self.hasher.map(|h| Sha256Digest {
            hex: hex(&h.finalize()),
        });
        Ok((digest, self.count))
    }

    /// Reads the rest of the stream, then returns its digest and length.
    pub(crate) fn finish(self) -> io::Result<(Sha256Digest, u64)> {
        match self.finish_stream()? {
            (Some(digest), count) => Ok((digest, count)),
            (None, _) => Err(io::Error::other("finish() called on a counting reader")),
        }
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(hasher) = &mut self.hasher {
            hasher.update(&buf[..n]);
        }
        self.count += n as u64;
        Ok(n)
    }
}

/// What a blob must hash to (and, if known, its size).
pub(crate) struct Expected<'a> {
    pub image: &'a Path,
    pub digest: &'a Sha256Digest,
    pub size: Option<u64>,
}

impl Expected<'_> {
    /// Checks what was read against what was expected.
    pub(crate) fn check(&self, got: &Sha256Digest, got_size: u64) -> Result<(), ImageError> {
        self.check_size(got_size)?;
        if got != self.digest {
            return Err(ImageError::DigestMismatch {
                image: self.image.to_path_buf(),
                blob: self.digest.to_string(),
                got: got.to_string(),
            });
        }
        Ok(())
    }

    /// Only the size (where it is known): for a blob whose digest den verified before.
    pub(crate) fn check_size(&self, got_size: u64) -> Result<(), ImageError> {
        match self.size {
            Some(size) if size != got_size => Err(ImageError::SizeMismatch {
                image: self.image.to_path_buf(),
                blob: self.digest.to_string(),
                expected: size,
                got: got_size,
            }),
            _ => Ok(()),
        }
    }

    /// Reads a small blob whole and verifies it.
    pub(crate) fn read_small(&self, reader: impl Read) -> Result<Vec<u8>, ImageError> {
        let bytes = read_small(reader, self.image, &self.digest.to_string())?;
        self.check(&Sha256Digest::of_bytes(&bytes), bytes.len() as u64)?;
        Ok(bytes)
    }
}

/// Reads a small JSON file whole (refusing anything over 16 MiB); `what` names it in errors.
pub(crate) fn read_small(
    reader: impl Read,
    image: &Path,
    what: &str,
) -> Result<Vec<u8>, ImageError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_SMALL_BLOB + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ImageError::io(image.join(what), e))?;
    if bytes.len() as u64 > MAX_SMALL_BLOB {
        return Err(ImageError::BadImage {
            image: image.to_path_buf(),
            reason: format!("{what} is larger than {MAX_SMALL_BLOB} bytes"),
        });
    }
    Ok(bytes)
}
