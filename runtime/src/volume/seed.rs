//! docker's copy-up: a volume that is still empty when its container starts is filled with what the
//! image has at the mount's destination (moby `copyExistingContents`: only an empty volume, only
//! without `nocopy`; the volume's top directory takes the owner and mode of the image's).
//!
//! The image is read through a read-only overlay of the container's layers (its upper dir on top,
//! so `den start` sees what the container changed) mounted by a short-lived thread in a mount
//! namespace of its own: the mount never appears in the host's mount table and is gone when the
//! thread ends. The destination is resolved with `openat2(RESOLVE_IN_ROOT)`, so an image whose
//! `/data` is a symlink to `/etc` seeds from its own `/etc`, never the host's.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{open, openat2, OFlag, OpenHow, ResolveFlag};
use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::sys::stat::{fstat, Mode};

use super::copy::{copy_attrs, copy_contents};
use super::{MountKind, Mounts, VolumeError};

/// Seed every volume of `mounts` that asks for it and is empty, from the image `layers` (bottom
/// first) under `upper`, mounting them at `scratch` (an empty directory) inside a private mount
/// namespace. Does nothing (and mounts nothing) when no volume needs it.
pub fn seed(
    layers: &[PathBuf],
    upper: &Path,
    scratch: &Path,
    mounts: &Mounts,
) -> Result<(), VolumeError> {
    let todo: Vec<(&str, &Path, &str)> = mounts
        .mounts
        .iter()
        .filter(|m| m.kind == MountKind::Volume && m.copy_data && is_empty(&m.source))
        .map(|m| (m.name.as_str(), m.source.as_path(), m.destination.as_str()))
        .collect();
    if todo.is_empty() {
        return Ok(());
    }
    let mut lower: Vec<&[u8]> = vec![upper.as_os_str().as_bytes()];
    lower.extend(layers.iter().rev().map(|l| l.as_os_str().as_bytes()));
    let mut data = b"lowerdir=".to_vec();
    data.extend(lower.join(&b':'));
    let data = CString::new(data).map_err(|_| VolumeError::Spec {
        message: format!("invalid layer path under {}", upper.display()),
    })?;
    let target = CString::new(scratch.as_os_str().as_bytes()).map_err(|_| VolumeError::Spec {
        message: format!("invalid path {}", scratch.display()),
    })?;
    std::thread::scope(|s| {
        s.spawn(|| -> Result<(), VolumeError> {
            let flags = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
            let root =
                private_overlay(&data, target.as_c_str(), flags).map_err(|e| VolumeError::Io {
                    what: "mounting the image read-only (in a private mount namespace) at",
                    path: scratch.to_path_buf(),
                    source: e.into(),
                })?;
            for (name, data_dir, dest) in &todo {
                seed_one(root.as_fd(), data_dir, dest).map_err(|source| VolumeError::Seed {
                    name: name.to_string(),
                    path: dest.to_string(),
                    source,
                })?;
            }
            Ok(())
        })
        .join()
        .unwrap_or_else(|_| {
            Err(VolumeError::Seed {
                name: String::new(),
                path: String::new(),
                source: io::Error::other("the seeding thread panicked"),
            })
        })
    })
}

/// In this thread only: a new mount namespace, private, with the overlay (`data`, mounted with
/// `flags`) at `target`; the root of the overlay, opened. The namespace dies with the thread, so
/// nothing reaches the host's mount table. Also `den cp`'s view of a stopped container.
pub(super) fn private_overlay<P: ?Sized + nix::NixPath>(
    data: &CString,
    target: &P,
    flags: MsFlags,
) -> Result<OwnedFd, Errno> {
    unshare(CloneFlags::CLONE_NEWNS)?;
    let none: Option<&std::ffi::CStr> = None;
    mount(
        none,
        c"/",
        none,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        none,
    )?;
    mount(
        Some(c"overlay"),
        target,
        Some(c"overlay"),
        flags,
        Some(data.as_c_str()),
    )?;
    open(
        target,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

fn seed_one(root: BorrowedFd<'_>, data_dir: &Path, dest: &str) -> io::Result<()> {
    let how = OpenHow::new()
        .flags(OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let src = match openat2(root, dest, how) {
        Ok(fd) => File::from(fd),
        // Nothing (or no directory) there in the image: nothing to copy, as docker.
        Err(Errno::ENOENT | Errno::ENOTDIR) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let dst = File::from(open(
        data_dir,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?);
    copy_contents(src.as_fd(), dst.as_fd())?;
    let st = fstat(src.as_fd())?;
    copy_attrs(&src, &dst, &st)
}

fn is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none())
}
