//! A pull killed with SIGKILL mid-layer resumes where it stopped (a byte-range request), and
//! what it finally stores is verified whole.
use std::fs;
use std::path::Path;
use std::time::Duration;

use den_tests::{skopeo, wait_until, Registry, Sandbox, SIGKILL};
use serde_json::Value;
use sha2::{Digest, Sha256};

const BIG: usize = 32 << 20;

fn hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// Incompressible bytes (xorshift), so the layer's size is what goes over the wire.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The fixture layout plus one plain layer holding `/big` (32 MiB of noise).
fn big_layout(dir: &Path) {
    let src = &den_tests::fixtures().oci;
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs).unwrap();
    for e in fs::read_dir(src.join("blobs/sha256")).unwrap().flatten() {
        fs::copy(e.path(), blobs.join(e.file_name())).unwrap();
    }
    fs::copy(src.join("oci-layout"), dir.join("oci-layout")).unwrap();
    let put = |bytes: &[u8]| -> String {
        let h = hex(bytes);
        fs::write(blobs.join(&h), bytes).unwrap();
        h
    };
    let read = |d: &str| fs::read(blobs.join(d.trim_start_matches("sha256:"))).unwrap();
    let mut tar = tar::Builder::new(Vec::new());
    let data = noise(BIG);
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    h.set_size(data.len() as u64);
    tar.append_data(&mut h, "big", &data[..]).unwrap();
    let layer = tar.into_inner().unwrap();
    let layer_hex = put(&layer);

    let index: Value = serde_json::from_slice(&fs::read(src.join("index.json")).unwrap()).unwrap();
    let mut manifest: Value =
        serde_json::from_slice(&read(index["manifests"][0]["digest"].as_str().unwrap())).unwrap();
    let mut config: Value =
        serde_json::from_slice(&read(manifest["config"]["digest"].as_str().unwrap())).unwrap();
    config["rootfs"]["diff_ids"]
        .as_array_mut()
        .unwrap()
        .push(format!("sha256:{layer_hex}").into());
    let config = config.to_string().into_bytes();
    manifest["config"]["digest"] = format!("sha256:{}", put(&config)).into();
    manifest["config"]["size"] = config.len().into();
    manifest["layers"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": format!("sha256:{layer_hex}"),
            "size": layer.len(),
        }));
    let manifest = manifest.to_string().into_bytes();
    let mut entry = index["manifests"][0].clone();
    entry["digest"] = format!("sha256:{}", put(&manifest)).into();
    entry["size"] = manifest.len().into();
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [entry]});
    fs::write(dir.join("index.json"), index.to_string()).unwrap();
}

fn partial_size(root: &Path) -> u64 {
    fs::read_dir(root.join("images/blobs/sha256"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .max()
        .unwrap_or(0)
}

#[test]
fn a_pull_killed_mid_layer_resumes_where_it_stopped() {
    let sb = Sandbox::new();
    let reg = Registry::http(&sb, 5000);
    let layout = sb.scratch().join("big.oci");
    big_layout(&layout);
    skopeo(
        &sb,
        &format!(
            "copy --dest-tls-verify=false oci:{}:latest docker://{}/big:latest",
            layout.display(),
            reg.addr
        ),
    )
    .ok();
    // Slow the sandbox's loopback (its own, in its netns) so the kill lands mid-layer.
    sb.host("tc qdisc add dev lo root tbf rate 40mbit burst 1mb latency 500ms")
        .ok();
    let name = format!("{}/big:latest", reg.addr);
    let pull = sb.den_spawn(&["pull", &name]);
    wait_until(
        Duration::from_secs(30),
        "a partial download of 4 MiB",
        || partial_size(sb.root()) >= 4 << 20,
    );
    sb.kill_member(pull.pid(), SIGKILL);
    wait_until(Duration::from_secs(10), "the killed pull to exit", || {
        pull.try_exit().is_some()
    });
    let had = partial_size(sb.root());
    assert!(had >= 4 << 20 && had < BIG as u64, "partial is {had} bytes");
    sb.host("tc qdisc del dev lo root").ok();

    let out = sb.den(&["pull", &name]).ok();
    assert!(out.stdout.contains("Resuming download at"), "{out}");
    assert!(
        out.stdout.contains("Status: Downloaded newer image"),
        "{out}"
    );
    let size = sb
        .den(&[
            "run",
            "--rm",
            "--network",
            "none",
            &name,
            "stat",
            "-c",
            "%s",
            "/big",
        ])
        .ok();
    assert_eq!(size.stdout.trim(), BIG.to_string());
    assert_eq!(partial_size(sb.root()), 0, "no partial download left");
}
