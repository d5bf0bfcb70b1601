//! docker-save archives: `manifest.json` = `[{"Config": PATH, "RepoTags": [...], "Layers": [PATH...]}]`.
//! Old docker writes `<id>/layer.tar` and `<hex>.json`; docker 25+ writes `blobs/sha256/<hex>`.
use serde::Deserialize;

use super::digest::{Expected, Sha256Digest};
use super::error::ImageError;
use super::parsed::{parse_config, Compression, LayerBlob, Parsed, VerifyAt};
use super::reference::{same_name, Reference};
use super::source::Blobs;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Entry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

impl Entry {
    fn tags(&self) -> &[String] {
        self.repo_tags.as_deref().unwrap_or_default()
    }

    /// `tag` is a name as docker normalises it (`t` is `docker.io/library/t:latest`, which is
    /// what skopeo records), or just the part after the last ':'.
    fn tagged(&self, tag: &str) -> bool {
        self.tags()
            .iter()
            .any(|t| same_name(t, tag) || t.rsplit_once(':').is_some_and(|(_, t)| t == tag))
    }
}

/// Every image of the docker-save archive `blobs` (`docker load` of an archive loads them all).
pub(crate) fn parse_all(blobs: &dyn Blobs) -> Result<Vec<Parsed>, ImageError> {
    let entries = entries(blobs)?;
    if entries.is_empty() {
        return Err(ImageError::Empty {
            image: blobs.image().to_path_buf(),
        });
    }
    entries.iter().map(|e| parse_entry(blobs, e)).collect()
}

fn entries(blobs: &dyn Blobs) -> Result<Vec<Entry>, ImageError> {
    let image = blobs.image();
    let bytes = blobs
        .read_json_file("manifest.json")?
        .ok_or_else(|| ImageError::BadImage {
            image: image.to_path_buf(),
            reason: "no manifest.json".to_string(),
        })?;
    let entries: Vec<Entry> =
        serde_json::from_slice(&bytes).map_err(|source| ImageError::Json {
            image: image.to_path_buf(),
            what: "manifest.json".to_string(),
            source,
        })?;
    Ok(entries)
}

/// Reads the image of the docker-save archive `blobs` tagged `tag` (or its only image).
pub(crate) fn parse(blobs: &dyn Blobs, tag: Option<&str>) -> Result<Parsed, ImageError> {
    let image = blobs.image();
    let entries = entries(blobs)?;
    let all_tags = || entries.iter().flat_map(|e| e.tags().to_vec()).collect();
    let entry = match (tag, entries.as_slice()) {
        (Some(tag), _) => {
            entries
                .iter()
                .find(|e| e.tagged(tag))
                .ok_or_else(|| ImageError::UnknownTag {
                    image: image.to_path_buf(),
                    tag: tag.to_string(),
                    available: all_tags(),
                })?
        }
        (None, [one]) => one,
        (None, []) => {
            return Err(ImageError::Empty {
                image: image.to_path_buf(),
            })
        }
        (None, many) => {
            return Err(ImageError::Ambiguous {
                image: image.to_path_buf(),
                count: many.len(),
                available: all_tags(),
            })
        }
    };
    parse_entry(blobs, entry)
}

fn parse_entry(blobs: &dyn Blobs, entry: &Entry) -> Result<Parsed, ImageError> {
    let image = blobs.image();
    // The config: its sha256 is the image id; its name, when it is one, must match.
    let reader = blobs.open_blob(&entry.config, &entry.config)?;
    let bytes = super::digest::read_small(reader, image, &entry.config)?;
    let id = Sha256Digest::of_bytes(&bytes);
    if let Some(named) = named_digest(&entry.config) {
        Expected {
            image,
            digest: &named,
            size: None,
        }
        .check(&id, bytes.len() as u64)?;
    }
    let (config, created, diff_ids) = parse_config(&bytes, image, &entry.config)?;

    let mut layers = Vec::with_capacity(entry.layers.len());
    for (i, path) in entry.layers.iter().enumerate() {
        let layer = match named_digest(path) {
            Some(digest) => LayerBlob {
                digest,
                size: None,
                path: path.clone(),
                compression: Compression::Sniff,
                verify: VerifyAt::Stored,
                diff_id: match diff_ids.get(i) {
                    Some(d) => Some(Sha256Digest::parse(d, image)?),
                    None => None,
                },
            },
            None => {
                let diff_id = diff_ids.get(i).ok_or_else(|| ImageError::BadImage {
                    image: image.to_path_buf(),
                    reason: format!(
                        "config {} lists {} diff_ids for {} layers",
                        entry.config,
                        diff_ids.len(),
                        entry.layers.len()
                    ),
                })?;
                LayerBlob {
                    digest: Sha256Digest::parse(diff_id, image)?,
                    size: None,
                    path: path.clone(),
                    compression: Compression::Sniff,
                    verify: VerifyAt::Uncompressed,
                    diff_id: None,
                }
            }
        };
        layers.push(layer);
    }
    let names = entry
        .tags()
        .iter()
        .filter_map(|t| Reference::parse(t).ok())
        .map(|r| r.to_string())
        .collect();
    Ok(Parsed {
        id,
        config,
        created,
        layers,
        names,
        config_path: entry.config.clone(),
        manifest: None,
    })
}

/// The digest a member's name states: `blobs/sha256/<hex>` or `<hex>.json`.
fn named_digest(path: &str) -> Option<Sha256Digest> {
    let path = path.trim_start_matches("./");
    if let Some(hex) = path.strip_prefix("blobs/sha256/") {
        return Sha256Digest::from_hex(hex);
    }
    path.strip_suffix(".json").and_then(Sha256Digest::from_hex)
}
