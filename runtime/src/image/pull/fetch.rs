//! One blob from the registry to `<images>/blobs/sha256/<hex>`: streamed to `<hex>.partial`
//! under an flock (two pulls of one blob share the work), hashed as it arrives, never past its
//! stated size, resumed with a byte range where a killed pull stopped, and renamed into place
//! only once its digest is right. A wrong blob leaves nothing behind.
use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

use super::remote::Remote;
use futures::StreamExt;
use nix::fcntl::{Flock, FlockArg};
use oci_client::client::BlobResponse;
use oci_client::manifest::OciDescriptor;
use oci_client::Reference as OciRef;
use sha2::{Digest as _, Sha256};

use crate::image::digest::{Expected, Sha256Digest};
use crate::image::error::ImageError;

/// Progress is reported every this many bytes.
const REPORT_EVERY: u64 = 1 << 20;

/// docker's per-layer states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    AlreadyExists,
    /// To be downloaded (docker's `Pulling fs layer`).
    Waiting,
    /// To be downloaded once one of the 3 running downloads ends (docker's `Waiting`).
    Queued,
    /// A killed pull's partial download is continued from byte `at`.
    Resuming {
        at: u64,
    },
    Downloading {
        done: u64,
        total: u64,
    },
    Verifying,
    DownloadComplete,
    Extracting,
    PullComplete,
}

/// One layer's progress: its short id (12 hex, as docker shows it) and state.
#[derive(Clone, Debug)]
pub struct Event {
    pub id: String,
    pub status: Status,
}

impl Event {
    pub(crate) fn new(digest: &Sha256Digest, status: Status) -> Self {
        Self {
            id: digest.hex()[..12].to_string(),
            status,
        }
    }
}

/// Stores small `bytes` (a manifest) under their own digest, which must be `expected` if given.
pub(crate) fn store_small(
    dir: &Path,
    bytes: &[u8],
    expected: Option<&str>,
) -> Result<Sha256Digest, ImageError> {
    let got = Sha256Digest::of_bytes(bytes);
    if let Some(expected) = expected {
        let want = Sha256Digest::parse(expected, dir)?;
        Expected {
            image: dir,
            digest: &want,
            size: None,
        }
        .check(&got, bytes.len() as u64)?;
    }
    let path = dir.join(got.hex());
    let tmp = dir.join(format!("{}.tmp.{}", got.hex(), std::process::id()));
    fs::write(&tmp, bytes)
        .and_then(|()| fs::rename(&tmp, &path))
        .map_err(|e| {
            let _ = fs::remove_file(&tmp);
            ImageError::io(&path, e)
        })?;
    Ok(got)
}

/// Downloads blob `desc` of `image` into `dir` unless it is there.
pub(crate) async fn blob(
    client: &Remote,
    image: &OciRef,
    desc: &OciDescriptor,
    dir: &Path,
    progress: &dyn Fn(&super::Event),
) -> Result<(), ImageError> {
    let digest = Sha256Digest::parse(&desc.digest, dir)?;
    let size = u64::try_from(desc.size).unwrap_or(0);
    let done = dir.join(digest.hex());
    if done.is_file() {
        return Ok(());
    }
    let partial_path = dir.join(format!("{}.partial", digest.hex()));
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&partial_path)
        .map_err(|e| ImageError::io(&partial_path, e))?;
    // Another den downloading the same blob: wait for it, then use what it made.
    let mut file = Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, errno)| ImageError::io(&partial_path, errno.into()))?;
    if done.is_file() {
        return Ok(());
    }
    let io = |e| ImageError::io(&partial_path, e);
    // What an earlier, killed pull got: hashed again, then resumed after it.
    let mut hasher = Sha256::new();
    let mut have = 0u64;
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        have += n as u64;
    }
    if have > size {
        file.set_len(0).map_err(io)?;
        (hasher, have) = (Sha256::new(), 0);
    }
    let mismatch = |got: Sha256Digest, count: u64| {
        Expected {
            image: dir,
            digest: &digest,
            size: Some(size),
        }
        .check(&got, count)
    };
    let failed = |source| ImageError::Registry {
        reference: image.whole(),
        message: format!("{}: blob {}: {source}", image.whole(), desc.digest),
        cause: Box::new(source),
    };
    if have < size {
        if have > 0 {
            progress(&super::Event::new(
                &digest,
                super::Status::Resuming { at: have },
            ));
        }
        let response = client
            .pull_blob_stream_partial(image, desc, have, Some(size - have))
            .await
            .map_err(failed)?;
        let mut stream = match response {
            BlobResponse::Partial(s) => s,
            BlobResponse::Full(s) => {
                // The registry ignored the range: start over.
                file.set_len(0).map_err(io)?;
                (hasher, have) = (Sha256::new(), 0);
                s
            }
        };
        let mut reported = have;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(io)?;
            if have + chunk.len() as u64 > size {
                drop(file);
                let _ = fs::remove_file(&partial_path);
                return mismatch(Sha256Digest::of_bytes(&[]), have + chunk.len() as u64);
            }
            file.write_all(&chunk).map_err(io)?;
            hasher.update(&chunk);
            have += chunk.len() as u64;
            if have - reported >= REPORT_EVERY || have == size {
                reported = have;
                let status = super::Status::Downloading {
                    done: have,
                    total: size,
                };
                progress(&super::Event::new(&digest, status));
            }
        }
    }
    progress(&super::Event::new(&digest, super::Status::Verifying));
    let got = Sha256Digest::from_hex(&hex(&hasher.finalize())).unwrap_or_else(|| digest.clone());
    if let Err(e) = mismatch(got, have) {
        drop(file);
        // Nothing kept: a wrong blob is never resumed from.
        let _ = fs::remove_file(&partial_path);
        return Err(e);
    }
    file.sync_all().map_err(io)?;
    fs::rename(&partial_path, &done).map_err(io)?;
    progress(&super::Event::new(&digest, super::Status::DownloadComplete));
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
