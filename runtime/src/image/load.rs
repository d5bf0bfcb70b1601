//! `den image load`: an archive or layout into the store, under the names it gives its images
//! (or `--name`), with its blobs kept for push and save.
use std::fs;
use std::io;
use std::path::Path;

use super::error::ImageError;
use super::layers::{make_private_dirs, LayerStore};
use super::names::{self, NameEntry, StoreLock};
use super::store::locate;
use super::{Image, ImageStore};
use crate::events;

/// One image loaded and the names recorded for it.
#[derive(Debug)]
pub struct Loaded {
    pub image: Image,
    pub names: Vec<String>,
}

impl ImageStore {
    /// `den image load SOURCE [--name NAME]`: resolves SOURCE (`PATH[:TAG]`), unpacks its layers
    /// into the store, keeps its blobs and records NAME for it, or else the names the archive
    /// gives it (docker's `RepoTags`, an OCI `ref.name`), which take over those names as
    /// `docker load` does. A docker-save archive of several images, given no TAG, loads all.
    pub fn load(&self, source: &Path, name: Option<&str>) -> Result<Vec<Loaded>, ImageError> {
        let given = name
            .map(|n| names::canonical_name(n).map(|r| r.to_string()))
            .transpose()?;
        make_private_dirs(self.root())?;
        let lock = StoreLock::acquire(self.root())?;
        let mut names = names::read(self.root())?;
        if let Some(name) = &given {
            if names::lookup(&names, name).is_some() {
                return Err(ImageError::NameInUse { name: name.clone() });
            }
        }
        let layers = LayerStore::new(self.root());
        layers.clean_stale();
        let text = source.to_string_lossy();
        let (located, tag) = locate(&text)?
            .ok_or_else(|| ImageError::io(source, io::Error::from_raw_os_error(libc::ENOENT)))?;
        let all = self.resolve_located(&located, tag.as_deref(), true)?;
        if given.is_some() && all.len() > 1 {
            return Err(ImageError::Ambiguous {
                image: source.to_path_buf(),
                count: all.len(),
                available: all.iter().flat_map(|r| r.names.clone()).collect(),
            });
        }
        let mut loaded = Vec::with_capacity(all.len());
        for resolved in all {
            let recorded = match &given {
                Some(name) => vec![name.clone()],
                None if resolved.names.is_empty() => {
                    return Err(ImageError::Unnamed {
                        path: source.to_path_buf(),
                    })
                }
                None => resolved.names.clone(),
            };
            for name in &recorded {
                let entry = NameEntry {
                    id: resolved.id.clone(),
                    layers: resolved.layer_keys.clone(),
                    config: resolved.config.clone(),
                    created: resolved.created.clone(),
                    digest: None,
                    manifest: resolved.manifest.clone(),
                };
                names.insert(name.clone(), entry);
            }
            let image = resolved.into_image(&recorded[0]);
            loaded.push(Loaded {
                image,
                names: recorded,
            });
        }
        names::write(self.root(), &names, &lock)?;
        events::loaded(events::root_of(self.root()), &loaded);
        Ok(loaded)
    }

    /// `den image load` of an archive read from `input` (stdin): copied to a temp file of the
    /// store first (a tar is read by offset), removed afterwards.
    pub fn load_from(
        &self,
        mut input: impl io::Read,
        name: Option<&str>,
    ) -> Result<Vec<Loaded>, ImageError> {
        let tmp_dir = self.root().join("tmp");
        make_private_dirs(&tmp_dir)?;
        let path = tmp_dir.join(format!("load.{}.tar", std::process::id()));
        let copied = fs::File::create(&path).and_then(|mut f| io::copy(&mut input, &mut f));
        let result = copied
            .map_err(|e| ImageError::io(&path, e))
            .and_then(|_| self.load(&path, name));
        // Undo: the copy is only a means; a leftover (den killed here) is swept by gc.
        let _ = fs::remove_file(&path);
        result
    }
}
