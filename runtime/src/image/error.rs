//! The one error type of the image module. Every Display is one line naming the culprit; a cause is
//! chained (`#[source]`), not printed, so `one_line` says it once.
use std::io;
use std::path::PathBuf;

use super::reference::RefProblem;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("image \"{reference}\": no such file, directory or loaded image")]
    NotFound { reference: String },

    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{what} in {}: invalid JSON", image.display())]
    Json {
        image: PathBuf,
        what: String,
        #[source]
        source: serde_json::Error,
    },

    #[error("blob {blob} in {}: digest mismatch (got {got})", image.display())]
    DigestMismatch {
        image: PathBuf,
        blob: String,
        got: String,
    },

    #[error("layer {blob} in {}: its content is {got}, but the image config's rootfs.diff_ids says {want}", image.display())]
    DiffIdMismatch {
        image: PathBuf,
        blob: String,
        want: String,
        got: String,
    },

    #[error("blob {blob} in {}: size mismatch (expected {expected} bytes, got {got})", image.display())]
    SizeMismatch {
        image: PathBuf,
        blob: String,
        expected: u64,
        got: u64,
    },

    #[error("blob {blob} in {}: missing", image.display())]
    MissingBlob { image: PathBuf, blob: String },

    #[error("blob {blob} in {}: invalid digest: {reason}", image.display())]
    BadDigest {
        image: PathBuf,
        blob: String,
        reason: String,
    },

    #[error("{}: no image tagged \"{tag}\" (tags: {})", image.display(), list_or_none(available))]
    UnknownTag {
        image: PathBuf,
        tag: String,
        available: Vec<String>,
    },

    #[error("{}: holds {count} images; pick one with {}:TAG (tags: {})", image.display(), image.display(), list_or_none(available))]
    Ambiguous {
        image: PathBuf,
        count: usize,
        available: Vec<String>,
    },

    #[error("{}: holds no image", image.display())]
    Empty { image: PathBuf },

    #[error("{}: no image for platform {wanted} (it has: {})", image.display(), list_or_none(available))]
    NoPlatform {
        image: PathBuf,
        wanted: String,
        available: Vec<String>,
    },

    #[error("invalid platform \"{value}\": use OS/ARCH[/VARIANT], e.g. linux/arm64")]
    BadPlatform { value: String },

    #[error("login to {server} failed: {reason}")]
    Login { server: String, reason: String },

    /// `message` is the registry's answer in docker's words (made from `cause`).
    #[error("{message}")]
    Registry {
        reference: String,
        message: String,
        cause: Box<oci_client::errors::OciDistributionError>,
    },

    /// docker's certs.d rules: a client certificate needs its key and a key its certificate.
    #[error("{}: {reason}", path.display())]
    CertsD { path: PathBuf, reason: String },

    #[error("{}: not a PEM client certificate with its private key", path.display())]
    ClientIdentity {
        path: PathBuf,
        #[source]
        source: reqwest::Error,
    },

    #[error("{}: neither a docker-save nor an OCI archive (no manifest.json, no oci-layout + index.json)", path.display())]
    NotAnArchive { path: PathBuf },

    #[error("{}: gzip-compressed archive; decompress it first (gunzip)", path.display())]
    CompressedArchive { path: PathBuf },

    #[error("{}: not a tar archive", path.display())]
    BadArchive {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{}: {reason}", image.display())]
    BadImage { image: PathBuf, reason: String },

    #[error("blob {blob} in {}: unsupported {kind} media type \"{media_type}\"", image.display())]
    UnsupportedMediaType {
        image: PathBuf,
        blob: String,
        kind: &'static str,
        media_type: String,
    },

    #[error("layer {layer}: entry \"{entry}\" escapes the layer (absolute path or \"..\")")]
    UnsafeEntry { layer: String, entry: String },

    #[error("layer {layer}: unpacking \"{entry}\"")]
    Unpack {
        layer: String,
        entry: String,
        #[source]
        source: io::Error,
    },

    #[error("{}: the archive names no image; give one with --name", path.display())]
    Unnamed { path: PathBuf },

    #[error("image name \"{name}\" is already in use")]
    NameInUse { name: String },

    #[error("no loaded image named \"{name}\"")]
    NoSuchName { name: String },

    #[error("image \"{reference}\": {problem}")]
    InvalidReference {
        reference: String,
        problem: RefProblem,
    },

    #[error("image name \"{name}\": a name cannot hold a digest (use NAME[:TAG])")]
    DigestName { name: String },

    #[error("image \"{name}\": layer {layer} is missing from the store; load the image again")]
    LayerMissing { name: String, layer: String },

    #[error("image \"{name}\" was stored before den kept the blobs push and save need; pull or load it again")]
    NoBlobs { name: String },

    #[error("{}: corrupt image names file", path.display())]
    CorruptNames {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// At most ~200 characters of a name from an image (a hostile layer may carry megabytes).
pub(crate) fn shorten(name: &str) -> String {
    const MAX: usize = 200;
    if name.len() <= MAX {
        return name.to_string();
    }
    let mut end = MAX;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &name[..end], name.len())
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

impl ImageError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        ImageError::Io {
            path: path.into(),
            source,
        }
    }
}
