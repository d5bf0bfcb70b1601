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
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    let name = c"trusted.overlay.opaque";
    let value = b"y";
    // SAFETY: c_path and name are valid NUL-terminated strings and value is a valid buffer of
    // value.len() bytes; all three outlive the call, which does not keep them.
    let rc = unsafe {
        libc::lsetxattr(
            c_path.as_ptr(),
            name.as_ptr(),
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
