//! The busybox test images, built once per test process by `rootfs-fixtures/build.sh`
//! (serialised across processes by an flock on `target/fixtures.lock`).

use std::fs::{self, OpenOptions};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::bin::{repo_root, target_dir};
use crate::syscall;

/// The same busybox image in the three forms den accepts.
#[derive(Debug)]
pub struct Fixtures {
    /// A plain root filesystem directory.
    pub dir: PathBuf,
    /// An OCI image layout directory.
    pub oci: PathBuf,
    /// An image archive (docker-save or OCI archive).
    pub tar: PathBuf,
}

impl Fixtures {
    fn at(base: &Path) -> Fixtures {
        Fixtures {
            dir: base.join("busybox"),
            oci: base.join("busybox.oci"),
            tar: base.join("busybox.tar"),
        }
    }

    /// The rootfs directory as a `&str` argument.
    pub fn dir_arg(&self) -> &str {
        utf8(&self.dir)
    }

    /// The OCI layout as a `&str` argument.
    pub fn oci_arg(&self) -> &str {
        utf8(&self.oci)
    }

    /// The tar as a `&str` argument.
    pub fn tar_arg(&self) -> &str {
        utf8(&self.tar)
    }
}

fn utf8(p: &Path) -> &str {
    p.to_str()
        .unwrap_or_else(|| panic!("non-UTF-8 path {}", p.display()))
}

/// The fixtures, built on first use. `$DEN_FIXTURES` names a prebuilt directory instead.
pub fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let base = match std::env::var_os("DEN_FIXTURES") {
            Some(dir) => PathBuf::from(dir),
            None => build(),
        };
        let fx = Fixtures::at(&base);
        for p in [&fx.dir, &fx.oci, &fx.tar] {
            assert!(
                p.exists(),
                "fixture {} is missing after the build",
                p.display()
            );
        }
        fx
    })
}

fn build() -> PathBuf {
    let target = target_dir();
    let out = target.join("fixtures");
    let script = repo_root().join("rootfs-fixtures/build.sh");
    assert!(
        script.is_file(),
        "{} not found: the fixtures cannot be built",
        script.display()
    );
    fs::create_dir_all(&target).expect("create target dir");
    let lock_path = target.join("fixtures.lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .unwrap_or_else(|e| panic!("open {}: {e}", lock_path.display()));
    syscall::flock_exclusive(lock.as_fd())
        .unwrap_or_else(|e| panic!("flock {}: {e}", lock_path.display()));
    let result = Command::new(&script)
        .arg(&out)
        .current_dir(repo_root())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", script.display()));
    drop(lock);
    assert!(
        result.status.success(),
        "{} {} failed ({}):\n{}{}",
        script.display(),
        out.display(),
        result.status,
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    out
}
