//! rtnetlink operations den needs: bridges, veth pairs, bridge ports, addresses and routes.
//!
//! A [`Netlink`] is one rtnetlink socket, and a netlink socket stays bound to the network namespace it was
//! created in. So one `Netlink` per namespace: [`Netlink::open_current`] for the calling thread's namespace,
//! [`Netlink::open_in`] for another one (a container's), without ever moving the calling thread.
//!
//! All methods need a tokio runtime with IO enabled (`Builder::new_current_thread().enable_io()`).

mod addr;
mod error;
mod link;
mod naming;
mod netns;
pub(crate) use netns::run_in as run_in_netns;
mod route;
mod veth;

use std::os::fd::BorrowedFd;

use futures::TryStreamExt;
use rtnetlink::sys::{protocols::NETLINK_ROUTE, AsyncSocket, TokioSocket};

pub use self::error::{Cause, NetlinkError};
pub use self::naming::{check_name as check_ifname, mac_from_ip, mac_string, random_veth_name};

/// One link as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: u32,
    pub name: String,
    /// The link type, e.g. "veth" or "bridge"; `None` for physical devices and loopback.
    pub kind: Option<String>,
    /// Index of the bridge (or bond...) this link is enslaved to.
    pub master: Option<u32>,
    /// Administratively up (IFF_UP).
    pub up: bool,
    pub mac: Option<[u8; 6]>,
    /// MTU of the link.
    pub mtu: Option<u32>,
}

/// One rtnetlink socket bound to one network namespace.
pub struct Netlink {
    handle: rtnetlink::Handle,
    connection: tokio::task::JoinHandle<()>,
}

impl Netlink {
    /// Socket in the calling thread's netns. Must be called inside a tokio runtime (with IO enabled): the
    /// connection's driver future is spawned on it.
    pub fn open_current() -> Result<Self, NetlinkError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| NetlinkError::NoRuntime)?;
        let socket = {
            let _entered = runtime.enter();
            TokioSocket::new(NETLINK_ROUTE).map_err(NetlinkError::Socket)?
        };
        Ok(Self::from_socket(&runtime, socket))
    }

    /// Socket in the netns referred to by `netns` (e.g. an fd of /proc/PID/ns/net). The socket is created on a
    /// short-lived thread that enters that namespace; the calling thread's namespace is never changed.
    pub fn open_in(netns: BorrowedFd<'_>) -> Result<Self, NetlinkError> {
        Self::open_in_after(netns, || ()).map(|(nl, ())| nl)
    }

    /// [`Netlink::open_in`], running `first` on the thread inside `netns` before the socket is made
    /// (what it returns is handed back): one thread for both.
    pub fn open_in_after<T: Send>(
        netns: BorrowedFd<'_>,
        first: impl FnOnce() -> T + Send,
    ) -> Result<(Self, T), NetlinkError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| NetlinkError::NoRuntime)?;
        let (socket, done) = netns::socket_in(netns, &runtime, first)?;
        Ok((Self::from_socket(&runtime, socket), done))
    }

    /// The raw rtnetlink handle, for netcfg's read-only views (`view`, `explain`) that ask the kernel
    /// questions this module has no method for.
    pub(crate) fn handle(&self) -> &rtnetlink::Handle {
        &self.handle
    }

    fn from_socket(runtime: &tokio::runtime::Handle, socket: TokioSocket) -> Self {
        let (connection, handle, _messages) = rtnetlink::from_socket(socket);
        let connection = runtime.spawn(connection);
        Self { handle, connection }
    }
}

impl Drop for Netlink {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

/// Collects a dump stream, turning its error into a [`Cause`].
async fn collect<T, S>(stream: S) -> Result<Vec<T>, Cause>
where
    S: futures::Stream<Item = Result<T, rtnetlink::Error>>,
{
    stream.map_err(Cause::from).try_collect().await
}
