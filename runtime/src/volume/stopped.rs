//! A container's root for `den cp`: `/proc/PID/root` while it runs; else its filesystem put
//! together in a thread with a mount namespace of its own: the overlay of its image layers and its
//! upper dir, read-write (the container is not running and its dir is locked, so `den start`
//! waits), then its binds and volumes on their symlink-safe targets, as its start would mount
//! them. All of it goes when the thread ends; the host's mount table never sees it.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::mount::MsFlags;
use nix::sys::stat::Mode;

use super::cp::CpError;
use super::{points, MountKind};
use crate::image::ImageStore;
use crate::process::MountPlan;
use crate::state::{self, Container, Store};

fn assemble<T: Send>(
    root: &Path,
    c: &Container,
    dir: &Path,
    f: impl FnOnce(BorrowedFd<'_>) -> Result<T, CpError> + Send,
) -> Result<T, CpError> {
    let fail = |what: &'static str, source: io::Error| CpError::Root {
        name: c.name.clone(),
        what,
        source,
    };
    let image = ImageStore::new(root)
        .resolve(&c.image)
        .map_err(|e| fail("resolving its image", io::Error::other(e)))?;
    let mut mounts =
        points::load(dir).map_err(|e| fail("reading its mounts", io::Error::other(e)))?;
    mounts.mounts.retain(|m| m.kind != MountKind::Tmpfs);
    let plans = points::oci_mounts(&mounts)
        .map_err(|e| fail("listing its mounts", io::Error::other(e)))?
        .iter()
        .map(MountPlan::new)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail("checking its mounts", io::Error::other(e)))?;
    let mut data = b"lowerdir=".to_vec();
    let lower: Vec<&[u8]> = image
        .layers
        .iter()
        .rev()
        .map(|l| l.as_os_str().as_bytes())
        .collect();
    data.extend(lower.join(&b':'));
    for (k, p) in [
        ("upperdir", dir.join("upper")),
        ("workdir", dir.join("work")),
    ] {
        data.extend(format!(",{k}=").as_bytes());
        data.extend(p.as_os_str().as_bytes());
    }
    let data = CString::new(data)
        .map_err(|_| fail("naming its layers", io::ErrorKind::InvalidInput.into()))?;
    let target = dir.join("rootfs");
    std::thread::scope(|s| {
        s.spawn(move || {
            let root = super::seed::private_overlay(&data, target.as_path(), MsFlags::empty())
                .map_err(|e| fail("mounting its filesystem (privately)", e.into()))?;
            for p in &plans {
                p.apply(root.as_fd())
                    .map_err(|e| fail("mounting its volumes (privately)", e.into()))?;
            }
            f(root.as_fd())
        })
        .join()
        .unwrap_or_else(|_| {
            Err(fail(
                "copying",
                io::Error::other("the copying thread panicked"),
            ))
        })
    })
}

/// Run `f` on the container's root: `/proc/PID/root` while it runs, else its filesystem put
/// together in a private mount namespace (`stopped::assemble`).
pub(crate) fn with_root<T>(
    store: &Store,
    c: &Container,
    f: impl FnOnce(BorrowedFd<'_>) -> Result<T, CpError> + Send,
) -> Result<T, CpError>
where
    T: Send,
{
    let root_err = |what| {
        let name = c.name.clone();
        move |e: Errno| CpError::Root {
            name,
            what,
            source: e.into(),
        }
    };
    if let (Some(pid), Some(start)) = (c.pid, c.pid_start) {
        if state::same_process(pid, start) {
            let root = open(
                Path::new(&format!("/proc/{pid}/root")),
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(root_err("opening its root"))?;
            return f(root.as_fd());
        }
    }
    let dir = store.dir(&c.id);
    let lock = File::open(&dir).map_err(|e| CpError::Root {
        name: c.name.clone(),
        what: "opening its dir",
        source: e,
    })?;
    lock.lock().map_err(|e| CpError::Root {
        name: c.name.clone(),
        what: "locking its dir",
        source: e,
    })?;
    assemble(store.root(), c, &dir, f)
}
