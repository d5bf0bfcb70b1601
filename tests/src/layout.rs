//! Copies of the busybox fixture's OCI layout with their config and manifest edited by a test,
//! every changed blob stored under its new digest so that the copy verifies as a whole.

use std::fs;
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::fixtures;

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The fixture layout copied to `dir`; `edit` changes its config and manifest (and may store more
/// blobs with `put`, which returns the blob's hex digest). The config, the manifest and the index
/// entry are then re-digested. Returns the new config's digest (`sha256:...`), the image's id.
pub fn fixture_layout_edited(
    dir: &Path,
    edit: impl FnOnce(&mut Value, &mut Value, &dyn Fn(&[u8]) -> String),
) -> String {
    let src = &fixtures().oci;
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs).unwrap();
    for e in fs::read_dir(src.join("blobs/sha256")).unwrap().flatten() {
        fs::copy(e.path(), blobs.join(e.file_name())).unwrap();
    }
    fs::copy(src.join("oci-layout"), dir.join("oci-layout")).unwrap();
    let read = |d: &str| fs::read(blobs.join(d.trim_start_matches("sha256:"))).unwrap();
    let put = |bytes: &[u8]| -> String {
        let hex = sha256_hex(bytes);
        fs::write(blobs.join(&hex), bytes).unwrap();
        hex
    };
    let mut index: Value =
        serde_json::from_slice(&fs::read(src.join("index.json")).unwrap()).unwrap();
    let mut manifest: Value =
        serde_json::from_slice(&read(index["manifests"][0]["digest"].as_str().unwrap())).unwrap();
    let mut config: Value =
        serde_json::from_slice(&read(manifest["config"]["digest"].as_str().unwrap())).unwrap();
    edit(&mut config, &mut manifest, &put);
    let config = config.to_string().into_bytes();
    let config_digest = format!("sha256:{}", put(&config));
    manifest["config"]["digest"] = config_digest.clone().into();
    manifest["config"]["size"] = config.len().into();
    let manifest = manifest.to_string().into_bytes();
    index["manifests"][0]["digest"] = format!("sha256:{}", put(&manifest)).into();
    index["manifests"][0]["size"] = manifest.len().into();
    fs::write(dir.join("index.json"), index.to_string()).unwrap();
    config_digest
}
