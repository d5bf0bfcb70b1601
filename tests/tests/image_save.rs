//! `den image save`: docker-save archives that skopeo reads and den loads back as the same images.
use std::fs;
use std::path::Path;

use den_tests::{assert_rejected, fixture_layout_edited, fixtures, skopeo, Sandbox};
use serde_json::Value;

/// A copy of the fixture layout whose config also sets `FLAVOUR=other`: another image (id) on
/// the same layer. Returns its id.
fn other_image(dir: &Path) -> String {
    fixture_layout_edited(dir, |config, _, _| {
        config["config"]["Env"]
            .as_array_mut()
            .unwrap()
            .push("FLAVOUR=other".into());
    })
}

/// `Loaded image: NAME (ID)` lines: (name, id).
fn loaded(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Loaded image: "))
        .filter_map(|l| l.split_once(" ("))
        .map(|(n, id)| (n.to_string(), id.trim_end_matches(')').to_string()))
        .collect()
}

#[test]
fn a_saved_image_is_read_by_skopeo_and_loads_back_as_the_same_image() {
    let sb = Sandbox::new();
    let load = sb
        .den(&[
            "image",
            "load",
            "--name",
            "saved/bb:v1",
            fixtures().oci_arg(),
        ])
        .ok();
    let id = loaded(&load.stdout)[0].1.clone();
    sb.den(&["tag", "saved/bb:v1", "saved/bb:v2"]).ok();
    let file = sb.scratch().join("bb.tar");
    let file_arg = file.to_str().unwrap();
    sb.den(&[
        "image",
        "save",
        "-o",
        file_arg,
        "saved/bb:v1",
        "saved/bb:v2",
    ])
    .ok();

    // docker's format: one entry for the image, both names as RepoTags.
    let manifest = sb.host(&format!("tar -xOf {file_arg} manifest.json")).ok();
    let entries: Value = serde_json::from_str(&manifest.stdout).unwrap();
    assert_eq!(entries.as_array().map(Vec::len), Some(1), "{entries}");
    assert_eq!(
        entries[0]["RepoTags"],
        serde_json::json!(["saved/bb:v1", "saved/bb:v2"])
    );
    let config = entries[0]["Config"].as_str().unwrap();
    assert_eq!(
        config,
        format!("blobs/sha256/{}", id.trim_start_matches("sha256:"))
    );

    // skopeo reads it as a docker archive (and copies it out, verifying every blob).
    let seen = skopeo(
        &sb,
        &format!("inspect docker-archive:{file_arg}:saved/bb:v1"),
    )
    .ok();
    let seen: Value = serde_json::from_str(&seen.stdout).unwrap();
    assert_eq!(seen["Architecture"], "amd64", "{seen}");
    let out = sb.scratch().join("copied");
    skopeo(
        &sb,
        &format!(
            "copy docker-archive:{file_arg}:saved/bb:v2 oci:{}:x",
            out.display()
        ),
    )
    .ok();
    assert!(out
        .join("blobs/sha256")
        .join(id.trim_start_matches("sha256:"))
        .is_file());

    // Removed, then loaded from the archive: the same id under both names, and it runs.
    sb.den(&["rmi", "saved/bb:v1", "saved/bb:v2"]).ok();
    let again = sb.den(&["image", "load", "-i", file_arg]).ok();
    let names = loaded(&again.stdout);
    assert_eq!(
        names,
        [
            ("docker.io/saved/bb:v1".to_string(), id.clone()),
            ("docker.io/saved/bb:v2".to_string(), id.clone())
        ],
        "{again}"
    );
    let run = sb
        .den(&[
            "run",
            "--rm",
            "--network",
            "none",
            "saved/bb:v2",
            "echo",
            "back",
        ])
        .ok();
    assert_eq!(run.stdout, "back\n");

    // A name den does not have: one line, and no archive left behind.
    let bad = sb.scratch().join("bad.tar");
    let out = sb.den(&[
        "image",
        "save",
        "-o",
        bad.to_str().unwrap(),
        "saved/bb:v1",
        "nope",
    ]);
    assert_rejected(&out, &["nope"]);
    let left: Vec<_> = fs::read_dir(sb.scratch())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("bad.tar"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn an_archive_of_two_images_loads_both_without_a_tag() {
    let sb = Sandbox::new();
    let layout = sb.scratch().join("other");
    let other_id = other_image(&layout);
    sb.den(&["image", "load", "--name", "one/bb:1", fixtures().oci_arg()])
        .ok();
    sb.den(&[
        "image",
        "load",
        "--name",
        "two/bb:2",
        layout.to_str().unwrap(),
    ])
    .ok();
    let file = sb.scratch().join("two.tar");
    let file_arg = file.to_str().unwrap();
    sb.den(&["image", "save", "-o", file_arg, "one/bb:1", "two/bb:2"])
        .ok();
    let first = sb.den(&["image", "inspect", "one/bb:1"]).ok();
    let first: Value = serde_json::from_str(&first.stdout).unwrap();
    let first_id = first[0]["Id"].as_str().unwrap().to_string();
    sb.den(&["rmi", "one/bb:1", "two/bb:2"]).ok();
    // No image left, no kept blob left.
    let blobs: Vec<_> = fs::read_dir(sb.root().join("images/blobs/sha256"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(blobs.is_empty(), "{blobs:?}");

    let out = sb.den(&["image", "load", file_arg]).ok();
    assert_eq!(
        loaded(&out.stdout),
        [
            ("docker.io/one/bb:1".to_string(), first_id),
            ("docker.io/two/bb:2".to_string(), other_id)
        ],
        "{out}"
    );
    let env = sb
        .den(&[
            "run",
            "--rm",
            "--network",
            "none",
            "two/bb:2",
            "sh",
            "-c",
            "echo $FLAVOUR",
        ])
        .ok();
    assert_eq!(env.stdout, "other\n");
    // One of them by its tag, as before.
    sb.den(&["rmi", "one/bb:1", "two/bb:2"]).ok();
    let one = sb
        .den(&["image", "load", &format!("{file_arg}:two/bb:2")])
        .ok();
    assert_eq!(loaded(&one.stdout).len(), 1, "{one}");
}
