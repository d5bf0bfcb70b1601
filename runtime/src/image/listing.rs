//! `den images`: what the store holds, as docker lists it (repository, tag, digest, id, created,
//! size).
use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::digest::Sha256Digest;
use super::error::ImageError;
use super::layers::LayerStore;
use super::names::{self, DIR_PREFIX};
use super::reference::Reference;
use super::{ImageStore, ImageSummary};

impl ImageStore {
    /// `den image inspect NAME`: docker's shape (Id, RepoTags, RepoDigests, Created, Size,
    /// Config, RootFS) for the image `name` is recorded under; all names of that image are its
    /// RepoTags.
    pub fn inspect(&self, name: &str) -> Result<serde_json::Value, ImageError> {
        let all = names::read(self.root())?;
        let Some((_, entry)) = names::lookup(&all, name) else {
            return Err(ImageError::NoSuchName {
                name: super::error::shorten(name),
            });
        };
        let summaries = self.list()?;
        let mine: Vec<&ImageSummary> = summaries.iter().filter(|s| s.id == entry.id).collect();
        let tags: Vec<String> = mine.iter().map(|s| s.name.clone()).collect();
        let digests: Vec<String> = mine
            .iter()
            .filter_map(|s| {
                let d = s.digest.as_ref()?;
                let r = Reference::parse(&s.name).ok()?;
                Some(format!("{}@{d}", r.repository()))
            })
            .collect();
        let c = &entry.config(self.root());
        Ok(serde_json::json!({
            "Id": entry.id,
            "RepoTags": tags,
            "RepoDigests": digests,
            "Created": entry.created,
            "Size": mine.first().map_or(0, |s| s.size),
            "Config": {
                "Entrypoint": c.entrypoint,
                "Cmd": c.cmd,
                "Env": c.env,
                "WorkingDir": c.working_dir.clone().unwrap_or_default(),
                "User": c.user.clone().unwrap_or_default(),
                "ExposedPorts": (!c.exposed().is_empty())
                    .then(|| c.exposed().iter().map(|p| (p.clone(), serde_json::json!({}))).collect::<serde_json::Map<_, _>>()),
                "Volumes": (!c.volumes.is_empty())
                    .then(|| c.volumes.iter().map(|p| (p.clone(), serde_json::json!({}))).collect::<serde_json::Map<_, _>>()),
                "Labels": c.labels.clone().filter(|l| !l.is_empty()),
            },
            "RootFS": { "Type": "layers", "Layers": entry.layers },
        }))
    }

    /// The config of the image whose id is `id` (a container's image), if some name still
    /// stands for it.
    pub fn config_of_id(&self, id: &str) -> Option<super::ImageConfig> {
        let all = names::read(self.root()).ok()?;
        let entry = all.values().find(|e| e.id == id)?;
        Some(entry.config(self.root()))
    }

    /// The images on record, by name.
    pub fn list(&self) -> Result<Vec<ImageSummary>, ImageError> {
        let names = names::read(self.root())?;
        let store = LayerStore::new(self.root());
        Ok(names
            .into_iter()
            .map(|(name, entry)| {
                let parsed = Reference::parse(&name).ok();
                let size = entry
                    .layers
                    .iter()
                    .map(|l| match l.strip_prefix(DIR_PREFIX) {
                        Some(dir) => tree_size(Path::new(dir)),
                        None => l
                            .strip_prefix("sha256:")
                            .and_then(Sha256Digest::from_hex)
                            .map_or(0, |d| tree_size(&store.path(&d))),
                    })
                    .sum();
                let labels = entry.config(self.root()).labels.unwrap_or_default();
                ImageSummary {
                    repository: parsed
                        .as_ref()
                        .map_or_else(|| name.clone(), Reference::familiar_repository),
                    tag: parsed.as_ref().and_then(|r| r.tag().map(str::to_string)),
                    name,
                    id: entry.id,
                    digest: entry.digest,
                    created: entry.created,
                    layers: entry.layers.len(),
                    size,
                    labels,
                }
            })
            .collect())
    }
}

/// Bytes of the regular files under `dir` (hard links counted once), as `du` would say.
fn tree_size(dir: &Path) -> u64 {
    let mut seen = BTreeSet::new();
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                stack.push(e.path());
            } else if meta.is_file() && seen.insert((meta.dev(), meta.ino())) {
                total += meta.len();
            }
        }
    }
    total
}

impl ImageStore {
    /// `den image prune`: removes the unpacked layers (and their links) that no recorded name
    /// uses: what `rmi` of a failed removal, a killed load, or an old store layout left, and the
    /// kept blobs no image uses (partial downloads stay: a pull resumes them). Nothing while a
    /// pull runs (it may be about to record them). Returns the layers removed and the bytes they
    /// (and the blobs) held.
    pub fn prune(&self) -> Result<(Vec<String>, u64), ImageError> {
        if !self.root().is_dir() {
            return Ok((Vec::new(), 0));
        }
        let _lock = super::names::StoreLock::acquire(self.root())?;
        let Some(quiet) = super::kept::PullGuard::exclusive(self.root())? else {
            return Ok((Vec::new(), 0));
        };
        let names = names::read(self.root())?;
        let used: BTreeSet<&str> = names
            .values()
            .flat_map(|e| e.layers.iter().map(|l| l.trim_start_matches("sha256:")))
            .collect();
        let store = LayerStore::new(self.root());
        let mut removed = Vec::new();
        let mut bytes = 0;
        let layers = self.root().join("layers/sha256");
        for e in fs::read_dir(&layers).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(digest) = Sha256Digest::from_hex(&name) else {
                continue;
            };
            if !used.contains(name.as_str()) {
                let size = tree_size(&e.path());
                store.remove(&digest)?;
                bytes += size;
                removed.push(digest.to_string());
            }
        }
        bytes += super::kept::sweep(self.root(), &names, &quiet)?;
        Ok((removed, bytes))
    }
}
