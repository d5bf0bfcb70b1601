//! The few filesystem calls unpacking needs that std does not offer: device nodes, mtimes that
//! do not follow symlinks, and the overlayfs opaque xattr.
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::fcntl::AT_FDCWD;
use nix::sys::stat::{makedev, mknod, utimensat, Mode, SFlag, UtimensatFlags};
use nix::sys::time::TimeSpec;

/// What kind of special file to create.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Special {
    Char { major: u64, minor: u64 },
    Block { major: u64, minor: u64 },
    Fifo,
}

/// Creates a device node or fifo at `path` with no permission bits (the caller sets owner and
/// mode afterwards, in that order).
pub(crate) fn make_special(path: &Path, kind: Special) -> io::Result<()> {
    let (flag, dev) = match kind {
        Special::Char { major, minor } => (SFlag::S_IFCHR, makedev(major, minor)),
        Special::Block { major, minor } => (SFlag::S_IFBLK, makedev(major, minor)),
        Special::Fifo => (SFlag::S_IFIFO, 0),
    };
    mknod(path, flag, Mode::empty(), dev)?;
    Ok(())
}

/// An overlayfs whiteout: a character device 0/0.
pub(crate) fn make_whiteout(path: &Path) -> io::Result<()> {
    mknod(path, SFlag::S_IFCHR, Mode::empty(), makedev(0, 0))?;
    Ok(())
}

/// Sets atime and mtime of `path` (not following a final symlink) to `secs` since the epoch.
pub(crate) fn set_mtime(path: &Path, secs: i64) -> io::Result<()> {
    let t = TimeSpec::new(secs, 0);
    utimensat(AT_FDCWD, path, &t, &t, UtimensatFlags::NoFollowSymlink)?;
    Ok(())
}

/// Marks directory `path` opaque for overlayfs (`trusted.overlay.opaque=y`), not following symlinks.
pub(crate) fn set_opaque(path: &Path) -> io::Result<()> {
    set_xattr(path, OPAQUE_XATTR, b"y")
}

const OPAQUE_XATTR: &[u8] = b"trusted.overlay.opaque";

/// Whether directory `path` is overlayfs-opaque.
pub(crate) fn is_opaque(path: &Path) -> bool {
    let Ok(c_path) = cstring(path.as_os_str().as_bytes()) else {
        return false;
    };
    let Ok(c_name) = cstring(OPAQUE_XATTR) else {
        return false;
    };
    let mut value = [0u8; 4];
    // SAFETY: both strings are valid and NUL-terminated and value is a valid buffer of
    // value.len() bytes; all outlive the call, which does not keep them.
    let n = unsafe {
        libc::lgetxattr(
            c_path.as_ptr(),
            c_name.as_ptr(),
            value.as_mut_ptr().cast(),
            value.len(),
        )
    };
    n == 1 && value[0] == b'y'
}

/// Sets the extended attribute `name` of `path` (not following a final symlink).
pub(crate) fn set_xattr(path: &Path, name: &[u8], value: &[u8]) -> io::Result<()> {
    let c_path = cstring(path.as_os_str().as_bytes())?;
    let c_name = cstring(name)?;
    // SAFETY: c_path and c_name are valid NUL-terminated strings and value is a valid buffer of
    // value.len() bytes; all three outlive the call, which does not keep them.
    let rc = unsafe {
        libc::lsetxattr(
            c_path.as_ptr(),
            c_name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn cstring(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name contains a NUL byte"))
}
