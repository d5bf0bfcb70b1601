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

/// A reader that hands what is read through it to a hashing thread of its own (sha256 runs at
/// ~1 GB/s here: inline, it doubled the work of the thread that unpacks a layer). The reading
/// thread only copies, 256 KiB at a time, at most 4 chunks ahead of the hasher.
pub(crate) struct ThreadHashingReader<R> {
    inner: R,
    pending: Vec<u8>,
    tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    hasher: Option<std::thread::JoinHandle<Sha256>>,
    count: u64,
}

const CHUNK: usize = 256 << 10;

impl<R: Read> ThreadHashingReader<R> {
    pub(crate) fn new(inner: R) -> io::Result<Self> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let hasher = std::thread::Builder::new()
            .name("den-sha256".into())
            .spawn(move || {
                let mut h = Sha256::new();
                for chunk in rx {
                    h.update(&chunk);
                }
                h
            })?;
        Ok(Self {
            inner,
            pending: Vec::with_capacity(CHUNK),
            tx: Some(tx),
            hasher: Some(hasher),
            count: 0,
        })
    }

    /// Counts without hashing (no thread): `finish_stream` then returns `None` for the digest.
    pub(crate) fn counting(inner: R) -> Self {
        Self {
            inner,
            pending: Vec::new(),
            tx: None,
            hasher: None,
            count: 0,
        }
    }

    fn send(&mut self) {
        let chunk = std::mem::replace(&mut self.pending, Vec::with_capacity(CHUNK));
        // The hasher only ends when `tx` is dropped, so a send cannot fail while `tx` is here.
        if let Some(tx) = &self.tx {
            let _ = tx.send(chunk);
        }
    }

    /// Reads the rest of the stream, then returns its digest (if hashing) and length.
    pub(crate) fn finish_stream(mut self) -> io::Result<(Option<Sha256Digest>, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        if self.tx.is_some() {
            self.send();
        }
        self.tx = None;
        let digest = match self.hasher.take() {
            Some(hasher) => {
                let h = hasher
                    .join()
                    .map_err(|_| io::Error::other("the sha256 thread panicked"))?;
                Some(Sha256Digest {
                    hex: hex(&h.finalize()),
                })
            }
            None => None,
        };
        Ok((digest, self.count))
    }
}

impl<R: Read> Read for ThreadHashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.tx.is_some() {
            self.pending.extend_from_slice(&buf[..n]);
            if self.pending.len() >= CHUNK {
                self.send();
            }
        }
        self.count += n as u64;
        Ok(n)
    }
}

impl<R> Drop for ThreadHashingReader<R> {
    fn drop(&mut self) {
        // Unfinished (an error on the way): end the hasher and wait for it, so no thread outlives
        // the unpack.
        self.tx = None;
        if let Some(h) = self.hasher.take() {
            let _ = h.join();
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hashing_thread_agrees_with_hashing_inline_whatever_the_read_sizes() {
        // Not a multiple of the chunk, read in odd sizes, and a small tail.
        let data: Vec<u8> = (0..(3 * CHUNK + 12_345))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let want = Sha256Digest::of_bytes(&data);
        let mut r = ThreadHashingReader::new(&data[..]).unwrap();
        let mut buf = [0u8; 1000];
        let mut got = Vec::new();
        while got.len() < 70_001 {
            let n = r.read(&mut buf[..777]).unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        let (digest, count) = r.finish_stream().unwrap();
        assert_eq!(digest, Some(want));
        assert_eq!(count, data.len() as u64);
        let (none, count) = ThreadHashingReader::counting(&data[..])
            .finish_stream()
            .unwrap();
        assert_eq!((none, count), (None, data.len() as u64));
    }

    #[test]
    fn an_unfinished_hashing_reader_ends_its_thread_when_dropped() {
        let (done, ended) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let data = vec![1u8; 2 * CHUNK];
            let mut r = ThreadHashingReader::new(&data[..]).unwrap();
            let mut buf = vec![0u8; CHUNK + 1];
            r.read_exact(&mut buf).unwrap();
            drop(r); // joins the hasher
            done.send(()).unwrap();
        });
        assert!(
            ended
                .recv_timeout(std::time::Duration::from_secs(10))
                .is_ok(),
            "dropping an unfinished reader did not end its hashing thread"
        );
    }
}
