//! Step 7's slow kernel wait, off the user's terminal: the container's host veth is deleted by a
//! child process, while this one updates the firewall and the records and returns as soon as the
//! link is gone from every listing (netcfg checks). Deleting a veth blocks its sender for the
//! kernel's RCU waits, most of a bridged `den run --rm`'s time on a busy machine; the child waits
//! them out after `den run` has returned.

use den_netcfg::Unplug;
use nix::unistd::setsid;

use super::detached::{null_stdio, single_threaded};
use crate::syscall;

/// Start `unplug` in a child process; false if that cannot be done safely (more than one thread)
/// or at all, and the caller deletes the veth itself. The child is not waited for: it outlives
/// den by the kernel's waits, and whoever inherits it reaps it.
pub(super) fn in_child(unplug: Unplug) -> bool {
    if !single_threaded() {
        return false;
    }
    match syscall::fork_single_threaded() {
        Ok(Some(_child)) => true,
        Ok(None) => {
            // Holds nothing of den's: no terminal, no pipe of its caller, no lock.
            let _ = setsid();
            let _ = null_stdio(true);
            let _ = syscall::close_from(3);
            let code = match unplug.run() {
                Ok(()) => 0,
                Err(_) => 1,
            };
            syscall::exit_now(code)
        }
        Err(_) => false,
    }
}
