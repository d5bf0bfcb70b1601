//! Helpers of the volume tests: `den run --rm --network none`, images made from the fixture, the
//! volumes den lists, the host's mount table, xattrs.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;

use den_tests::{Output, Sandbox};

/// `den run --rm --network none ARGS…`.
pub fn run(sb: &Sandbox, args: &[&str]) -> Output {
    sb.den(&[&["run", "--rm", "--network", "none"][..], args].concat())
}

/// A rootfs-dir image: the busybox fixture copied into the sandbox, changed by `edit`.
pub fn image_with(sb: &Sandbox, name: &str, edit: impl FnOnce(&Path)) -> String {
    let root = sb.scratch().join(name);
    let st = Command::new("cp")
        .arg("-a")
        .arg(den_tests::fixtures().dir_arg())
        .arg(&root)
        .status()
        .expect("cp");
    assert!(st.success(), "cp -a of the fixture failed");
    edit(&root);
    root.to_str().expect("utf-8 path").to_string()
}

/// `den volume ls -q`.
pub fn volume_names(sb: &Sandbox) -> Vec<String> {
    sb.den(&["volume", "ls", "-q"])
        .ok()
        .stdout
        .lines()
        .map(str::to_string)
        .collect()
}

/// The lines of this process's mount table (the host's: den runs in the same mount namespace)
/// that anything den could mount for this sandbox would show in: whatever names the sandbox's
/// dir (binds, volumes, overlays, its own test mounts) or is mounted at or under the host's
/// `/etc` (where an image's symlink must never lead). Other tests run in parallel, so not the
/// whole table. Without the mount ids, which say nothing about what is mounted.
pub fn mounts_now(sb: &Sandbox) -> Vec<String> {
    let dir = sb
        .root()
        .parent()
        .expect("sandbox dir")
        .display()
        .to_string();
    let mut v: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
        .expect("mountinfo")
        .lines()
        .map(|l| l.split(' ').skip(4).collect::<Vec<_>>().join(" "))
        .filter(|l| {
            l.contains(&dir) || l == "/etc" || l.starts_with("/etc ") || l.starts_with("/etc/")
        })
        .collect();
    v.sort();
    v
}

fn c(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).expect("path")
}

pub fn set_xattr(p: &Path, name: &str, value: &[u8]) {
    let (path, name) = (c(p), CString::new(name).expect("name"));
    // SAFETY: valid NUL-terminated strings and a buffer of the given length.
    let r = unsafe {
        libc::lsetxattr(
            path.as_ptr(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    assert_eq!(
        r,
        0,
        "setxattr {}: {}",
        p.display(),
        std::io::Error::last_os_error()
    );
}

pub fn xattr(p: &Path, name: &str) -> Option<Vec<u8>> {
    let (path, name) = (c(p), CString::new(name).expect("name"));
    let mut buf = vec![0u8; 256];
    // SAFETY: valid NUL-terminated strings and a writable buffer of the given length.
    let n = unsafe {
        libc::lgetxattr(
            path.as_ptr(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    (n >= 0).then(|| {
        buf.truncate(n as usize);
        buf
    })
}
