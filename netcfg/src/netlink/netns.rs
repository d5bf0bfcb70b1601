//! Creating a netlink socket inside another network namespace without moving the calling thread.

use std::os::fd::BorrowedFd;

use nix::sched::{setns, CloneFlags};
use rtnetlink::sys::{protocols::NETLINK_ROUTE, AsyncSocket, TokioSocket};

use super::NetlinkError;

/// Runs `f` on a scoped thread that `setns`es into `netns` and ends right after: only that thread
/// ever changes namespace (for what only a thread inside it can do, such as its /proc/sys/net).
pub(crate) fn run_in<T: Send>(
    netns: BorrowedFd<'_>,
    f: impl FnOnce() -> T + Send,
) -> Result<T, NetlinkError> {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("den-netns".into())
            .spawn_scoped(scope, move || {
                setns(netns, CloneFlags::CLONE_NEWNET).map_err(NetlinkError::EnterNetns)?;
                Ok(f())
            })
            .map_err(NetlinkError::Thread)?;
        thread.join().map_err(|_| NetlinkError::ThreadPanicked)?
    })
}

/// A socket born inside `netns` (it keeps the namespace it was born in), made on a [`run_in`]
/// thread after `first` ran there.
pub(super) fn socket_in<T: Send>(
    netns: BorrowedFd<'_>,
    runtime: &tokio::runtime::Handle,
    first: impl FnOnce() -> T + Send,
) -> Result<(TokioSocket, T), NetlinkError> {
    run_in(netns, move || {
        let done = first();
        let _entered = runtime.enter();
        let socket = TokioSocket::new(NETLINK_ROUTE).map_err(NetlinkError::Socket)?;
        Ok((socket, done))
    })?
}
