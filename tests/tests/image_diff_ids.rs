//! A layer's uncompressed content must be what the image config's `rootfs.diff_ids` says (the
//! config's digest is the image's id): an image whose config names other content is refused, in
//! one line naming the layer, and nothing of it is stored. docker and containerd check the same.

use std::fs;
use std::path::Path;

use den_tests::{
    assert_rejected, fixture_layout_edited, fixtures, sha256_hex, skopeo, Registry, Sandbox,
};

/// The busybox fixture (one gzip layer) copied to `dir`, its config's diff_id replaced by the
/// digest of something else (every blob still verifies). Returns the wrong diff_id.
fn layout_with_wrong_diff_id(dir: &Path) -> String {
    let wrong = format!("sha256:{}", sha256_hex(b"not what the layer holds"));
    fixture_layout_edited(dir, |config, _, _| {
        config["rootfs"]["diff_ids"][0] = wrong.clone().into();
    });
    wrong
}

/// Nothing of the image in den's store: no layer, no name, no container.
fn assert_nothing_stored(sb: &Sandbox) {
    let layers = sb.root().join("images/layers/sha256");
    let left: Vec<_> = fs::read_dir(&layers)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    let tmp: Vec<_> = fs::read_dir(sb.root().join("images/tmp"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(tmp.is_empty(), "{tmp:?}");
    assert_eq!(sb.den(&["ps", "-aq"]).ok().out(), "");
}

#[test]
fn a_layer_whose_content_is_not_the_configs_diff_id_is_refused_and_nothing_is_stored() {
    let sb = Sandbox::new();
    let layout = sb.scratch().join("wrong-diff-id");
    let wrong = layout_with_wrong_diff_id(&layout);
    let out = sb.den(&[
        "run",
        "--rm",
        "--network",
        "none",
        &layout.display().to_string(),
        "true",
    ]);
    assert_rejected(&out, &["rootfs.diff_ids"]);
    assert!(out.stderr.contains(&wrong), "{out}");
    assert_nothing_stored(&sb);

    // The same image through a registry: `den pull` downloads and verifies every blob, then
    // refuses it while unpacking.
    let reg = Registry::http(&sb, 5000);
    skopeo(
        &sb,
        &format!(
            "copy --dest-tls-verify=false oci:{}:latest docker://{}/wrong:1",
            layout.display(),
            reg.addr
        ),
    )
    .ok();
    let out = sb.den(&["pull", &format!("{}/wrong:1", reg.addr)]);
    assert_rejected(&out, &["rootfs.diff_ids"]);
    assert!(out.stderr.contains(&wrong), "{out}");
    assert_nothing_stored(&sb);
    let names = fs::read_to_string(sb.root().join("images/names.json")).unwrap_or_default();
    assert!(!names.contains("wrong"), "{names}");

    // Control: the fixture itself, diff_ids intact, runs.
    sb.den(&[
        "run",
        "--rm",
        "--network",
        "none",
        fixtures().dir_arg(),
        "true",
    ])
    .ok();
}
