//! OCI image layouts (a directory, or the same inside a tar): index -> manifest -> config + layers.
use oci_spec::image::{Arch, Descriptor, ImageIndex, ImageManifest, MediaType};
use serde::de::DeserializeOwned;

use super::digest::{Expected, Sha256Digest};
use super::error::ImageError;
use super::parsed::{parse_config, Compression, LayerBlob, Parsed, VerifyAt};
use super::reference::{same_name, Reference};
use super::source::{blob_path, Blobs};

pub(crate) const REF_NAME: &str = "org.opencontainers.image.ref.name";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Reads the image of the layout `blobs` tagged `tag` (or its only image).
pub(crate) fn parse(blobs: &dyn Blobs, tag: Option<&str>) -> Result<Parsed, ImageError> {
    let image = blobs.image();
    let bytes = blobs
        .read_json_file("index.json")?
        .ok_or_else(|| ImageError::BadImage {
            image: image.to_path_buf(),
            reason: "no index.json".to_string(),
        })?;
    let index: ImageIndex = json(&bytes, blobs, "index.json")?;
    let chosen = select(blobs, index.manifests(), tag)?;
    // A ref.name that is a whole name (`repo:tag`, `host/repo`) names the image; a bare tag does not.
    let name = chosen
        .annotations()
        .as_ref()
        .and_then(|a| a.get(REF_NAME))
        .cloned();
    let name = name
        .filter(|n| n.contains([':', '/']))
        .and_then(|n| Reference::parse(&n).ok());
    let mut parsed = parse_manifest(blobs, chosen, &Platform::host())?;
    parsed.names = name.map(|r| r.to_string()).into_iter().collect();
    Ok(parsed)
}

/// Reads the image `chosen` points at: a manifest, or an index (of indexes) resolved to
/// `platform`. Every blob is read from `blobs` and verified.
pub(crate) fn parse_manifest(
    blobs: &dyn Blobs,
    mut chosen: Descriptor,
    platform: &Platform,
) -> Result<Parsed, ImageError> {
    let image = blobs.image();
    for _ in 0..4 {
        if !is_index(chosen.media_type()) {
            break;
        }
        let (bytes, what) = read_blob(blobs, &chosen)?;
        let nested: ImageIndex = json(&bytes, blobs, &what)?;
        chosen = platform.pick(blobs.image(), nested.manifests())?;
    }
    let (bytes, what) = read_blob(blobs, &chosen)?;
    if !is_manifest(chosen.media_type()) {
        return Err(unsupported(blobs, &chosen, "manifest"));
    }
    let manifest: ImageManifest = json(&bytes, blobs, &what)?;
    let raw = bytes;

    let config_desc = manifest.config();
    let (bytes, what) = read_blob(blobs, config_desc)?;
    let (config, created, diff_ids) = parse_config(&bytes, image, &what)?;
    let id = Sha256Digest::from_oci(config_desc.digest(), image)?;

    if diff_ids.len() != manifest.layers().len() {
        return Err(ImageError::BadImage {
            image: image.to_path_buf(),
            reason: format!(
                "config {} lists {} diff_ids for the manifest's {} layers",
                config_desc.digest(),
                diff_ids.len(),
                manifest.layers().len()
            ),
        });
    }
    let layers = manifest
        .layers()
        .iter()
        .zip(&diff_ids)
        .map(|(desc, diff_id)| layer(blobs, desc, Sha256Digest::parse(diff_id, image)?))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Parsed {
        config_path: blob_path(id.hex()),
        id,
        config,
        created,
        layers,
        names: Vec::new(),
        manifest: Some(raw),
    })
}

/// The tags (ref names) of the images in an index.
fn tags(manifests: &[Descriptor]) -> Vec<String> {
    manifests
        .iter()
        .filter_map(|d| d.annotations().as_ref()?.get(REF_NAME).cloned())
        .collect()
}

fn select(
    blobs: &dyn Blobs,
    manifests: &[Descriptor],
    tag: Option<&str>,
) -> Result<Descriptor, ImageError> {
    let image = blobs.image().to_path_buf();
    if let Some(tag) = tag {
        let tagged: Vec<&Descriptor> = manifests
            .iter()
            .filter(|d| {
                let name = d.annotations().as_ref().and_then(|a| a.get(REF_NAME));
                name.is_some_and(|name| same_name(name, tag))
            })
            .collect();
        return match tagged.as_slice() {
            [] => Err(ImageError::UnknownTag {
                image,
                tag: tag.to_string(),
                available: tags(manifests),
            }),
            [one] => Ok((*one).clone()),
            // One tag for several platforms (flattened multi-platform layout).
            _ => by_platform(blobs, &tagged.into_iter().cloned().collect::<Vec<_>>()),
        };
    }
    match manifests {
        [] => Err(ImageError::Empty { image }),
        [one] => Ok(one.clone()),
        many => by_platform(blobs, many).map_err(|_| ImageError::Ambiguous {
            image,
            count: many.len(),
            available: tags(many),
        }),
    }
}

/// An `OS/ARCH[/VARIANT]` to pick from a multi-platform index (docker's `--platform`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub arch: String,
    pub variant: Option<String>,
}

impl Platform {
    /// linux on this machine's architecture.
    pub fn host() -> Self {
        Self {
            os: "linux".to_string(),
            arch: Arch::default().to_string(),
            variant: None,
        }
    }

    /// `linux/arm64`, `linux/arm/v7`.
    pub fn parse(s: &str) -> Result<Self, ImageError> {
        let parts: Vec<&str> = s.split('/').collect();
        let ok =
            |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        match parts.as_slice() {
            [os, arch] if ok(os) && ok(arch) => Ok(Self {
                os: os.to_string(),
                arch: arch.to_string(),
                variant: None,
            }),
            [os, arch, variant] if ok(os) && ok(arch) && ok(variant) => Ok(Self {
                os: os.to_string(),
                arch: arch.to_string(),
                variant: Some(variant.to_string()),
            }),
            _ => Err(ImageError::BadPlatform {
                value: super::error::shorten(s),
            }),
        }
    }

    fn matches(&self, d: &Descriptor) -> bool {
        d.platform().as_ref().is_some_and(|p| {
            p.os().to_string() == self.os
                && p.architecture().to_string() == self.arch
                && (self.variant.is_none() || p.variant().as_deref() == self.variant.as_deref())
        })
    }

    /// The one manifest for this platform; the error lists the platforms there are.
    pub(crate) fn pick(
        &self,
        image: &std::path::Path,
        manifests: &[Descriptor],
    ) -> Result<Descriptor, ImageError> {
        if let [one] = manifests {
            if one.platform().is_none() || self.matches(one) {
                return Ok(one.clone());
            }
        }
        match manifests.iter().find(|d| self.matches(d)) {
            Some(d) => Ok(d.clone()),
            None => Err(ImageError::NoPlatform {
                image: image.to_path_buf(),
                wanted: self.to_string(),
                available: manifests
                    .iter()
                    .filter_map(|d| d.platform().as_ref())
                    .map(|p| {
                        let mut s = format!("{}/{}", p.os(), p.architecture());
                        if let Some(v) = p.variant() {
                            s = format!("{s}/{v}");
                        }
                        s
                    })
                    .collect(),
            }),
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// The one manifest for linux on this machine's architecture.
fn by_platform(blobs: &dyn Blobs, manifests: &[Descriptor]) -> Result<Descriptor, ImageError> {
    Platform::host().pick(blobs.image(), manifests)
}

pub(crate) fn is_index(media: &MediaType) -> bool {
    matches!(media, MediaType::ImageIndex)
        || matches!(media, MediaType::Other(m) if m == DOCKER_LIST)
}

pub(crate) fn is_manifest(media: &MediaType) -> bool {
    matches!(media, MediaType::ImageManifest)
        || matches!(media, MediaType::Other(m) if m == DOCKER_MANIFEST)
}

/// Reads a small blob and verifies its digest and size. Returns it and its name for errors.
fn read_blob(blobs: &dyn Blobs, desc: &Descriptor) -> Result<(Vec<u8>, String), ImageError> {
    let image = blobs.image();
    let digest = Sha256Digest::from_oci(desc.digest(), image)?;
    let what = format!("blob {digest}");
    let reader = blobs.open_blob(&blob_path(digest.hex()), &digest.to_string())?;
    let expected = Expected {
        image,
        digest: &digest,
        size: Some(desc.size()),
    };
    Ok((expected.read_small(reader)?, what))
}

fn json<T: DeserializeOwned>(bytes: &[u8], blobs: &dyn Blobs, what: &str) -> Result<T, ImageError> {
    serde_json::from_slice(bytes).map_err(|source| ImageError::Json {
        image: blobs.image().to_path_buf(),
        what: what.to_string(),
        source,
    })
}

fn unsupported(blobs: &dyn Blobs, desc: &Descriptor, kind: &'static str) -> ImageError {
    ImageError::UnsupportedMediaType {
        image: blobs.image().to_path_buf(),
        blob: desc.digest().to_string(),
        kind,
        media_type: desc.media_type().to_string(),
    }
}

fn layer(
    blobs: &dyn Blobs,
    desc: &Descriptor,
    diff_id: Sha256Digest,
) -> Result<LayerBlob, ImageError> {
    let compression = match desc.media_type() {
        MediaType::ImageLayer | MediaType::ImageLayerNonDistributable => Compression::Tar,
        MediaType::ImageLayerGzip | MediaType::ImageLayerNonDistributableGzip => Compression::Gzip,
        MediaType::Other(m) if m == "application/vnd.docker.image.rootfs.diff.tar" => {
            Compression::Tar
        }
        MediaType::Other(m)
            if m == "application/vnd.docker.image.rootfs.diff.tar.gzip"
                || m == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" =>
        {
            Compression::Gzip
        }
        _ => return Err(unsupported(blobs, desc, "layer")),
    };
    let digest = Sha256Digest::from_oci(desc.digest(), blobs.image())?;
    Ok(LayerBlob {
        path: blob_path(digest.hex()),
        digest,
        size: Some(desc.size()),
        compression,
        verify: VerifyAt::Stored,
        diff_id: Some(diff_id),
    })
}
