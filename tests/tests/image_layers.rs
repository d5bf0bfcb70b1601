//! Images of many layers run: docker runs 125, and so does den (short layer links keep the
//! overlay's mount options under the kernel's 4095 bytes).
use std::fs;
use std::path::Path;

use den_tests::{fixtures, Sandbox};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes `bytes` as a blob of `layout`; returns its descriptor fields.
fn put(layout: &Path, media: &str, bytes: &[u8]) -> Value {
    let h = hex(bytes);
    fs::write(layout.join("blobs/sha256").join(&h), bytes).unwrap();
    json!({"mediaType": media, "digest": format!("sha256:{h}"), "size": bytes.len()})
}

/// One tiny layer: `/layers/<i>` holding `i`.
fn layer(i: usize) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let body = i.to_string();
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    h.set_size(body.len() as u64);
    b.append_data(&mut h, format!("layers/{i}"), body.as_bytes())
        .unwrap();
    b.into_inner().unwrap()
}

/// The busybox fixture layout plus `extra` one-file layers on top.
fn layered_copy(dir: &Path, extra: usize) {
    let src = &fixtures().oci;
    let blob = |d: &Value| {
        let digest = d["digest"].as_str().unwrap().trim_start_matches("sha256:");
        fs::read(src.join("blobs/sha256").join(digest)).unwrap()
    };
    let index: Value = serde_json::from_slice(&fs::read(src.join("index.json")).unwrap()).unwrap();
    let manifest: Value = serde_json::from_slice(&blob(&index["manifests"][0])).unwrap();
    let mut config: Value = serde_json::from_slice(&blob(&manifest["config"])).unwrap();
    fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let mut layers = Vec::new();
    for d in manifest["layers"].as_array().unwrap() {
        layers.push(put(dir, d["mediaType"].as_str().unwrap(), &blob(d)));
    }
    for i in 0..extra {
        let tar = layer(i);
        let diff_ids = config["rootfs"]["diff_ids"].as_array_mut().unwrap();
        diff_ids.push(json!(format!("sha256:{}", hex(&tar))));
        layers.push(put(dir, "application/vnd.oci.image.layer.v1.tar", &tar));
    }
    let config = put(
        dir,
        "application/vnd.oci.image.config.v1+json",
        config.to_string().as_bytes(),
    );
    let manifest = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config, "layers": layers});
    let desc = put(
        dir,
        "application/vnd.oci.image.manifest.v1+json",
        manifest.to_string().as_bytes(),
    );
    let index = json!({"schemaVersion": 2, "manifests": [desc]});
    fs::write(dir.join("index.json"), index.to_string()).unwrap();
}

#[test]
fn an_image_of_125_layers_runs() {
    let sb = Sandbox::new();
    let layout = sb.scratch().join("many.oci");
    layered_copy(&layout, 124);
    let img = layout.to_str().unwrap();
    let out = sb
        .den(&[
            "run",
            "--rm",
            "--network",
            "none",
            img,
            "sh",
            "-c",
            "ls /layers | wc -l; cat /layers/0 /layers/123",
        ])
        .ok();
    let lines: Vec<&str> = out.stdout.split_whitespace().collect();
    assert_eq!(lines, ["124", "0123"], "{out}");
}
