//! Images: layouts, archives, rootfs dirs, the layer store and loaded names. Runs as root (it
//! creates device nodes and trusted.* xattrs), as den itself does.
mod bad_input;
mod fixtures;
mod hostile;
mod implied_dirs;
mod store;
mod support;

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use den_runtime::image::ImageStore;
use support::*;
use tar::EntryType;

/// The bottom layer of the test image: one of each kind of entry.
fn base_layer() -> Vec<u8> {
    Layer::new()
        .dir("etc", 0o755)
        .file("etc/a", "a\n")
        .file("etc/b", "b\n")
        .file_as("bin/tool", "#!/bin/sh\n", 0o4755, (0, 0))
        .file_as("home/user/notes", "mine\n", 0o600, (1000, 1001))
        .dir("home/user", 0o700)
        .dir("opq", 0o755)
        .file("opq/old", "old\n")
        .symlink("etc/link", "a")
        .hardlink("etc/hard", "etc/a")
        .device("dev/null", EntryType::Char, 1, 3)
        .device("dev/fifo", EntryType::Fifo, 0, 0)
        .finish()
}

/// The top layer: deletes etc/a, makes opq/ opaque, adds opq/new.
fn top_layer() -> Vec<u8> {
    Layer::new()
        .file("etc/.wh.a", "")
        .file("opq/.wh..wh..opq", "")
        .file("opq/new", "new\n")
        .finish()
}

fn layout_of(dir: &Path, base: &[u8], top: &[u8]) -> Vec<String> {
    let config = config_json(&[base, top], &["sh", "-c", "true"]);
    let base_gz = gzip(base);
    let image = OciImage {
        layers: vec![(&base_gz, TAR_GZ), (top, TAR)],
        config: &config,
        tag: Some("latest"),
    };
    write_layout(dir, &[image]).remove(0)
}

fn xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let c_path = CString::new(path.as_os_str().as_bytes()).unwrap();
    let c_name = CString::new(name).unwrap();
    let mut buf = [0u8; 64];
    // SAFETY: both strings are NUL-terminated and buf is valid for buf.len() bytes.
    let n = unsafe {
        libc::lgetxattr(
            c_path.as_ptr(),
            c_name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    (n >= 0).then(|| buf[..n as usize].to_vec())
}

#[test]
fn layout_layers_are_unpacked_with_everything_kept() {
    let tmp = TempDir::new("unpack");
    let layout = tmp.path().join("img");
    let (base, top) = (base_layer(), top_layer());
    let hexes = layout_of(&layout, &base, &top);
    let store = ImageStore::new(&tmp.path().join("state"));

    let image = store.resolve(layout.to_str().unwrap()).unwrap();
    assert_eq!(image.layers.len(), 2);
    // Stored by chain (the bottom by its digest, the next by sha256("<below> <digest>")), and
    // named for overlayfs by a short link.
    let top_key = sha256_hex(format!("sha256:{} sha256:{}", hexes[0], hexes[1]).as_bytes());
    for (dir, key) in image.layers.iter().zip([&hexes[0], &top_key]) {
        assert!(
            dir.ends_with(format!("images/l/{}", &key[..16])),
            "{}",
            dir.display()
        );
        let target = fs::read_link(dir).unwrap();
        assert_eq!(target, Path::new("../layers/sha256").join(key));
    }
    let config = config_json(&[&base, &top], &["sh", "-c", "true"]);
    assert_eq!(image.id, format!("sha256:{}", sha256_hex(&config)));
    assert_eq!(image.config.cmd, ["sh", "-c", "true"]);
    assert_eq!(image.config.entrypoint, ["/bin/entry"]);
    assert_eq!(image.config.env, ["PATH=/bin", "A=b"]);
    assert_eq!(image.config.working_dir.as_deref(), Some("/work"));
    assert_eq!(image.config.user.as_deref(), Some("1000:1000"));

    let low = &image.layers[0];
    assert_eq!(fs::read_to_string(low.join("etc/a")).unwrap(), "a\n");
    let tool = fs::metadata(low.join("bin/tool")).unwrap();
    assert_eq!(tool.mode() & 0o7777, 0o4755, "setuid kept");
    assert_eq!(tool.mtime(), MTIME as i64);
    let notes = fs::metadata(low.join("home/user/notes")).unwrap();
    assert_eq!(
        (notes.uid(), notes.gid(), notes.mode() & 0o777),
        (1000, 1001, 0o600)
    );
    let home = fs::metadata(low.join("home/user")).unwrap();
    assert_eq!(
        (home.mode() & 0o777, home.mtime()),
        (0o700, MTIME as i64),
        "dir mode and mtime"
    );
    assert_eq!(fs::read_link(low.join("etc/link")).unwrap(), Path::new("a"));
    let (a, hard) = (
        fs::metadata(low.join("etc/a")).unwrap(),
        fs::metadata(low.join("etc/hard")).unwrap(),
    );
    assert_eq!(a.ino(), hard.ino(), "hardlink shares the inode");
    let null = fs::symlink_metadata(low.join("dev/null")).unwrap();
    assert!(null.file_type().is_char_device());
    assert_eq!(null.rdev(), libc::makedev(1, 3));
    assert!(fs::symlink_metadata(low.join("dev/fifo"))
        .unwrap()
        .file_type()
        .is_fifo());

    let up = &image.layers[1];
    let wh = fs::symlink_metadata(up.join("etc/a")).unwrap();
    assert!(wh.file_type().is_char_device(), "whiteout is a char device");
    assert_eq!(wh.rdev(), 0, "whiteout is 0/0");
    assert!(!up.join("etc/.wh.a").exists());
    assert_eq!(
        xattr(&up.join("opq"), "trusted.overlay.opaque").as_deref(),
        Some(&b"y"[..])
    );
    assert!(!up.join("opq/.wh..wh..opq").exists());
    assert_eq!(fs::read_to_string(up.join("opq/new")).unwrap(), "new\n");
    assert_no_leftovers(&tmp.path().join("state"));
}

/// overlayfs itself agrees the whiteouts hide what they should (in a private mount namespace,
/// via util-linux `unshare`, so no mount outlives the test).
#[test]
fn overlay_honours_converted_whiteouts() {
    if std::process::Command::new("unshare")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: util-linux unshare not installed");
        return;
    }
    let tmp = TempDir::new("overlay");
    let layout = tmp.path().join("img");
    layout_of(&layout, &base_layer(), &top_layer());
    let image = ImageStore::new(&tmp.path().join("state"))
        .resolve(layout.to_str().unwrap())
        .unwrap();
    let (upper, work, merged) = (
        tmp.path().join("u"),
        tmp.path().join("w"),
        tmp.path().join("m"),
    );
    for d in [&upper, &work, &merged] {
        fs::create_dir(d).unwrap();
    }
    let lower: Vec<String> = image
        .layers
        .iter()
        .rev()
        .map(|p| p.display().to_string())
        .collect();
    let script = format!(
        "mount -t overlay overlay -o lowerdir={},upperdir={},workdir={} {m} && \
         test ! -e {m}/etc/a && test -f {m}/etc/b && test ! -e {m}/opq/old && test -f {m}/opq/new",
        lower.join(":"),
        upper.display(),
        work.display(),
        m = merged.display()
    );
    let status = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .status()
        .unwrap();
    assert!(status.success(), "overlay view is wrong: {script}");
}

pub fn assert_no_leftovers(state: &Path) {
    if let Ok(entries) = fs::read_dir(state.join("images/tmp")) {
        let left: Vec<_> = entries.map(|e| e.unwrap().file_name()).collect();
        assert!(left.is_empty(), "leftovers in tmp: {left:?}");
    }
}
