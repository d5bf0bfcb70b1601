//! Step 7's slow kernel waits, off the user's terminal. A child process ("behind") deletes the
//! container's host veth and, with `--rm`, removes its state dir once it has been renamed out of
//! `containers/`; this process returns as soon as what it reports is true: the veth gone from
//! every listing (netcfg checks), the firewall elements, host ports and lease gone, the container
//! gone from `den ps -a`. Deleting a veth blocks its sender in the kernel's RCU waits, and each
//! freed block of a removed file waits for a synchronous discard on this machine's ext4: together
//! most of a bridged `den run --rm`'s time; the child waits them out after `den run` returned. It
//! also inherits, and releases when it ends, the container's mount namespace that `--rm` holds
//! (run/launch.rs `hold_mounts`): its mounts' teardown waits for an RCU grace period too.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use den_netcfg::Unplug;
use nix::unistd::{pipe2, setsid};

use super::detached::{null_stdio, single_threaded};
use crate::syscall;

/// The parent's end of a started child: where to send the state dir it should remove.
pub(super) struct Behind {
    jobs: OwnedFd,
}

/// Start the child: it runs `unplug` (if any), then removes the directory this process names
/// through [`Behind::remove`] (nothing if it names none). `None` if that cannot be done safely
/// (more than one thread) or at all: the caller does the work itself. The child is not waited
/// for: it outlives den by the kernel's waits, and whoever inherits it reaps it.
pub(super) fn start(unplug: Option<Unplug>) -> Option<Behind> {
    if !single_threaded() {
        return None;
    }
    let (read, write) = pipe2(nix::fcntl::OFlag::O_CLOEXEC).ok()?;
    match syscall::fork_single_threaded() {
        Ok(Some(_child)) => Some(Behind { jobs: write }),
        Ok(None) => {
            drop(write);
            // Not den's terminal nor its caller's pipes. Its other fds it keeps until it ends: den
            // holds no lock when it forks here, and the nftables socket's last close (an RCU
            // wait) is this process's then, not den's.
            let _ = setsid();
            let _ = null_stdio(true);
            let mut failed = unplug.is_some_and(|u| u.run().is_err());
            let mut path = Vec::new();
            if File::from(read).read_to_end(&mut path).is_ok() && !path.is_empty() {
                let dir = PathBuf::from(std::ffi::OsStr::from_bytes(&path));
                failed |= std::fs::remove_dir_all(dir).is_err();
            }
            syscall::exit_now(i32::from(failed))
        }
        Err(_) => None,
    }
}

impl Behind {
    /// Have the child remove `dir` (already out of `containers/`; `den gc` removes it should the
    /// child die first).
    pub(super) fn remove(self, dir: &Path) {
        let _ = File::from(self.jobs).write_all(dir.as_os_str().as_bytes());
    }
}
