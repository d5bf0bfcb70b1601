//! rootfs-fixtures/build.sh's three images resolve to the same tree; skopeo (if installed) accepts
//! them, and den reads what skopeo writes.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use den_runtime::image::{Image, ImageStore};

use crate::support::*;

/// Runs build.sh once per test run; returns the fixtures directory.
fn fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let out = repo.join("target/fixtures");
        let status = Command::new("bash")
            .arg(repo.join("rootfs-fixtures/build.sh"))
            .arg(&out)
            .status()
            .expect("run rootfs-fixtures/build.sh");
        assert!(status.success(), "build.sh failed");
        out
    })
}

fn check_busybox(image: &Image, rootfs: &Path) {
    assert_eq!(image.layers.len(), 1, "{}", image.reference);
    let layer = &image.layers[0];
    assert_eq!(
        std::fs::read_to_string(layer.join("var/www/index.html")).unwrap(),
        "hello from den\n"
    );
    assert_eq!(
        snapshot(layer),
        snapshot(rootfs),
        "{} differs from the rootfs dir",
        image.reference
    );
}

#[test]
fn the_three_fixtures_resolve_to_the_same_tree() {
    let dir = fixtures();
    let tmp = TempDir::new("fixtures");
    let store = ImageStore::new(tmp.path());
    let rootfs = dir.join("busybox");
    let plain = store.resolve(rootfs.to_str().unwrap()).unwrap();
    assert_eq!(plain.layers, [rootfs.canonicalize().unwrap()]);
    for applet in [
        "sh", "ls", "httpd", "nc", "ip", "ping", "udhcpc", "wget", "sleep", "mount",
    ] {
        let link = std::fs::read_link(rootfs.join("bin").join(applet)).unwrap();
        assert_eq!(link, Path::new("busybox"), "{applet}");
    }
    let path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for reference in [
        format!("{}:latest", dir.join("busybox.oci").display()),
        dir.join("busybox.oci").display().to_string(),
        dir.join("busybox.tar").display().to_string(),
        format!("{}:busybox:latest", dir.join("busybox.tar").display()),
    ] {
        let image = store.resolve(&reference).unwrap();
        assert_eq!(image.config.cmd, ["sh"], "{reference}");
        assert_eq!(image.config.env, [path], "{reference}");
        check_busybox(&image, &rootfs);
    }
}

fn skopeo() -> bool {
    let found = Command::new("skopeo").arg("--version").output().is_ok();
    if !found {
        eprintln!("skipped: skopeo is not installed (apt-get install skopeo)");
    }
    found
}

#[test]
fn skopeo_accepts_the_fixtures() {
    if !skopeo() {
        return;
    }
    let dir = fixtures();
    for transport in [
        format!("oci:{}:latest", dir.join("busybox.oci").display()),
        format!("docker-archive:{}", dir.join("busybox.tar").display()),
    ] {
        let out = Command::new("skopeo")
            .args(["inspect", &transport])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "skopeo inspect {transport}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("\"Os\": \"linux\""));
    }
}

#[test]
fn den_reads_what_skopeo_writes() {
    if !skopeo() {
        return;
    }
    let dir = fixtures();
    let tmp = TempDir::new("skopeo");
    let source = format!("oci:{}:latest", dir.join("busybox.oci").display());
    let targets = [
        (
            "docker-archive",
            tmp.path().join("save.tar"),
            "busybox:latest",
        ),
        ("oci-archive", tmp.path().join("oci.tar"), "latest"),
        ("oci", tmp.path().join("layout"), "v1"),
    ];
    let store = ImageStore::new(&tmp.path().join("state"));
    for (transport, path, tag) in &targets {
        let dest = format!("{transport}:{}:{tag}", path.display());
        let out = Command::new("skopeo")
            .args(["--insecure-policy", "copy", "-q", &source, &dest])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "skopeo copy to {dest}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let image = store.resolve(&format!("{}:{tag}", path.display())).unwrap();
        check_busybox(&image, &dir.join("busybox"));
    }
}
