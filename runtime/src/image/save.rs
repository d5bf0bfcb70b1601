//! `den image save NAME...`: a tar that is both a docker-save archive (`manifest.json` with
//! `RepoTags`, read by `docker load` and skopeo's `docker-archive:`) and an OCI image layout
//! (`oci-layout`, `index.json`, `blobs/sha256/`), as docker 25+ writes it. The blobs are the
//! image's kept ones (see `kept`), streamed from disk: the manifest digest and image id stay.
use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::error::ImageError;
use super::kept::{self, blob_dir, Kept};
use super::names;
use super::reference::Reference;
use super::ImageStore;
use crate::events::{self, Event};

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const REF_NAME: &str = "org.opencontainers.image.ref.name";
const CONTAINERD_NAME: &str = "io.containerd.image.name";

/// One image of the archive and the names it goes under.
struct Saved {
    id: String,
    kept: Kept,
    names: Vec<Reference>,
}

impl ImageStore {
    /// Writes the images `references` name (one entry per image, all its names given as
    /// `RepoTags`) as an archive to `out`.
    pub fn save(&self, references: &[String], out: impl Write) -> Result<(), ImageError> {
        let images = self.gather(references)?;
        let dir = blob_dir(self.root());
        let mut tar = tar::Builder::new(out);
        let io = |e: io::Error| ImageError::io("image archive", e);
        append(&mut tar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#).map_err(io)?;
        let mut written = BTreeSet::new();
        let mut docker = Vec::new();
        let mut index = Vec::new();
        for image in &images {
            let k = &image.kept;
            let layers: Vec<&str> = k.layers.iter().map(|l| l.hex()).collect();
            for hex in layers
                .iter()
                .copied()
                .chain([k.config.hex(), k.digest.hex()])
            {
                if written.insert(hex.to_string()) {
                    append_file(&mut tar, &format!("blobs/sha256/{hex}"), &dir.join(hex))?;
                }
            }
            let blob = |hex: &str| format!("blobs/sha256/{hex}");
            docker.push(json!({
                "Config": blob(k.config.hex()),
                "RepoTags": image.names.iter().map(familiar).collect::<Vec<_>>(),
                "Layers": layers.iter().map(|h| blob(h)).collect::<Vec<_>>(),
            }));
            for name in &image.names {
                index.push(json!({
                    "mediaType": k.media_type,
                    "digest": k.digest.to_string(),
                    "size": k.bytes.len(),
                    "annotations": {
                        CONTAINERD_NAME: name.to_string(),
                        REF_NAME: name.tag().unwrap_or("latest"),
                    },
                }));
            }
        }
        let index = json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": index });
        append(&mut tar, "index.json", index.to_string().as_bytes()).map_err(io)?;
        let docker = Value::Array(docker).to_string();
        append(&mut tar, "manifest.json", docker.as_bytes()).map_err(io)?;
        tar.into_inner()
            .and_then(|mut out| out.flush())
            .map_err(io)?;
        for image in &images {
            let name = image
                .names
                .first()
                .map(|n| n.to_string())
                .unwrap_or_default();
            let id = format!("sha256:{}", image.kept.config.hex());
            events::emit(
                events::root_of(self.root()),
                Event::image(&id, "save", &name),
            );
        }
        Ok(())
    }

    /// `den image save -o FILE`: written beside FILE and renamed over it once whole.
    pub fn save_to(&self, references: &[String], file: &Path) -> Result<(), ImageError> {
        let name = file.file_name().map_or_else(Default::default, |n| {
            format!(".{}.den-save.{}", n.to_string_lossy(), std::process::id())
        });
        let tmp = TmpFile(file.with_file_name(name));
        let out = File::create(&tmp.0).map_err(|e| ImageError::io(&tmp.0, e))?;
        self.save(references, io::BufWriter::new(&out))?;
        out.sync_all().map_err(|e| ImageError::io(&tmp.0, e))?;
        fs::rename(&tmp.0, file).map_err(|e| ImageError::io(file, e))
    }

    /// The images named, each once (in the order first named), with all the names given for it.
    /// A name that is not on record is refused before anything is written.
    fn gather(&self, references: &[String]) -> Result<Vec<Saved>, ImageError> {
        let all = names::read(self.root())?;
        let mut images: Vec<Saved> = Vec::new();
        for reference in references {
            let Some((name, entry)) = names::lookup(&all, reference) else {
                return Err(ImageError::NoSuchName {
                    name: super::error::shorten(reference),
                });
            };
            let no_blobs = || ImageError::NoBlobs {
                name: name.to_string(),
            };
            let manifest = entry.manifest.as_ref().ok_or_else(no_blobs)?;
            let parsed = Reference::parse(name)?;
            // One entry per image id (docker's grouping), whatever manifest each name has.
            if let Some(same) = images.iter_mut().find(|s| s.id == entry.id) {
                if !same
                    .names
                    .iter()
                    .any(|n| n.to_string() == parsed.to_string())
                {
                    same.names.push(parsed);
                }
                continue;
            }
            let kept = kept::read(self.root(), manifest)?;
            let dir = blob_dir(self.root());
            if kept
                .layers
                .iter()
                .chain([&kept.config])
                .any(|d| !dir.join(d.hex()).is_file())
            {
                return Err(no_blobs());
            }
            images.push(Saved {
                id: entry.id.clone(),
                kept,
                names: vec![parsed],
            });
        }
        Ok(images)
    }
}

/// A name as docker writes it in `RepoTags`: `busybox:latest`, `localhost:5000/app:v1`.
fn familiar(name: &Reference) -> String {
    format!(
        "{}:{}",
        name.familiar_repository(),
        name.tag().unwrap_or("latest")
    )
}

fn header(path: &str, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    // Paths here are den's own (fixed names, blobs/sha256/<hex>), always short enough.
    let _ = h.set_path(path);
    h.set_cksum();
    h
}

fn append<W: Write>(tar: &mut tar::Builder<W>, path: &str, bytes: &[u8]) -> io::Result<()> {
    tar.append(&header(path, bytes.len() as u64), bytes)
}

/// Streams the file at `src` into the archive as `path`.
fn append_file<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    src: &Path,
) -> Result<(), ImageError> {
    let file = File::open(src).map_err(|e| ImageError::io(src, e))?;
    let size = file.metadata().map_err(|e| ImageError::io(src, e))?.len();
    tar.append(&header(path, size), file)
        .map_err(|e| ImageError::io(src, e))
}

/// The archive being written: removed on drop unless renamed into place.
struct TmpFile(PathBuf);

impl Drop for TmpFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}
