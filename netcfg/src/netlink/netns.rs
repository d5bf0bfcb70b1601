//! Creating a netlink socket inside another network namespace without moving the calling thread.

use std::os::fd::BorrowedFd;

use nix::sched::{setns, CloneFlags};
use rtnetlink::sys::{protocols::NETLINK_ROUTE, AsyncSocket, TokioSocket};

use super::NetlinkError;

/// Creates the socket on a scoped thread that `setns`es into `netns` and ends right after: only that thread
/// ever changes namespace, and a socket keeps the namespace it was born in. `first` runs on that thread
/// before the socket is made (for what only a thread inside the namespace can do: its /proc/sys/net).
pub(super) fn socket_in<T: Send>(
    netns: BorrowedFd<'_>,
    runtime: &tokio::runtime::Handle,
    first: impl FnOnce() -> T + Send,
) -> Result<(TokioSocket, T), NetlinkError> {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("den-netns".into())
            .spawn_scoped(scope, move || {
                setns(netns, CloneFlags::CLONE_NEWNET).map_err(NetlinkError::EnterNetns)?;
                let done = first();
                let _entered = runtime.enter();
                let socket = TokioSocket::new(NETLINK_ROUTE).map_err(NetlinkError::Socket)?;
                Ok((socket, done))
            })
            .map_err(NetlinkError::Thread)?;
        thread.join().map_err(|_| NetlinkError::ThreadPanicked)?
    })
}
