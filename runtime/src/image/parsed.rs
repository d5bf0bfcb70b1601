//! What reading an image's metadata yields, whatever its format: the config and the layer blobs
//! still to be found in the store (or unpacked into it).
use std::path::Path;

use oci_spec::image::ImageConfiguration;

use super::digest::Sha256Digest;
use super::error::ImageError;
use super::ImageConfig;

/// How a layer blob is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compression {
    Tar,
    Gzip,
    /// Unknown (docker-save names no media type): look at the first bytes.
    Sniff,
}

/// Which bytes of a layer its digest is the sha256 of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VerifyAt {
    /// The blob as stored (OCI layouts, docker's `blobs/sha256/...`).
    Stored,
    /// The uncompressed tar (docker-save's `<id>/layer.tar`, keyed by the config's diff_id).
    Uncompressed,
}

/// One layer of an image: its store key (also what it must hash to) and where its blob is.
#[derive(Clone, Debug)]
pub(crate) struct LayerBlob {
    pub digest: Sha256Digest,
    pub size: Option<u64>,
    pub path: String,
    pub compression: Compression,
    pub verify: VerifyAt,
    /// For a layer verified as stored: the image config's `rootfs.diff_ids` entry, what its
    /// uncompressed tar must hash to (docker and containerd check it too).
    pub diff_id: Option<Sha256Digest>,
}

/// An image's metadata, read and verified.
#[derive(Clone, Debug)]
pub(crate) struct Parsed {
    pub id: Sha256Digest,
    pub config: ImageConfig,
    pub created: Option<String>,
    pub layers: Vec<LayerBlob>,
    /// The names the archive itself gives the image (docker-save `RepoTags`, an OCI `ref.name`
    /// that is a full name), normalised.
    pub names: Vec<String>,
    /// Where the config is inside the source (its sha256 is `id`).
    pub config_path: String,
    /// The image manifest as the source has it (OCI layouts, pulls), kept byte for byte so that a
    /// push or save keeps its digest; `None` for docker-save archives (den writes one).
    pub manifest: Option<Vec<u8>>,
}

/// Parses an image config blob.
pub(crate) fn parse_config(
    bytes: &[u8],
    image: &Path,
    what: &str,
) -> Result<(ImageConfig, Option<String>, Vec<String>), ImageError> {
    let cfg: ImageConfiguration =
        serde_json::from_slice(bytes).map_err(|source| ImageError::Json {
            image: image.to_path_buf(),
            what: what.to_string(),
            source,
        })?;
    let non_empty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    let config = match cfg.config() {
        Some(c) => ImageConfig {
            entrypoint: c.entrypoint().clone().unwrap_or_default(),
            cmd: c.cmd().clone().unwrap_or_default(),
            env: c.env().clone().unwrap_or_default(),
            working_dir: non_empty(c.working_dir()),
            user: non_empty(c.user()),
            volumes: c.volumes().clone().unwrap_or_default(),
            exposed_ports: Some(c.exposed_ports().clone().unwrap_or_default()),
            labels: Some(c.labels().clone().unwrap_or_default().into_iter().collect()),
            healthcheck: healthcheck(bytes),
        },
        None => ImageConfig::default(),
    };
    let diff_ids = cfg.rootfs().diff_ids().clone();
    Ok((config, cfg.created().clone(), diff_ids))
}

/// docker's `config.Healthcheck` of an image config blob, if it has one.
fn healthcheck(bytes: &[u8]) -> Option<crate::state::HealthConfig> {
    #[derive(serde::Deserialize)]
    struct Blob {
        config: Option<Inner>,
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        #[serde(rename = "Healthcheck")]
        healthcheck: Option<crate::state::HealthConfig>,
    }
    let blob: Blob = serde_json::from_slice(bytes).ok()?;
    blob.config?.healthcheck.filter(|h| !h.test.is_empty())
}
