//! `den push` to a real registry (docker-registry in the sandbox), pulled back with skopeo.
use std::fs;
use std::path::Path;

use den_tests::{assert_rejected, fixtures, skopeo, Registry, Sandbox};
use serde_json::Value;

/// What `skopeo inspect` says of `reference` (docker://...).
fn inspect(sb: &Sandbox, reference: &str) -> Value {
    let out = skopeo(
        sb,
        &format!("inspect --tls-verify=false docker://{reference}"),
    )
    .ok();
    serde_json::from_str(&out.stdout).expect("skopeo inspect JSON")
}

/// Removes the kept manifest from every name of the store at `images` (as a store made before
/// den kept blobs has them); returns the names.
fn forget_manifests(images: &Path) -> Vec<String> {
    let path = images.join("names.json");
    let mut names: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    let all = names.as_object_mut().unwrap();
    for entry in all.values_mut() {
        entry.as_object_mut().unwrap().remove("manifest");
    }
    let keys = all.keys().cloned().collect();
    fs::write(&path, names.to_string()).unwrap();
    keys
}

/// The digest den printed last: `TAG: digest: DIGEST size: N`.
fn pushed_digest(stdout: &str) -> String {
    let last = stdout.lines().last().unwrap_or_default();
    let digest = last.split(": digest: ").nth(1).unwrap_or_default();
    digest.split(' ').next().unwrap_or_default().to_string()
}

#[test]
fn a_loaded_image_pushed_by_den_is_what_skopeo_pulls_back() {
    let sb = Sandbox::new();
    let reg = Registry::http(&sb, 5000);
    let name = format!("{}/mine/busybox:v1", reg.addr);
    sb.den(&["image", "load", "--name", &name, fixtures().oci_arg()])
        .ok();
    let out = sb.den(&["push", &name]).ok();
    assert!(
        out.stdout.starts_with(&format!(
            "The push refers to repository [{}/mine/busybox]",
            reg.addr
        )),
        "{out}"
    );
    assert!(out.stdout.contains(": Preparing"), "{out}");
    assert!(out.stdout.contains(": Pushed"), "{out}");
    let digest = pushed_digest(&out.stdout);
    assert!(digest.starts_with("sha256:"), "{out}");

    // The registry serves what den kept, byte for byte: the fixture's own manifest digest, and
    // skopeo can copy the image out (it verifies every blob).
    let seen = inspect(&sb, &name);
    assert_eq!(seen["Digest"].as_str(), Some(digest.as_str()));
    let index: Value = serde_json::from_slice(
        &fs::read(fixtures().oci.join("index.json")).expect("fixture index"),
    )
    .unwrap();
    assert_eq!(index["manifests"][0]["digest"].as_str(), Some(&*digest));
    let dir = sb.scratch().join("copied");
    skopeo(
        &sb,
        &format!(
            "copy --src-tls-verify=false docker://{name} oci:{}:x",
            dir.display()
        ),
    )
    .ok();

    // Pushed again: every layer is there already.
    let again = sb.den(&["push", &name]).ok();
    assert!(again.stdout.contains(": Layer already exists"), "{again}");
    assert!(!again.stdout.contains(": Pushed"), "{again}");
    assert_eq!(pushed_digest(&again.stdout), digest);
}

#[test]
fn a_pulled_image_pushed_to_another_repository_mounts_its_layers() {
    let sb = Sandbox::new();
    let reg = Registry::http(&sb, 5000);
    reg.push_fixture(&sb, "tools/busybox:v1").ok();
    let pulled = format!("{}/tools/busybox:v1", reg.addr);
    let digest = inspect(&sb, &pulled)["Digest"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    sb.den(&["pull", "-q", &pulled]).ok();

    // As a store made before den kept blobs has it: no layer blob, no kept manifest. Push says
    // what to do; a pull again brings the blobs (its layers are already unpacked).
    let images = sb.root().join("images");
    let names = forget_manifests(&images);
    let inspected = inspect(&sb, &pulled);
    for layer in inspected["Layers"].as_array().unwrap() {
        let hex = layer.as_str().unwrap().trim_start_matches("sha256:");
        fs::remove_file(images.join("blobs/sha256").join(hex)).unwrap();
    }
    assert!(!names.is_empty());
    let old = sb.den(&["push", &pulled]);
    assert_rejected(&old, &["pull or load it again"]);
    let again = sb.den(&["pull", &pulled]).ok();
    assert!(again.stdout.contains("Download complete"), "{again}");

    let other = format!("{}/other/busybox:v2", reg.addr);
    sb.den(&["tag", &pulled, &other]).ok();
    let out = sb.den(&["push", &other]).ok();
    assert!(out.stdout.contains(": Mounted from tools/busybox"), "{out}");
    assert_eq!(pushed_digest(&out.stdout), digest, "{out}");
    assert_eq!(inspect(&sb, &other)["Digest"].as_str(), Some(&*digest));
}

#[test]
fn bad_pushes_are_one_line() {
    let sb = Sandbox::new();
    let reg = Registry::http(&sb, 5000);
    let missing = sb.den(&["push", &format!("{}/nosuch:v1", reg.addr)]);
    assert_rejected(&missing, &["nosuch"]);
    let malformed = sb.den(&["push", "UPPER/case"]);
    assert_rejected(&malformed, &["must be lowercase"]);
    let unreachable = "127.0.0.1:5999/busybox:v1";
    sb.den(&["image", "load", "--name", unreachable, fixtures().oci_arg()])
        .ok();
    let out = sb.den(&["push", unreachable]);
    assert_rejected(&out, &["127.0.0.1:5999"]);

    // An image stored before den kept blobs says what to do.
    forget_manifests(&sb.root().join("images"));
    let old = sb.den(&["push", unreachable]);
    assert_rejected(&old, &["pull or load it again"]);
}
