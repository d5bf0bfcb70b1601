//! Bad input: each refused with a one-line error naming the culprit, nothing half-made left.
use std::fs;

use den_runtime::image::{ImageError, ImageStore};
use tar::EntryType;

use crate::support::*;
use crate::{assert_no_leftovers, base_layer, layout_of, top_layer};

#[test]
fn layer_digest_mismatch_is_refused_and_leaves_nothing() {
    let tmp = TempDir::new("mismatch");
    let layout = tmp.path().join("img");
    let (base, top) = (base_layer(), top_layer());
    let hexes = layout_of(&layout, &base, &top);
    // Swap the top layer's bytes for another valid tar of the same size.
    let blob = layout.join("blobs/sha256").join(&hexes[1]);
    let mut other = top.clone();
    other[0] ^= 1; // first byte of the first name: still a valid tar
    fs::write(&blob, &other).unwrap();
    let state = tmp.path().join("state");
    let err = ImageStore::new(&state)
        .resolve(layout.to_str().unwrap())
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ImageError::DigestMismatch { .. }), "{msg}");
    assert_eq!(
        msg,
        format!(
            "blob sha256:{} in {}: digest mismatch (got sha256:{})",
            hexes[1],
            layout.canonicalize().unwrap().display(),
            sha256_hex(&other)
        )
    );
    assert!(!state.join("images/layers/sha256").join(&hexes[1]).exists());
    assert_no_leftovers(&state);
}

#[test]
fn config_digest_mismatch_is_refused() {
    let tmp = TempDir::new("cfgmismatch");
    let layout = tmp.path().join("img");
    layout_of(&layout, &base_layer(), &top_layer());
    for entry in fs::read_dir(layout.join("blobs/sha256")).unwrap() {
        let path = entry.unwrap().path();
        let text = fs::read_to_string(&path).unwrap_or_default();
        if text.starts_with("{\"created") {
            fs::write(&path, text.replace("/work", "/w0rk")).unwrap();
        }
    }
    let err = ImageStore::new(&tmp.path().join("state"))
        .resolve(layout.to_str().unwrap())
        .unwrap_err();
    assert!(matches!(err, ImageError::DigestMismatch { .. }), "{err}");
}

#[test]
fn unknown_tag_names_the_tags_there_are() {
    let tmp = TempDir::new("tag");
    let layout = tmp.path().join("img");
    layout_of(&layout, &base_layer(), &top_layer());
    let store = ImageStore::new(&tmp.path().join("state"));
    let err = store
        .resolve(&format!("{}:nope", layout.display()))
        .unwrap_err();
    assert!(matches!(err, ImageError::UnknownTag { .. }), "{err}");
    assert!(
        err.to_string().contains("\"nope\"") && err.to_string().contains("latest"),
        "{err}"
    );
    assert_eq!(
        store
            .resolve(&format!("{}:latest", layout.display()))
            .unwrap()
            .layers
            .len(),
        2
    );
}

#[test]
fn several_images_need_a_tag() {
    let tmp = TempDir::new("several");
    let layout = tmp.path().join("img");
    let (one, two) = (
        Layer::new().file("x", "1").finish(),
        Layer::new().file("x", "2").finish(),
    );
    let (c1, c2) = (
        config_json(&[&one], &["one"]),
        config_json(&[&two], &["two"]),
    );
    write_layout(
        &layout,
        &[
            OciImage {
                layers: vec![(&one, TAR)],
                config: &c1,
                tag: Some("one"),
            },
            OciImage {
                layers: vec![(&two, TAR)],
                config: &c2,
                tag: Some("two"),
            },
        ],
    );
    let store = ImageStore::new(&tmp.path().join("state"));
    let err = store.resolve(layout.to_str().unwrap()).unwrap_err();
    assert!(
        matches!(err, ImageError::Ambiguous { count: 2, .. }),
        "{err}"
    );
    let two_img = store.resolve(&format!("{}:two", layout.display())).unwrap();
    assert_eq!(two_img.config.cmd, ["two"]);
    assert_eq!(
        fs::read_to_string(two_img.layers[0].join("x")).unwrap(),
        "2"
    );
}

#[test]
fn a_tar_of_neither_format_is_refused() {
    let tmp = TempDir::new("neither");
    let plain = tmp.path().join("rootfs.tar");
    write_tar(&plain, &[("bin/sh".to_string(), b"x".to_vec())]);
    let store = ImageStore::new(&tmp.path().join("state"));
    let err = store.resolve(plain.to_str().unwrap()).unwrap_err();
    assert!(matches!(err, ImageError::NotAnArchive { .. }), "{err}");
    assert!(err.to_string().contains("rootfs.tar: neither"), "{err}");

    let junk = tmp.path().join("junk.bin");
    fs::write(&junk, vec![7u8; 3000]).unwrap();
    let err = store.resolve(junk.to_str().unwrap()).unwrap_err();
    assert!(err.to_string().contains("junk.bin"), "{err}");
}

#[test]
fn missing_path_is_a_clear_error() {
    let tmp = TempDir::new("missing");
    let store = ImageStore::new(&tmp.path().join("state"));
    let err = store.resolve("/nonexistent/den-image").unwrap_err();
    assert_eq!(
        err.to_string(),
        "image \"/nonexistent/den-image\": no such file, directory or loaded image"
    );
}

#[test]
fn zstd_layers_are_unsupported() {
    let tmp = TempDir::new("zstd");
    let layout = tmp.path().join("img");
    let layer = Layer::new().file("x", "1").finish();
    let config = config_json(&[&layer], &["sh"]);
    let zstd = "application/vnd.oci.image.layer.v1.tar+zstd";
    write_layout(
        &layout,
        &[OciImage {
            layers: vec![(&layer, zstd)],
            config: &config,
            tag: None,
        }],
    );
    let err = ImageStore::new(&tmp.path().join("state"))
        .resolve(layout.to_str().unwrap())
        .unwrap_err();
    assert!(
        err.to_string().contains("unsupported layer media type"),
        "{err}"
    );
    assert!(err.to_string().contains("zstd"), "{err}");
}

#[test]
fn entries_escaping_the_layer_are_refused() {
    let outside = TempDir::new("outside");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "dotdot",
            Layer::new().raw("../evil", EntryType::Regular, "").finish(),
        ),
        (
            "absolute",
            Layer::new().raw("/evil", EntryType::Regular, "").finish(),
        ),
        (
            "hardlink",
            Layer::new()
                .raw("h", EntryType::Link, "../../etc/passwd")
                .finish(),
        ),
        (
            "through-symlink",
            Layer::new()
                .symlink("out", outside.path().to_str().unwrap())
                .file("out/evil", "x")
                .finish(),
        ),
        (
            "whiteout-through-symlink",
            Layer::new()
                .symlink("out", outside.path().to_str().unwrap())
                .file("out/.wh.evil", "")
                .finish(),
        ),
    ];
    for (name, layer) in cases {
        let tmp = TempDir::new("escape");
        let layout = tmp.path().join("img");
        let config = config_json(&[&layer], &["sh"]);
        write_layout(
            &layout,
            &[OciImage {
                layers: vec![(&layer, TAR)],
                config: &config,
                tag: None,
            }],
        );
        let state = tmp.path().join("state");
        let err = ImageStore::new(&state)
            .resolve(layout.to_str().unwrap())
            .unwrap_err();
        assert!(
            matches!(
                err,
                ImageError::UnsafeEntry { .. } | ImageError::Unpack { .. }
            ),
            "{name}: {err}"
        );
        assert!(!tmp.path().join("state/images/evil").exists(), "{name}");
        assert!(
            !outside.path().join("evil").exists(),
            "{name}: wrote outside"
        );
        assert!(fs::read_dir(state.join("images/layers/sha256"))
            .unwrap()
            .next()
            .is_none());
        assert_no_leftovers(&state);
    }
}
