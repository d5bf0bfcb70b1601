//! `den cp`'s tar streams, fd-based on both ends: a tree is read entry by entry from its open
//! parent (`O_NOFOLLOW`, never through a symlink), and an archive is written with every entry's
//! parent resolved by `openat2(RESOLVE_IN_ROOT)` under the root it is written into, so neither a
//! symlink in the container nor one in the archive can lead a write outside that root
//! (CVE-2018-15664, CVE-2019-14271).

use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, openat2, readlinkat, AtFlags, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{
    fchmod, fstatat, futimens, mkdirat, mknodat, utimensat, FileStat, Mode, SFlag, UtimensatFlags,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchown, fchownat, linkat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};

use super::copy::{names, open_dir};

/// Open `path` under `root` as if `root` were `/`.
pub fn open_in_root(root: BorrowedFd<'_>, path: &Path, flags: OFlag) -> Result<OwnedFd, Errno> {
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    loop {
        match openat2(root, path, how) {
            Err(Errno::EAGAIN) => continue,
            r => return r,
        }
    }
}

fn cname(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

fn header(st: &FileStat, kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(st.st_mode & 0o7777);
    h.set_uid(st.st_uid.into());
    h.set_gid(st.st_gid.into());
    h.set_mtime(st.st_mtime.max(0) as u64);
    h.set_size(size);
    h
}

/// Append entry `name` of directory `parent` (and, for a directory, all below it) as `arch`.
/// `follow` follows a symlink at `name` itself (`cp -L`); deeper ones are always archived as links.
pub fn append<W: Write>(
    b: &mut tar::Builder<W>,
    parent: BorrowedFd<'_>,
    name: &CStr,
    arch: &Path,
    follow: bool,
) -> io::Result<()> {
    let at = if follow {
        AtFlags::empty()
    } else {
        AtFlags::AT_SYMLINK_NOFOLLOW
    };
    let st = fstatat(parent, name, at)?;
    let kind = SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT);
    let nofollow = if follow {
        OFlag::empty()
    } else {
        OFlag::O_NOFOLLOW
    };
    match kind {
        SFlag::S_IFDIR => {
            let dir = File::from(openat(
                parent,
                name,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC | nofollow,
                Mode::empty(),
            )?);
            b.append_data(
                &mut header(&st, tar::EntryType::Directory, 0),
                arch,
                io::empty(),
            )?;
            for child in names(dir.as_fd())? {
                let sub = arch.join(OsStr::from_bytes(child.as_bytes()));
                append(b, dir.as_fd(), &child, &sub, false)?;
            }
            Ok(())
        }
        SFlag::S_IFREG => {
            let f = File::from(openat(
                parent,
                name,
                OFlag::O_RDONLY | OFlag::O_CLOEXEC | nofollow,
                Mode::empty(),
            )?);
            let size = st.st_size as u64;
            let mut h = header(&st, tar::EntryType::Regular, size);
            b.append_data(&mut h, arch, f.take(size))
        }
        SFlag::S_IFLNK => {
            let target = readlinkat(parent, name)?;
            let mut h = header(&st, tar::EntryType::Symlink, 0);
            b.append_link(&mut h, arch, Path::new(&target))
        }
        _ => {
            let t = match kind {
                SFlag::S_IFCHR => tar::EntryType::Char,
                SFlag::S_IFBLK => tar::EntryType::Block,
                SFlag::S_IFIFO => tar::EntryType::Fifo,
                // Sockets cannot be archived (tar skips them too).
                _ => return Ok(()),
            };
            let mut h = header(&st, t, 0);
            let (major, minor) = (libc::major(st.st_rdev), libc::minor(st.st_rdev));
            h.set_device_major(major)?;
            h.set_device_minor(minor)?;
            b.append_data(&mut h, arch, io::empty())
        }
    }
}

/// Where an archive goes: under `root` (as if it were `/`), at directory `base`; an entry whose
/// first component is `rename.0` goes there as `rename.1` instead.
pub struct Target<'a> {
    pub root: BorrowedFd<'a>,
    pub base: PathBuf,
    pub rename: Option<(PathBuf, PathBuf)>,
    /// Every entry's owner; `None` keeps the archive's (`cp -a`). docker's cp gives what it
    /// writes to the invoking user on the host and to root in a container.
    pub owner: Option<(u32, u32)>,
}

/// The entry's path below `base`, cleaned: absolute and `..` components are dropped, as tar does.
fn relative(t: &Target<'_>, p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        if let Component::Normal(n) = c {
            out.push(n);
        }
    }
    if let Some((from, to)) = &t.rename {
        if let Ok(rest) = out.strip_prefix(from) {
            out = to.join(rest);
        }
    }
    let joined = t.base.join(&out);
    (joined.file_name().is_some()).then_some(joined)
}

/// Write every entry of `archive` under `t`.
pub fn extract(archive: impl Read, t: &Target<'_>) -> io::Result<()> {
    let mut ar = tar::Archive::new(archive);
    let mut dirs: Vec<(OwnedFd, TimeSpec)> = Vec::new();
    for entry in ar.entries()? {
        let mut e = entry?;
        let path = e.path()?.into_owned();
        let Some(full) = relative(t, &path) else {
            continue;
        };
        let (Some(parent), Some(name)) = (full.parent(), full.file_name()) else {
            continue;
        };
        let dir = open_in_root(t.root, parent, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
        let name = cname(name)?;
        let h = e.header();
        let mode = Mode::from_bits_truncate(h.mode()? & 0o7777);
        let (uid, gid) = match t.owner {
            Some(o) => o,
            None => (h.uid()? as u32, h.gid()? as u32),
        };
        let mtime = TimeSpec::new(h.mtime()? as libc::time_t, 0);
        let kind = h.entry_type();
        if !kind.is_dir() {
            // A file over an existing file (or symlink) replaces it, never writes through it.
            match unlinkat(dir.as_fd(), name.as_c_str(), UnlinkatFlags::NoRemoveDir) {
                Ok(()) | Err(Errno::ENOENT) => {}
                Err(Errno::EISDIR) => {
                    return Err(io::Error::other(format!(
                        "cannot overwrite directory {} with non-directory",
                        full.display()
                    )))
                }
                Err(e) => return Err(e.into()),
            }
        }
        match kind {
            tar::EntryType::Directory => {
                match mkdirat(
                    dir.as_fd(),
                    name.as_c_str(),
                    Mode::from_bits_truncate(0o700),
                ) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(e.into()),
                }
                let d = open_dir(dir.as_fd(), &name)?;
                fchown(
                    d.as_fd(),
                    Some(Uid::from_raw(uid)),
                    Some(Gid::from_raw(gid)),
                )?;
                fchmod(d.as_fd(), mode)?;
                dirs.push((d, mtime));
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mut f = File::from(openat(
                    dir.as_fd(),
                    name.as_c_str(),
                    OFlag::O_WRONLY
                        | OFlag::O_CREAT
                        | OFlag::O_EXCL
                        | OFlag::O_NOFOLLOW
                        | OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate(0o600),
                )?);
                io::copy(&mut e, &mut f)?;
                fchown(
                    f.as_fd(),
                    Some(Uid::from_raw(uid)),
                    Some(Gid::from_raw(gid)),
                )?;
                fchmod(f.as_fd(), mode)?;
                futimens(f.as_fd(), &mtime, &mtime)?;
            }
            tar::EntryType::Symlink => {
                let target = e.link_name()?.unwrap_or_default().into_owned();
                symlinkat(target.as_os_str(), dir.as_fd(), name.as_c_str())?;
                fchownat(
                    dir.as_fd(),
                    name.as_c_str(),
                    Some(Uid::from_raw(uid)),
                    Some(Gid::from_raw(gid)),
                    AtFlags::AT_SYMLINK_NOFOLLOW,
                )?;
                utimensat(
                    dir.as_fd(),
                    name.as_c_str(),
                    &mtime,
                    &mtime,
                    UtimensatFlags::NoFollowSymlink,
                )?;
            }
            tar::EntryType::Link => {
                let target = e.link_name()?.unwrap_or_default().into_owned();
                let Some(target) = relative(t, &target) else {
                    continue;
                };
                let (Some(tp), Some(tn)) = (target.parent(), target.file_name()) else {
                    continue;
                };
                let tdir = open_in_root(t.root, tp, OFlag::O_PATH | OFlag::O_DIRECTORY)?;
                linkat(
                    tdir.as_fd(),
                    cname(tn)?.as_c_str(),
                    dir.as_fd(),
                    name.as_c_str(),
                    AtFlags::empty(),
                )?;
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let k = match kind {
                    tar::EntryType::Char => SFlag::S_IFCHR,
                    tar::EntryType::Block => SFlag::S_IFBLK,
                    _ => SFlag::S_IFIFO,
                };
                let dev = libc::makedev(
                    h.device_major()?.unwrap_or(0),
                    h.device_minor()?.unwrap_or(0),
                );
                mknodat(dir.as_fd(), name.as_c_str(), k, mode, dev)?;
                fchownat(
                    dir.as_fd(),
                    name.as_c_str(),
                    Some(Uid::from_raw(uid)),
                    Some(Gid::from_raw(gid)),
                    AtFlags::AT_SYMLINK_NOFOLLOW,
                )?;
            }
            // pax headers and the like carry nothing to write.
            _ => {}
        }
    }
    // Directory times last: their entries changed them.
    for (d, m) in dirs.iter().rev() {
        futimens(d.as_fd(), m, m)?;
    }
    Ok(())
}
