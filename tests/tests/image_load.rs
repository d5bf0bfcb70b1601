//! `den image load` as docker's: from a file or stdin, under the names the archive records.
use std::fs;

use den_tests::{assert_rejected, den_bin, fixtures, Sandbox};

#[test]
fn load_reads_stdin_and_takes_the_archives_names() {
    let sb = Sandbox::new();
    let out = sb
        .host(&format!(
            "exec {} --root {} image load < {}",
            den_bin().display(),
            sb.root().display(),
            fixtures().tar_arg()
        ))
        .ok();
    assert!(
        out.stdout
            .starts_with("Loaded image: docker.io/library/busybox:latest (sha256:"),
        "{out}"
    );
    let run = sb
        .den(&[
            "run",
            "--rm",
            "--pull",
            "never",
            "--network",
            "none",
            "busybox",
            "echo",
            "ok",
        ])
        .ok();
    assert_eq!(run.stdout, "ok\n");
    let images = sb.den(&["images"]).ok();
    assert!(
        images
            .stdout
            .lines()
            .any(|l| l.starts_with("busybox ") && l.contains("latest")),
        "{images}"
    );

    // Another name for it; a bad one refused.
    sb.den(&["tag", "busybox", "localhost:5000/tools/box:v2"])
        .ok();
    let run = sb.den(&[
        "run",
        "--rm",
        "--pull",
        "never",
        "--network",
        "none",
        "localhost:5000/tools/box:v2",
        "true",
    ]);
    run.ok();
    assert_rejected(&sb.den(&["tag", "busybox", "Bad/Name"]), &["Bad/Name"]);
    assert_rejected(&sb.den(&["tag", "nosuch", "x"]), &["nosuch"]);

    let inspect = sb.den(&["image", "inspect", "busybox"]).ok();
    let v: serde_json::Value = serde_json::from_str(&inspect.stdout).unwrap();
    assert_eq!(
        v[0]["RepoTags"][0], "docker.io/library/busybox:latest",
        "{inspect}"
    );
    assert_eq!(
        v[0]["RootFS"]["Layers"].as_array().map(Vec::len),
        Some(1),
        "{inspect}"
    );
    assert!(
        v[0]["Id"].as_str().unwrap().starts_with("sha256:"),
        "{inspect}"
    );
    assert_rejected(&sb.den(&["image", "inspect", "nosuch"]), &["nosuch"]);

    // Layers no name uses are pruned; used ones stay.
    let layers = sb.root().join("images/layers/sha256");
    let orphan = layers.join("ab".repeat(32));
    fs::create_dir_all(orphan.join("etc")).unwrap();
    fs::write(orphan.join("etc/x"), "12345").unwrap();
    let pruned = sb.den(&["image", "prune"]).ok();
    assert!(
        pruned
            .stdout
            .contains(&format!("deleted: sha256:{}", "ab".repeat(32))),
        "{pruned}"
    );
    assert!(
        pruned.stdout.contains("Total reclaimed space: 5B"),
        "{pruned}"
    );
    assert!(!orphan.exists());
    sb.den(&[
        "run",
        "--rm",
        "--pull",
        "never",
        "--network",
        "none",
        "busybox",
        "true",
    ])
    .ok();

    let junk = sb.scratch().join("junk.tar");
    fs::write(&junk, b"not an archive at all").unwrap();
    assert_rejected(
        &sb.den(&["image", "load", "-i", junk.to_str().unwrap()]),
        &["junk.tar"],
    );
    assert!(fs::read_dir(sb.root().join("images/tmp")).map_or(true, |d| d.count() == 0));
}
