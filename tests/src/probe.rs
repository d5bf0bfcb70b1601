//! Images for escape probes a busybox shell cannot make: a copy of the fixture rootfs, optionally
//! with a tiny static C program at `/probe`, built with the machine's gcc.

use std::process::Command;

use crate::fixtures::fixtures;
use crate::sandbox::Sandbox;

/// A copy of the fixture rootfs under the sandbox's scratch dir, for the test to change.
pub fn rootfs_copy(sb: &Sandbox, name: &str) -> String {
    let dest = sb.scratch().join(name);
    let ok = Command::new("cp")
        .arg("-a")
        .arg(&fixtures().dir)
        .arg(&dest)
        .status()
        .expect("cp")
        .success();
    assert!(ok, "copying the fixture rootfs");
    dest.display().to_string()
}

/// A rootfs copy with `c_source` compiled (`gcc -static`) to `/probe`.
pub fn image_with_probe(sb: &Sandbox, name: &str, c_source: &str) -> String {
    let image = rootfs_copy(sb, name);
    let src = sb.scratch().join(format!("{name}.c"));
    std::fs::write(&src, c_source).expect("writing the probe source");
    let out = Command::new("gcc")
        .args(["-static", "-O", "-o"])
        .arg(format!("{image}/probe"))
        .arg(&src)
        .output()
        .expect("gcc (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "gcc -static failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    image
}
