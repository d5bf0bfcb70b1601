//! Test helpers: temp dirs, layer tars built in memory, OCI layouts, docker-save and OCI archives,
//! and snapshots of unpacked trees.
use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use tar::{Builder, EntryType, Header};

pub const MTIME: u64 = 1_700_000_000;

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("den-image-{tag}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// A layer tar built in memory.
pub struct Layer(Builder<Vec<u8>>);

impl Default for Layer {
    fn default() -> Self {
        Self::new()
    }
}

impl Layer {
    pub fn new() -> Self {
        Self(Builder::new(Vec::new()))
    }

    fn header(kind: EntryType, mode: u32, owner: (u64, u64)) -> Header {
        let mut h = Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(owner.0);
        h.set_gid(owner.1);
        h.set_mtime(MTIME);
        h.set_size(0);
        h
    }

    pub fn dir(mut self, path: &str, mode: u32) -> Self {
        let mut h = Self::header(EntryType::Directory, mode, (0, 0));
        self.0.append_data(&mut h, path, &[][..]).unwrap();
        self
    }

    pub fn file(self, path: &str, content: &str) -> Self {
        self.file_as(path, content, 0o644, (0, 0))
    }

    pub fn file_as(mut self, path: &str, content: &str, mode: u32, owner: (u64, u64)) -> Self {
        let mut h = Self::header(EntryType::Regular, mode, owner);
        h.set_size(content.len() as u64);
        self.0
            .append_data(&mut h, path, content.as_bytes())
            .unwrap();
        self
    }

    pub fn file_bytes(mut self, path: &str, content: &[u8]) -> Self {
        let mut h = Self::header(EntryType::Regular, 0o644, (0, 0));
        h.set_size(content.len() as u64);
        self.0.append_data(&mut h, path, content).unwrap();
        self
    }

    pub fn symlink(mut self, path: &str, target: &str) -> Self {
        let mut h = Self::header(EntryType::Symlink, 0o777, (0, 0));
        self.0.append_link(&mut h, path, target).unwrap();
        self
    }

    pub fn hardlink(mut self, path: &str, target: &str) -> Self {
        let mut h = Self::header(EntryType::Link, 0o644, (0, 0));
        self.0.append_link(&mut h, path, target).unwrap();
        self
    }

    pub fn device(mut self, path: &str, kind: EntryType, major: u32, minor: u32) -> Self {
        let mut h = Self::header(kind, 0o666, (0, 0));
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
        self.0.append_data(&mut h, path, &[][..]).unwrap();
        self
    }

    /// An entry whose name is written as is (the builder refuses `..` and absolute paths).
    pub fn raw(mut self, name: &str, kind: EntryType, link: &str) -> Self {
        let mut h = Self::header(kind, 0o644, (0, 0));
        let old = h.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        old.linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_cksum();
        self.0.append(&h, &[][..]).unwrap();
        self
    }

    pub fn finish(self) -> Vec<u8> {
        self.0.into_inner().unwrap()
    }
}

pub const TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const TAR_GZ: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// An image config with the given run settings and one diff_id per (uncompressed) layer.
pub fn config_json(layers: &[&[u8]], cmd: &[&str]) -> Vec<u8> {
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|l| format!("\"sha256:{}\"", sha256_hex(l)))
        .collect();
    let cmd: Vec<String> = cmd.iter().map(|c| format!("\"{c}\"")).collect();
    format!(
        concat!(
            r#"{{"created":"2024-05-06T07:08:09Z","architecture":"amd64","os":"linux","#,
            r#""config":{{"Entrypoint":["/bin/entry"],"Cmd":[{}],"Env":["PATH=/bin","A=b"],"#,
            r#""WorkingDir":"/work","User":"1000:1000"}},"#,
            r#""rootfs":{{"type":"layers","diff_ids":[{}]}}}}"#
        ),
        cmd.join(","),
        diff_ids.join(",")
    )
    .into_bytes()
}

fn put_blob(layout: &Path, bytes: &[u8]) -> String {
    let hex = sha256_hex(bytes);
    let dir = layout.join("blobs/sha256");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(&hex), bytes).unwrap();
    hex
}

fn descriptor(media: &str, bytes: &[u8], hex: &str, extra: &str) -> String {
    format!(
        r#"{{"mediaType":"{media}","digest":"sha256:{hex}","size":{}{extra}}}"#,
        bytes.len()
    )
}

/// An OCI image: its layers as stored (with media types) and its config.
pub struct OciImage<'a> {
    pub layers: Vec<(&'a [u8], &'a str)>,
    pub config: &'a [u8],
    pub tag: Option<&'a str>,
}

/// Writes images into an OCI layout at `dir`; returns the layer blob hexes of each image.
pub fn write_layout(dir: &Path, images: &[OciImage<'_>]) -> Vec<Vec<String>> {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let mut manifests = Vec::new();
    let mut all_hexes = Vec::new();
    for image in images {
        let config_hex = put_blob(dir, image.config);
        let mut layers = Vec::new();
        let mut hexes = Vec::new();
        for (bytes, media) in &image.layers {
            let hex = put_blob(dir, bytes);
            layers.push(descriptor(media, bytes, &hex, ""));
            hexes.push(hex);
        }
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[{}]}}"#,
            descriptor(
                "application/vnd.oci.image.config.v1+json",
                image.config,
                &config_hex,
                ""
            ),
            layers.join(",")
        );
        let manifest_hex = put_blob(dir, manifest.as_bytes());
        let annotations = match image.tag {
            Some(tag) => {
                format!(r#","annotations":{{"org.opencontainers.image.ref.name":"{tag}"}}"#)
            }
            None => String::new(),
        };
        manifests.push(descriptor(
            "application/vnd.oci.image.manifest.v1+json",
            manifest.as_bytes(),
            &manifest_hex,
            &annotations,
        ));
        all_hexes.push(hexes);
    }
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{}]}}"#,
        manifests.join(",")
    );
    fs::write(dir.join("index.json"), index).unwrap();
    all_hexes
}

/// Writes a tar file at `path` holding `files` (name, bytes), in that order.
pub fn write_tar(path: &Path, files: &[(String, Vec<u8>)]) {
    let mut b = Builder::new(fs::File::create(path).unwrap());
    for (name, bytes) in files {
        let mut h = Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(bytes.len() as u64);
        b.append_data(&mut h, name, &bytes[..]).unwrap();
    }
    b.finish().unwrap();
}

/// A docker-save archive (old format: `<hex>/layer.tar`, `<hex>.json`) of plain layers.
pub fn write_docker_save(path: &Path, layers: &[&[u8]], config: &[u8], tags: &[&str]) {
    let config_name = format!("{}.json", sha256_hex(config));
    let names: Vec<String> = layers
        .iter()
        .map(|l| format!("{}/layer.tar", sha256_hex(l)))
        .collect();
    let quoted = |v: &[String]| {
        v.iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(",")
    };
    let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
    let manifest = format!(
        r#"[{{"Config":"{config_name}","RepoTags":[{}],"Layers":[{}]}}]"#,
        quoted(&tags),
        quoted(&names)
    );
    // Layers first and manifest.json last, as docker writes them.
    let mut files: Vec<(String, Vec<u8>)> = names
        .iter()
        .zip(layers)
        .map(|(n, l)| (n.clone(), l.to_vec()))
        .collect();
    files.push((config_name, config.to_vec()));
    files.push(("manifest.json".to_string(), manifest.into_bytes()));
    write_tar(path, &files);
}

/// Tars up a layout directory as an OCI archive.
pub fn write_oci_archive(path: &Path, layout: &Path) {
    let mut files = Vec::new();
    for rel in ["oci-layout", "index.json"] {
        files.push((rel.to_string(), fs::read(layout.join(rel)).unwrap()));
    }
    for entry in fs::read_dir(layout.join("blobs/sha256")).unwrap() {
        let entry = entry.unwrap();
        let name = format!("blobs/sha256/{}", entry.file_name().to_string_lossy());
        files.push((name, fs::read(entry.path()).unwrap()));
    }
    write_tar(path, &files);
}

/// What a tree looks like: per relative path, type, mode, owner, mtime, size, content hash,
/// link target and device number. The root itself is left out.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = fs::symlink_metadata(&path).unwrap();
        let ft = meta.file_type();
        let detail = if ft.is_symlink() {
            format!("-> {}", fs::read_link(&path).unwrap().display())
        } else if ft.is_file() {
            let mut bytes = Vec::new();
            fs::File::open(&path)
                .unwrap()
                .read_to_end(&mut bytes)
                .unwrap();
            format!("size {} sha {}", bytes.len(), sha256_hex(&bytes))
        } else if ft.is_char_device() || ft.is_block_device() {
            format!("rdev {:x}", meta.rdev())
        } else {
            String::new()
        };
        // A symlink's own mode and mtime are not meaningful to compare.
        let mode_time = if ft.is_symlink() {
            String::new()
        } else {
            format!("mode {:o} mtime {}", meta.mode(), meta.mtime())
        };
        let info = format!("{mode_time} uid {} gid {} {detail}", meta.uid(), meta.gid());
        out.insert(path.strip_prefix(root).unwrap().to_path_buf(), info);
        if ft.is_dir() {
            walk(root, &path, out);
        }
    }
}
