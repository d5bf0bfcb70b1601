//! What a layer does not list: directories it implies keep what the layers below show there, and
//! what it lists of a directory (its xattrs) is kept.
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::process::Command;

use den_runtime::image::ImageStore;
use tar::{Builder, EntryType, Header};

use crate::support::*;
use crate::xattr;

/// A layer with one directory carrying a PAX `SCHILY.xattr.user.den` record.
fn dir_with_xattr(path: &str) -> Vec<u8> {
    let mut b = Builder::new(Vec::new());
    let record = b"27 SCHILY.xattr.user.den=v\n";
    let mut pax = Header::new_ustar();
    pax.set_entry_type(EntryType::XHeader);
    pax.set_path("PaxHeaders/d").unwrap();
    pax.set_size(record.len() as u64);
    pax.set_mode(0o644);
    pax.set_cksum();
    b.append(&pax, &record[..]).unwrap();
    let mut dir = Header::new_ustar();
    dir.set_entry_type(EntryType::Directory);
    dir.set_path(path).unwrap();
    dir.set_mode(0o750);
    dir.set_uid(0);
    dir.set_gid(0);
    dir.set_mtime(MTIME);
    dir.set_size(0);
    dir.set_cksum();
    b.append(&dir, &[][..]).unwrap();
    b.into_inner().unwrap()
}

#[test]
fn implied_directories_keep_the_lower_layers_metadata() {
    let tmp = TempDir::new("implied");
    let base = Layer::new()
        .file_as("p/old", "old\n", 0o600, (1000, 1000))
        .dir("p", 0o700)
        .finish();
    // Owned 1000:1000 as the lower p is: Layer::dir makes root-owned dirs, so fix it up here.
    let base = {
        let mut b = Builder::new(Vec::new());
        let mut a = tar::Archive::new(&base[..]);
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            let mut h = e.header().clone();
            if h.entry_type() == EntryType::Directory {
                h.set_uid(1000);
                h.set_gid(1000);
                h.set_cksum();
            }
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            b.append(&h, &data[..]).unwrap();
        }
        b.into_inner().unwrap()
    };
    let top = Layer::new()
        .file("p/new", "new\n")
        .file("q/r/x", "x\n")
        .finish();
    let xattrs = dir_with_xattr("d");
    let config = config_json(&[&base, &top, &xattrs], &["true"]);
    let layout = tmp.path().join("img");
    let image = OciImage {
        layers: vec![(&base, TAR), (&top, TAR), (&xattrs, TAR)],
        config: &config,
        tag: None,
    };
    write_layout(&layout, &[image]);
    let image = ImageStore::new(&tmp.path().join("state"))
        .resolve(layout.to_str().unwrap())
        .unwrap();

    let p = fs::symlink_metadata(image.layers[1].join("p")).unwrap();
    assert_eq!(
        (p.mode() & 0o7777, p.uid(), p.gid(), p.mtime()),
        (0o700, 1000, 1000, MTIME as i64),
        "implied p/ differs from the lower layer's p/"
    );
    let q = fs::symlink_metadata(image.layers[1].join("q/r")).unwrap();
    assert_eq!((q.mode() & 0o7777, q.uid(), q.gid()), (0o755, 0, 0));
    let d = image.layers[2].join("d");
    assert_eq!(
        xattr(&d, "user.den").as_deref(),
        Some(&b"v"[..]),
        "directory xattr lost"
    );
    assert_eq!(fs::metadata(&d).unwrap().mode() & 0o7777, 0o750);

    // And through overlayfs, as a container sees it.
    let lower: Vec<String> = image
        .layers
        .iter()
        .rev()
        .map(|p| p.display().to_string())
        .collect();
    let (u, w, m) = (
        tmp.path().join("u"),
        tmp.path().join("w"),
        tmp.path().join("m"),
    );
    for dir in [&u, &w, &m] {
        fs::create_dir(dir).unwrap();
    }
    let script = format!(
        "mount -t overlay overlay -o lowerdir={},upperdir={},workdir={} {m} && stat -c '%a %u:%g' {m}/p",
        lower.join(":"),
        u.display(),
        w.display(),
        m = m.display()
    );
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .output()
        .expect("unshare (util-linux)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "700 1000:1000");
}
