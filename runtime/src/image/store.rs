//! `ImageStore`: what `den run IMAGE` and `den image load|ls|rm` use.
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::archive::TarBlobs;
use super::digest::Sha256Digest;
use super::error::ImageError;
use super::layers::LayerStore;
use super::names::{self, NameEntry, StoreLock, DIR_PREFIX};
use super::parsed::Parsed;
use super::reference::Reference;
use super::source::{Blobs, DirBlobs};
use super::{docker, kept, oci, Image, ImageConfig};
use crate::events::{self, Event};

/// Images: unpacked layers and loaded names under `<state root>/images`.
pub struct ImageStore {
    root: PathBuf,
}

/// What a path given as IMAGE turned out to be.
pub(super) enum Located {
    Layout(PathBuf),
    Rootfs(PathBuf),
    Archive(PathBuf),
}

/// A resolved image before it gets a reference.
pub(crate) struct Resolved {
    pub(crate) id: String,
    pub(crate) layer_keys: Vec<String>,
    pub(crate) layers: Vec<PathBuf>,
    pub(crate) config: ImageConfig,
    pub(crate) created: Option<String>,
    pub(crate) names: Vec<String>,
    /// The kept manifest (see `kept`), when the blobs were kept.
    pub(crate) manifest: Option<String>,
}

impl ImageStore {
    pub fn new(state_root: &Path) -> Self {
        Self {
            root: state_root.join("images"),
        }
    }

    /// `<state root>/images`.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Resolves what the user typed as IMAGE: a layout directory (`DIR[:TAG]`), a rootfs
    /// directory, an archive (`FILE[:TAG]`), or a loaded name. Unpacks missing layers.
    pub fn resolve(&self, reference: &str) -> Result<Image, ImageError> {
        if let Some((located, tag)) = locate(reference)? {
            let resolved = self.resolve_located(&located, tag.as_deref(), false)?;
            let first = resolved
                .into_iter()
                .next()
                .ok_or_else(|| ImageError::Empty {
                    image: PathBuf::from(reference),
                })?;
            return Ok(first.into_image(reference));
        }
        let names = names::read(&self.root)?;
        match names::lookup(&names, reference) {
            Some((name, entry)) => self.image_of_entry(name, entry, reference),
            None => {
                // Neither a path nor a name on record: a malformed name says so first.
                if !reference.starts_with(['/', '.']) {
                    Reference::parse(reference)?;
                }
                Err(ImageError::NotFound {
                    reference: super::error::shorten(reference),
                })
            }
        }
    }

    /// Whether `reference` names something on this machine: a path den can read as an image, or a
    /// name in the store (what `--pull missing` checks before pulling).
    pub fn is_local(&self, reference: &str) -> Result<bool, ImageError> {
        if locate(reference)?.is_some() {
            return Ok(true);
        }
        let names = names::read(&self.root)?;
        Ok(names::lookup(&names, reference).is_some())
    }

    /// Whether `reference` is a path (an image den reads in place, never pulled).
    pub fn is_path(&self, reference: &str) -> Result<bool, ImageError> {
        Ok(locate(reference)?.is_some() || reference.starts_with(['/', '.']))
    }

    /// `den tag SRC DST`: records DST for the image SRC names (replacing what DST named, as
    /// docker does). Returns DST in full.
    pub fn tag(&self, source: &str, target: &str) -> Result<String, ImageError> {
        let target = names::canonical_name(target)?.to_string();
        // A store with no images has no lock file to take either: the name is missing.
        if !self.root.is_dir() {
            return Err(ImageError::NoSuchName {
                name: super::error::shorten(source),
            });
        }
        let lock = StoreLock::acquire(&self.root)?;
        let mut names = names::read(&self.root)?;
        let entry = match names::lookup(&names, source) {
            Some((_, entry)) => entry.clone(),
            None => {
                return Err(ImageError::NoSuchName {
                    name: super::error::shorten(source),
                })
            }
        };
        names.insert(target.clone(), entry.clone());
        names::write(&self.root, &names, &lock)?;
        events::emit(
            events::root_of(&self.root),
            Event::image(&entry.id, "tag", &target),
        );
        Ok(target)
    }

    /// The id of the image recorded under `name`.
    pub fn resolve_id(&self, name: &str) -> Result<String, ImageError> {
        let names = names::read(&self.root)?;
        match names::lookup(&names, name) {
            Some((_, entry)) => Ok(entry.id.clone()),
            None => Err(ImageError::NoSuchName {
                name: super::error::shorten(name),
            }),
        }
    }

    /// Forgets `name` and removes the store layers no other name uses. Layers are removed even
    /// if one fails; the first failure is returned. Returns the full name removed.
    pub fn remove(&self, name: &str) -> Result<String, ImageError> {
        if !self.root.is_dir() {
            return Err(ImageError::NoSuchName {
                name: name.to_string(),
            });
        }
        let lock = StoreLock::acquire(&self.root)?;
        let mut names = names::read(&self.root)?;
        let key = match names::lookup(&names, name) {
            Some((key, _)) => key.to_string(),
            None => {
                return Err(ImageError::NoSuchName {
                    name: name.to_string(),
                })
            }
        };
        let Some(entry) = names.remove(&key) else {
            return Err(ImageError::NoSuchName { name: key });
        };
        names::write(&self.root, &names, &lock)?;
        events::image_removed(
            events::root_of(&self.root),
            &entry.id,
            &key,
            names.values().any(|e| e.id == entry.id),
        );
        // A pull under way may be bringing some of these layers: they wait for `image prune`.
        let Some(quiet) = kept::PullGuard::exclusive(&self.root)? else {
            return Ok(key);
        };
        let still_used = |layer: &String| names.values().any(|e| e.layers.contains(layer));
        let store = LayerStore::new(&self.root);
        let mut first_error = None;
        for layer in entry.layers.iter().filter(|l| !still_used(l)) {
            let Some(hex) = layer.strip_prefix("sha256:") else {
                continue; // a rootfs directory: not ours to remove
            };
            let Some(digest) = Sha256Digest::from_hex(hex) else {
                continue;
            };
            if let Err(e) = store.remove(&digest) {
                first_error.get_or_insert(e);
            }
        }
        if let Err(e) = kept::sweep(&self.root, &names, &quiet) {
            first_error.get_or_insert(e);
        }
        first_error.map_or(Ok(key), Err)
    }

    /// The image(s) at `located`, their layers unpacked. With `keep` (a load), their blobs are
    /// kept in the store too, and an untagged docker-save archive gives all of its images.
    pub(super) fn resolve_located(
        &self,
        located: &Located,
        tag: Option<&str>,
        keep: bool,
    ) -> Result<Vec<Resolved>, ImageError> {
        match located {
            Located::Rootfs(dir) => {
                let id = format!("{DIR_PREFIX}{}", dir.display());
                Ok(vec![Resolved {
                    layer_keys: vec![id.clone()],
                    id,
                    layers: vec![dir.clone()],
                    config: ImageConfig::default(),
                    created: None,
                    names: Vec::new(),
                    manifest: None,
                }])
            }
            Located::Layout(dir) => {
                let blobs = DirBlobs::new(dir);
                let parsed = oci::parse(&blobs, tag)?;
                self.unpack_all(&blobs, vec![parsed], keep)
            }
            Located::Archive(file) => {
                let blobs = TarBlobs::open(file)?;
                let parsed = if blobs.has("manifest.json") {
                    match tag {
                        None if keep => docker::parse_all(&blobs)?,
                        _ => vec![docker::parse(&blobs, tag)?],
                    }
                } else if blobs.has("index.json") && blobs.has("oci-layout") {
                    vec![oci::parse(&blobs, tag)?]
                } else {
                    return Err(ImageError::NotAnArchive { path: file.clone() });
                };
                self.unpack_all(&blobs, parsed, keep)
            }
        }
    }

    fn unpack_all(
        &self,
        blobs: &dyn Blobs,
        parsed: Vec<Parsed>,
        keep: bool,
    ) -> Result<Vec<Resolved>, ImageError> {
        let mut all = Vec::with_capacity(parsed.len());
        for p in parsed {
            let mut resolved = self.unpack_parsed(blobs, p.clone())?;
            if keep {
                resolved.manifest = Some(kept::keep(&self.root, blobs, &p)?.to_string());
            }
            all.push(resolved);
        }
        Ok(all)
    }

    /// Makes sure every layer of `parsed` is in the store.
    pub(crate) fn unpack_parsed(
        &self,
        blobs: &dyn Blobs,
        parsed: Parsed,
    ) -> Result<Resolved, ImageError> {
        let store = LayerStore::new(&self.root);
        let mut keys: Vec<Sha256Digest> = Vec::with_capacity(parsed.layers.len());
        let mut layers: Vec<PathBuf> = Vec::with_capacity(parsed.layers.len());
        for layer in &parsed.layers {
            let key = chain_key(keys.last(), &layer.digest);
            let lowers: Vec<PathBuf> = layers.iter().rev().cloned().collect();
            layers.push(store.ensure(blobs, layer, &key, &lowers)?);
            keys.push(key);
        }
        Ok(Resolved {
            id: parsed.id.to_string(),
            layer_keys: keys.iter().map(ToString::to_string).collect(),
            names: parsed.names,
            layers,
            config: parsed.config,
            created: parsed.created,
            manifest: None,
        })
    }

    fn image_of_entry(
        &self,
        name: &str,
        entry: &NameEntry,
        reference: &str,
    ) -> Result<Image, ImageError> {
        let store = LayerStore::new(&self.root);
        let missing = |layer: &str| ImageError::LayerMissing {
            name: name.to_string(),
            layer: layer.to_string(),
        };
        let mut layers = Vec::with_capacity(entry.layers.len());
        for layer in &entry.layers {
            let path = match layer.strip_prefix(DIR_PREFIX) {
                Some(dir) => PathBuf::from(dir),
                None => {
                    let hex = layer.strip_prefix("sha256:").unwrap_or(layer);
                    let digest = Sha256Digest::from_hex(hex).ok_or_else(|| missing(layer))?;
                    store.lower(&digest)?.ok_or_else(|| missing(layer))?
                }
            };
            if !path.is_dir() {
                return Err(missing(layer));
            }
            layers.push(path);
        }
        Ok(Image {
            reference: reference.to_string(),
            id: entry.id.clone(),
            layers,
            config: entry.config(&self.root),
        })
    }
}

impl Resolved {
    pub(crate) fn into_image(self, reference: &str) -> Image {
        Image {
            reference: reference.to_string(),
            id: self.id,
            layers: self.layers,
            config: self.config,
        }
    }
}

/// The store key of a layer: its digest at the bottom, else sha256("<key below> <digest>"), like
/// docker's chain ids: an unpacked layer depends on the layers below (implied directories).
pub(crate) fn chain_key(below: Option<&Sha256Digest>, digest: &Sha256Digest) -> Sha256Digest {
    match below {
        None => digest.clone(),
        Some(below) => Sha256Digest::of_bytes(format!("{below} {digest}").as_bytes()),
    }
}

/// What a path-like reference names: `PATH` if it exists, else `PATH:TAG` for the first ':'
/// whose left side is a layout or archive (a tag may itself hold ':' and '/', as in `save.tar:repo/name:v1`).
pub(super) fn locate(reference: &str) -> Result<Option<(Located, Option<String>)>, ImageError> {
    if let Some(located) = classify(Path::new(reference))? {
        return Ok(Some((located, None)));
    }
    for (i, _) in reference.match_indices(':') {
        let (path, tag) = (&reference[..i], &reference[i + 1..]);
        if path.is_empty() || tag.is_empty() {
            continue;
        }
        match classify(Path::new(path))? {
            // A rootfs directory has no tags: `dir:x` may well be a loaded name instead.
            Some(Located::Rootfs(_)) | None => {}
            Some(located) => return Ok(Some((located, Some(tag.to_string())))),
        }
    }
    Ok(None)
}

fn classify(path: &Path) -> Result<Option<Located>, ImageError> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => return Ok(None),
        Err(e) => return Err(ImageError::io(path, e)),
    };
    let canonical = path.canonicalize().map_err(|e| ImageError::io(path, e))?;
    Ok(if meta.is_dir() {
        if canonical.join("index.json").is_file() {
            Some(Located::Layout(canonical))
        } else {
            Some(Located::Rootfs(canonical))
        }
    } else if meta.is_file() {
        Some(Located::Archive(canonical))
    } else {
        None
    })
}
