//! Where the den binary and the build's target directory are.

use std::env;
use std::path::{Path, PathBuf};

/// The `<profile>` directory holding the test executable: `target/debug/deps/xyz` -> `target/debug`.
pub fn profile_dir_of(exe: &Path) -> Option<PathBuf> {
    let dir = exe.parent()?;
    if dir.file_name()? == "deps" {
        dir.parent().map(Path::to_path_buf)
    } else {
        Some(dir.to_path_buf())
    }
}

pub(crate) fn profile_dir() -> PathBuf {
    let exe = env::current_exe().expect("current_exe");
    profile_dir_of(&exe).unwrap_or_else(|| panic!("no profile dir above {}", exe.display()))
}

/// The build's target directory (`target/`): the parent of the profile directory.
pub fn target_dir() -> PathBuf {
    let profile = profile_dir();
    profile
        .parent()
        .unwrap_or_else(|| panic!("no target dir above {}", profile.display()))
        .to_path_buf()
}

/// The den binary: `$DEN_BIN` if set, else `den` next to the test's profile directory.
/// Panics with the command to run if it is missing.
pub fn den_bin() -> PathBuf {
    let bin = match env::var_os("DEN_BIN") {
        Some(p) => PathBuf::from(p),
        None => profile_dir().join("den"),
    };
    assert!(
        bin.is_file(),
        "den binary not found at {}: build den first: cargo build -p den-cli (or set DEN_BIN)",
        bin.display()
    );
    bin
}

/// The repository's root (the workspace that holds this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The den-cni plugin: `$DEN_CNI_BIN` if set, else `den-cni` next to the den binary.
pub fn den_cni_bin() -> PathBuf {
    let bin = match env::var_os("DEN_CNI_BIN") {
        Some(p) => PathBuf::from(p),
        None => den_bin().with_file_name("den-cni"),
    };
    assert!(
        bin.is_file(),
        "den-cni not found at {}: build it first: cargo build -p den-cli (or set DEN_CNI_BIN)",
        bin.display()
    );
    bin
}

/// den-runtime, the OCI runtime binary: `$DEN_RUNTIME_BIN` if set, else next to the den binary.
pub fn den_runtime_bin() -> PathBuf {
    let bin = match env::var_os("DEN_RUNTIME_BIN") {
        Some(p) => PathBuf::from(p),
        None => den_bin().with_file_name("den-runtime"),
    };
    assert!(
        bin.is_file(),
        "den-runtime not found at {}: build it first: cargo build -p den-cli",
        bin.display()
    );
    bin
}
