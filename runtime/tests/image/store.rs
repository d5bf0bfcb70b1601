//! The layer store across formats: same files, same trees; no re-unpacking; names; races.
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;

use den_runtime::image::{ImageError, ImageStore};

use crate::support::*;
use crate::{assert_no_leftovers, base_layer, layout_of, top_layer};

#[test]
fn docker_save_oci_archive_and_layout_give_identical_trees() {
    let tmp = TempDir::new("formats");
    let (base, top) = (base_layer(), top_layer());
    let layout = tmp.path().join("img");
    layout_of(&layout, &base, &top);
    let config = config_json(&[&base, &top], &["sh", "-c", "true"]);
    let save = tmp.path().join("save.tar");
    write_docker_save(&save, &[&base, &top], &config, &["example/img:v1"]);
    let archive = tmp.path().join("oci.tar");
    write_oci_archive(&archive, &layout);

    let store = ImageStore::new(&tmp.path().join("state"));
    let from_layout = store.resolve(layout.to_str().unwrap()).unwrap();
    let from_save = store.resolve(save.to_str().unwrap()).unwrap();
    let from_archive = store.resolve(archive.to_str().unwrap()).unwrap();
    assert_eq!(from_save.id, from_layout.id, "same config, same id");
    assert_eq!(from_save.config, from_layout.config);
    assert_eq!(
        from_archive.layers, from_layout.layers,
        "same blobs, same store dirs"
    );
    assert_eq!(from_save.layers.len(), 2);
    // The base layer is gzip in the layout and plain in the archive: stored apart, same tree.
    // The top layer is the same blob in both, but over another base: stored by chain, apart.
    assert_ne!(from_layout.layers[0], from_save.layers[0]);
    assert_ne!(from_layout.layers[1], from_save.layers[1]);
    for (a, b) in from_layout.layers.iter().zip(&from_save.layers) {
        assert_eq!(
            snapshot(a),
            snapshot(b),
            "{} vs {}",
            a.display(),
            b.display()
        );
    }
    // Tags of a docker-save archive: the full repo:tag or the tag alone.
    for tag in ["example/img:v1", "v1"] {
        store.resolve(&format!("{}:{tag}", save.display())).unwrap();
    }
    let err = store
        .resolve(&format!("{}:v2", save.display()))
        .unwrap_err();
    assert!(matches!(err, ImageError::UnknownTag { .. }), "{err}");
}

#[test]
fn archive_tags_match_as_docker_normalises_them() {
    // `skopeo copy ... docker-archive:x.tar:t` records "docker.io/library/t:latest".
    let tmp = TempDir::new("skopeotag");
    let base = base_layer();
    let config = config_json(&[&base], &["true"]);
    let save = tmp.path().join("x.tar");
    write_docker_save(&save, &[&base], &config, &["docker.io/library/t:latest"]);
    let store = ImageStore::new(&tmp.path().join("state"));
    for tag in ["t", "t:latest", "library/t", "docker.io/library/t:latest"] {
        let image = store.resolve(&format!("{}:{tag}", save.display()));
        assert!(image.is_ok(), "{tag}: {}", image.unwrap_err());
    }
    let err = store.resolve(&format!("{}:u", save.display())).unwrap_err();
    assert!(matches!(err, ImageError::UnknownTag { .. }), "{err}");
}

#[test]
fn load_takes_the_names_the_archive_gives() {
    let tmp = TempDir::new("loadnames");
    let base = base_layer();
    let config = config_json(&[&base], &["true"]);
    let save = tmp.path().join("x.tar");
    write_docker_save(&save, &[&base], &config, &["t", "example.com/app:v1"]);
    let store = ImageStore::new(&tmp.path().join("state"));
    let loaded = store.load(&save, None).unwrap().remove(0);
    let (image, names) = (loaded.image, loaded.names);
    assert_eq!(names, ["docker.io/library/t:latest", "example.com/app:v1"]);
    assert_eq!(store.resolve("t").unwrap().layers, image.layers);
    assert_eq!(store.resolve("example.com/app:v1").unwrap().id, image.id);
    // From a reader (stdin), the same; the temp copy is gone afterwards.
    let again = store
        .load_from(fs::File::open(&save).unwrap(), None)
        .unwrap()
        .remove(0)
        .image;
    assert_eq!(again.id, image.id);
    assert_no_leftovers(&tmp.path().join("state"));
    // An OCI layout whose ref.name is only a tag names nothing.
    let layout = tmp.path().join("img");
    layout_of(&layout, &base_layer(), &top_layer());
    let err = store.load(&layout, None).unwrap_err();
    assert!(matches!(err, ImageError::Unnamed { .. }), "{err}");
}

#[test]
fn docker_save_layer_corruption_is_caught() {
    let tmp = TempDir::new("savebad");
    let base = base_layer();
    let config = config_json(&[&base], &["sh"]);
    let mut other = base.clone();
    other[0] ^= 1;
    // The config's diff_id is the real layer's; the archive carries another.
    let save = tmp.path().join("save.tar");
    let name = format!("{}/layer.tar", sha256_hex(&base));
    let manifest = format!(
        r#"[{{"Config":"{}.json","RepoTags":null,"Layers":["{name}"]}}]"#,
        sha256_hex(&config)
    );
    write_tar(
        &save,
        &[
            (name, other),
            (format!("{}.json", sha256_hex(&config)), config.clone()),
            ("manifest.json".to_string(), manifest.into_bytes()),
        ],
    );
    let state = tmp.path().join("state");
    let err = ImageStore::new(&state)
        .resolve(save.to_str().unwrap())
        .unwrap_err();
    assert!(matches!(err, ImageError::DigestMismatch { .. }), "{err}");
    assert_no_leftovers(&state);
}

#[test]
fn a_second_resolve_does_not_unpack_again() {
    let tmp = TempDir::new("again");
    let layout = tmp.path().join("img");
    let (base, top) = (base_layer(), top_layer());
    let hexes = layout_of(&layout, &base, &top);
    let save = tmp.path().join("save.tar");
    let config = config_json(&[&base, &top], &["sh", "-c", "true"]);
    write_docker_save(&save, &[&base, &top], &config, &[]);
    let store = ImageStore::new(&tmp.path().join("state"));
    for reference in [layout.to_str().unwrap(), save.to_str().unwrap()] {
        let first = store.resolve(reference).unwrap();
        let stamps: Vec<_> = first
            .layers
            .iter()
            .map(|l| {
                let m = fs::metadata(l).unwrap();
                (m.ino(), m.mtime_nsec(), m.ctime_nsec())
            })
            .collect();
        let second = store.resolve(reference).unwrap();
        assert_eq!(first.layers, second.layers);
        let again: Vec<_> = second
            .layers
            .iter()
            .map(|l| {
                let m = fs::metadata(l).unwrap();
                (m.ino(), m.mtime_nsec(), m.ctime_nsec())
            })
            .collect();
        assert_eq!(stamps, again, "{reference}: layer dirs were remade");
    }
    // Stronger: without its layer blobs, a layout whose layers are stored still resolves.
    for hex in &hexes {
        fs::remove_file(layout.join("blobs/sha256").join(hex)).unwrap();
    }
    store.resolve(layout.to_str().unwrap()).unwrap();
}

#[test]
fn concurrent_resolves_share_one_unpack() {
    let tmp = TempDir::new("race");
    let layout = tmp.path().join("img");
    layout_of(&layout, &base_layer(), &top_layer());
    let state = tmp.path().join("state");
    let reference = Arc::new(layout.to_str().unwrap().to_string());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (state, reference) = (state.clone(), Arc::clone(&reference));
            std::thread::spawn(move || ImageStore::new(&state).resolve(&reference).unwrap())
        })
        .collect();
    let images: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    for image in &images[1..] {
        assert_eq!(image.layers, images[0].layers);
    }
    assert_eq!(
        fs::read_dir(state.join("images/layers/sha256"))
            .unwrap()
            .count(),
        2
    );
    assert_no_leftovers(&state);
}

#[test]
fn rootfs_directories_are_one_layer() {
    let tmp = TempDir::new("rootfs");
    let rootfs = tmp.path().join("rootfs");
    fs::create_dir_all(rootfs.join("bin")).unwrap();
    let store = ImageStore::new(&tmp.path().join("state"));
    let reference = format!("{}/../rootfs", rootfs.display());
    let image = store.resolve(&reference).unwrap();
    let canonical = rootfs.canonicalize().unwrap();
    assert_eq!(image.layers, std::slice::from_ref(&canonical));
    assert_eq!(image.id, format!("dir:{}", canonical.display()));
    assert_eq!(image.reference, reference);
    assert!(
        !tmp.path().join("state/images").exists(),
        "nothing stored for a rootfs dir"
    );
    // A rootfs directory has no tags: `DIR:TAG` is looked up as a name instead.
    let err = store
        .resolve(&format!("{}:v1", rootfs.display()))
        .unwrap_err();
    assert!(matches!(err, ImageError::NotFound { .. }), "{err}");
    // Loaded under a name, it stays where it is, and removing the name leaves it alone.
    let loaded = store.load(&rootfs, Some("plain")).unwrap().remove(0).image;
    assert_eq!(loaded.layers, store.resolve("plain").unwrap().layers);
    assert_eq!(loaded.id, image.id);
    store.remove("plain").unwrap();
    assert!(rootfs.join("bin").is_dir());
}

#[test]
fn loaded_names_resolve_list_and_remove() {
    let tmp = TempDir::new("names");
    let layout = tmp.path().join("img");
    let (base, top) = (base_layer(), top_layer());
    layout_of(&layout, &base, &top);
    let save = tmp.path().join("save.tar");
    let config = config_json(&[&base, &top], &["sh", "-c", "true"]);
    write_docker_save(&save, &[&base, &top], &config, &["img:latest"]);
    let state = tmp.path().join("state");
    let store = ImageStore::new(&state);

    let loaded = store.load(&layout, Some("busy")).unwrap().remove(0).image;
    assert_eq!(loaded.reference, "docker.io/library/busy:latest");
    let err = store.load(&save, Some("busy")).unwrap_err();
    assert!(matches!(err, ImageError::NameInUse { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "image name \"docker.io/library/busy:latest\" is already in use"
    );
    let also = store
        .load(&layout, Some("also:v2"))
        .unwrap()
        .remove(0)
        .image;
    assert_eq!(also.layers, loaded.layers);
    store.load(&save, Some("saved")).unwrap();
    let err = store.load(&layout, Some("-bad name")).unwrap_err();
    assert!(matches!(err, ImageError::InvalidReference { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "image \"-bad name\": invalid reference format"
    );
    let err = store.load(&layout, Some("Busy")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "image \"Busy\": invalid reference format: repository name must be lowercase"
    );
    let err = store
        .load(&tmp.path().join("nope"), Some("nope"))
        .unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");

    let by_name = store.resolve("busy").unwrap();
    assert_eq!(
        (by_name.layers.clone(), by_name.id.clone()),
        (loaded.layers.clone(), loaded.id.clone())
    );
    assert_eq!(by_name.config, loaded.config);
    assert_eq!(store.resolve("busy:latest").unwrap().layers, loaded.layers);
    let full = store.resolve("docker.io/library/busy:latest").unwrap();
    assert_eq!(full.layers, loaded.layers);
    let err = store.resolve("busy:other").unwrap_err();
    assert!(matches!(err, ImageError::NotFound { .. }), "{err}");
    let err = store.resolve("a::b").unwrap_err();
    assert_eq!(err.to_string(), "image \"a::b\": invalid reference format");
    assert_eq!(store.resolve("also:v2").unwrap().layers, loaded.layers);

    let list = store.list().unwrap();
    let names: Vec<_> = list.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "docker.io/library/also:v2",
            "docker.io/library/busy:latest",
            "docker.io/library/saved:latest"
        ]
    );
    assert_eq!(list[1].id, loaded.id);
    assert_eq!(list[1].layers, 2);
    assert_eq!(list[1].created.as_deref(), Some("2024-05-06T07:08:09Z"));

    // "also" still uses the layers: removing "busy" keeps them.
    store.remove("busy").unwrap();
    assert!(loaded.layers.iter().all(|l| l.is_dir()));
    let err = store.resolve("busy").unwrap_err();
    assert!(matches!(err, ImageError::NotFound { .. }), "{err}");
    store.remove("also:v2").unwrap();
    assert!(!loaded.layers[0].exists(), "unused layer removed");
    // The top layer's blob is also in "saved", but over another base (another chain).
    assert!(!loaded.layers[1].exists(), "unused layer removed");
    let saved = store.resolve("saved").unwrap();
    assert!(
        saved.layers.iter().all(|l| l.is_dir()),
        "other image untouched"
    );
    let err = store.remove("busy").unwrap_err();
    assert!(matches!(err, ImageError::NoSuchName { .. }), "{err}");
    assert_no_leftovers(&state);
}
