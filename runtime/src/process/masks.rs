//! The spec's masked paths (/dev/null or an empty read-only tmpfs over them) and read-only paths
//! (a read-only bind of themselves), applied by the child after pivot_root.

use std::ffi::CStr;

use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use nix::sys::statfs::statfs;
use nix::sys::statvfs::FsFlags;

/// Mask `path`: /dev/null bound over a file, an empty read-only tmpfs over a directory; a missing
/// one is left.
pub fn mask(path: &CStr) -> Result<(), Errno> {
    let none: Option<&CStr> = None;
    match mount(Some(c"/dev/null"), path, none, MsFlags::MS_BIND, none) {
        Ok(()) | Err(Errno::ENOENT) => Ok(()),
        Err(Errno::ENOTDIR) => mount(
            Some(c"tmpfs"),
            path,
            Some(c"tmpfs"),
            MsFlags::MS_RDONLY,
            none,
        ),
        Err(e) => Err(e),
    }
}

/// Bind `path` over itself and remount it read-only (a missing one is left).
pub fn make_readonly(path: &CStr) -> Result<(), Errno> {
    let none: Option<&CStr> = None;
    match mount(
        Some(path),
        path,
        none,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        none,
    ) {
        Ok(()) => {}
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(e),
    }
    remount_readonly(path)
}

/// Remount a bind read-only, keeping nosuid/nodev/noexec it already has.
fn remount_readonly(path: &CStr) -> Result<(), Errno> {
    let none: Option<&CStr> = None;
    let have = statfs(path)?.flags();
    let mut flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
    for (st, ms) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
    ] {
        if have.contains(st) {
            flags |= ms;
        }
    }
    mount(none, path, none, flags, none)
}
