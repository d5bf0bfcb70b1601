//! Bad input to `den run` is rejected with exit 125 and one `den: ` line naming the culprit, and
//! leaves nothing behind (no container, no link, no file, no mount).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use den_tests::{assert_rejected, fixtures, Footprint, Sandbox};

fn img() -> &'static str {
    fixtures().dir_arg()
}

/// A sandbox where den has already run one container (so lazily created state exists),
/// and its footprint.
fn warmed_up() -> (Sandbox, Footprint) {
    let sb = Sandbox::new();
    sb.den(&["run", "--rm", "--network", "none", img(), "true"])
        .ok();
    let fp = sb.footprint();
    (sb, fp)
}

/// Runs `den ARGS`, asserts the rejection contract and that nothing changed.
fn assert_rejected_cleanly(sb: &Sandbox, before: &Footprint, args: &[&str], culprits: &[&str]) {
    let out = sb.den(args);
    assert_rejected(&out, culprits);
    sb.assert_footprint(before, &format!("den {}", args.join(" ")));
}

#[test]
fn rejects_a_missing_image_path() {
    let (sb, before) = warmed_up();
    let missing = sb.scratch().join("no-such-image");
    let missing = missing.to_str().unwrap();
    assert_rejected_cleanly(
        &sb,
        &before,
        &["run", "--rm", "--network", "none", missing, "true"],
        &[missing],
    );
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn blob(layout: &Path, digest: &str) -> PathBuf {
    let (algo, hex) = digest.split_once(':').unwrap();
    layout.join("blobs").join(algo).join(hex)
}

/// The digest of the first layer of the first image in an OCI layout (following nested indexes).
fn first_layer_digest(layout: &Path) -> String {
    let mut doc = json(&layout.join("index.json"));
    loop {
        if let Some(layers) = doc.get("layers") {
            return layers[0]["digest"].as_str().unwrap().to_string();
        }
        let next = doc["manifests"][0]["digest"]
            .as_str()
            .expect("index without manifests");
        doc = json(&blob(layout, next));
    }
}

#[test]
fn rejects_a_layout_whose_layer_blob_is_corrupted() {
    let (sb, before) = warmed_up();
    let layout = sb.scratch().join("corrupt.oci");
    let cp = Command::new("cp")
        .arg("-a")
        .arg(&fixtures().oci)
        .arg(&layout)
        .status()
        .unwrap();
    assert!(cp.success(), "copying the OCI layout failed");
    let digest = first_layer_digest(&layout);
    let path = blob(&layout, &digest);
    let mut bytes = fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    fs::write(&path, bytes).unwrap();
    let hex = digest.split_once(':').unwrap().1;
    assert_rejected_cleanly(
        &sb,
        &before,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            layout.to_str().unwrap(),
            "true",
        ],
        &[&hex[..12]],
    );
}

#[test]
fn rejects_a_tar_that_is_no_image() {
    let (sb, before) = warmed_up();
    let content = sb.scratch().join("junk");
    fs::create_dir(&content).unwrap();
    fs::write(content.join("hello.txt"), "not an image\n").unwrap();
    let tar = sb.scratch().join("junk.tar");
    let made = Command::new("tar")
        .arg("-cf")
        .arg(&tar)
        .arg("-C")
        .arg(&content)
        .arg(".")
        .status()
        .unwrap();
    assert!(made.success(), "making the tar failed");
    let tar = tar.to_str().unwrap();
    assert_rejected_cleanly(
        &sb,
        &before,
        &["run", "--rm", "--network", "none", tar, "true"],
        &[tar],
    );
}

#[test]
fn rejects_a_name_already_in_use() {
    let sb = Sandbox::new();
    let first = sb.den_spawn(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--name",
        "dupname",
        img(),
        "sleep",
        "60",
    ]);
    let running = sb.wait_running(&first, "dupname");
    let before = sb.footprint();
    assert_rejected_cleanly(
        &sb,
        &before,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "--name",
            "dupname",
            img(),
            "true",
        ],
        &["dupname"],
    );
    let still = sb.inspect("dupname");
    assert_eq!(still.id(), running.id(), "the first container was replaced");
    assert_eq!(still.status().as_deref(), Some("running"));
}

#[test]
fn rejects_an_unknown_network() {
    let (sb, before) = warmed_up();
    assert_rejected_cleanly(
        &sb,
        &before,
        &["run", "--rm", "--network", "bogus", img(), "true"],
        &["bogus"],
    );
}

#[test]
fn rejects_a_relative_workdir() {
    let (sb, before) = warmed_up();
    assert_rejected_cleanly(
        &sb,
        &before,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "-w",
            "relative",
            img(),
            "true",
        ],
        &["relative"],
    );
}

#[test]
fn rejects_an_env_without_a_key() {
    let (sb, before) = warmed_up();
    assert_rejected_cleanly(
        &sb,
        &before,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "-e",
            "=v",
            img(),
            "true",
        ],
        &["=v"],
    );
}

#[test]
fn rejects_an_empty_name_as_invalid() {
    let (sb, before) = warmed_up();
    for args in [&["run", "--rm"][..], &["run", "-d"][..]] {
        let args = [args, &["--name", "", "--network", "none", img(), "true"]].concat();
        assert_rejected_cleanly(&sb, &before, &args, &["invalid container name \"\""]);
    }
}
