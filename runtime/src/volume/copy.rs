//! A tree copy between two open directories that never follows a symlink: every entry is reached
//! with `openat(O_NOFOLLOW)` / `fstatat(AT_SYMLINK_NOFOLLOW)` from its already-open parent, so no
//! component can redirect the walk out of either tree. Owners, permission bits (setuid and sticky
//! too), extended attributes and times are kept, as docker's volume seeding (continuity's
//! `fs.CopyDir`) keeps them, hard links included (linked again in the copy).

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{openat, readlinkat, AtFlags, OFlag};
use nix::sys::stat::{
    fchmod, fstatat, futimens, mkdirat, mknodat, utimensat, FileStat, Mode, SFlag, UtimensatFlags,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchown, fchownat, linkat, symlinkat, Gid, Uid};
use xattr::FileExt;

fn dir_flags() -> OFlag {
    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
}

/// Open `name` in `parent` as a directory (never through a symlink).
pub fn open_dir(parent: BorrowedFd<'_>, name: &CStr) -> Result<OwnedFd, Errno> {
    openat(parent, name, dir_flags(), Mode::empty())
}

/// The names in directory `dir`, without `.` and `..`.
pub fn names(dir: BorrowedFd<'_>) -> Result<Vec<CString>, Errno> {
    let fd = openat(dir, c".", dir_flags(), Mode::empty())?;
    let mut d = Dir::from_fd(fd)?;
    let mut out = Vec::new();
    for e in d.iter() {
        let name = e?.file_name().to_owned();
        if name.as_bytes() != b"." && name.as_bytes() != b".." {
            out.push(name);
        }
    }
    Ok(out)
}

/// The first copy of each file with more than one link, by the source's (device, inode).
type Links = HashMap<(u64, u64), File>;

/// Copy the contents of directory `src` into directory `dst`.
pub fn copy_contents(src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> io::Result<()> {
    copy_dir(src, dst, &mut Links::new())
}

fn copy_dir(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, links: &mut Links) -> io::Result<()> {
    for name in names(src)? {
        copy_entry(src, dst, &name, links)?;
    }
    Ok(())
}

fn times(st: &FileStat) -> (TimeSpec, TimeSpec) {
    (
        TimeSpec::new(st.st_atime, st.st_atime_nsec),
        TimeSpec::new(st.st_mtime, st.st_mtime_nsec),
    )
}

/// Owner, mode, xattrs, then times (last: setting the others changes ctime only).
pub fn copy_attrs(src: &File, dst: &File, st: &FileStat) -> io::Result<()> {
    fchown(
        dst.as_fd(),
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
    )?;
    // After the chown, which clears setuid/setgid.
    fchmod(dst.as_fd(), Mode::from_bits_truncate(st.st_mode & 0o7777))?;
    if let Ok(list) = src.list_xattr() {
        for name in list {
            if let Ok(Some(value)) = src.get_xattr(&name) {
                match dst.set_xattr(&name, &value) {
                    // A namespace the destination cannot hold (e.g. trusted.* on a filesystem
                    // without it) is skipped, as continuity does.
                    Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTSUP | libc::EPERM)) => {}
                    r => r?,
                }
            }
        }
    }
    let (a, m) = times(st);
    futimens(dst.as_fd(), &a, &m)?;
    Ok(())
}

/// Copy one entry of `src` named `name` into `dst` under the same name.
fn copy_entry(
    src: BorrowedFd<'_>,
    dst: BorrowedFd<'_>,
    name: &CStr,
    links: &mut Links,
) -> io::Result<()> {
    let st = fstatat(src, name, AtFlags::AT_SYMLINK_NOFOLLOW)?;
    let kind = SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT);
    match kind {
        SFlag::S_IFDIR => {
            mkdirat(dst, name, Mode::from_bits_truncate(0o700))?;
            let s = File::from(open_dir(src, name)?);
            let d = File::from(open_dir(dst, name)?);
            copy_dir(s.as_fd(), d.as_fd(), links)?;
            copy_attrs(&s, &d, &st)
        }
        SFlag::S_IFREG if st.st_nlink > 1 && links.contains_key(&(st.st_dev, st.st_ino)) => {
            let first = &links[&(st.st_dev, st.st_ino)];
            linkat(first.as_fd(), c"", dst, name, AtFlags::AT_EMPTY_PATH)?;
            Ok(())
        }
        SFlag::S_IFREG => {
            let mut s = File::from(openat(
                src,
                name,
                OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?);
            let mut d = File::from(openat(
                dst,
                name,
                OFlag::O_WRONLY
                    | OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o600),
            )?);
            io::copy(&mut s, &mut d)?;
            copy_attrs(&s, &d, &st)?;
            if st.st_nlink > 1 {
                links.insert((st.st_dev, st.st_ino), d);
            }
            Ok(())
        }
        SFlag::S_IFLNK => {
            let target = readlinkat(src, name)?;
            symlinkat(target.as_os_str(), dst, name)?;
            special_attrs(dst, name, &st)
        }
        _ => {
            mknodat(
                dst,
                name,
                kind,
                Mode::from_bits_truncate(st.st_mode & 0o7777),
                st.st_rdev,
            )?;
            special_attrs(dst, name, &st)
        }
    }
}

/// Owner and times of a symlink or device node, set on the name itself.
fn special_attrs(dst: BorrowedFd<'_>, name: &CStr, st: &FileStat) -> io::Result<()> {
    fchownat(
        dst,
        name,
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )?;
    let (a, m) = times(st);
    utimensat(dst, name, &a, &m, UtimensatFlags::NoFollowSymlink)?;
    Ok(())
}
