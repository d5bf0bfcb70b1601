//! What `network create` and `network rm` ask the kernel: the host's routes, whether a link exists, and
//! deleting a network's bridge. Synchronous callers get a current-thread tokio runtime of their own.

use std::future::Future;

use ipnet::Ipv4Net;

use super::NetworkError;
use crate::netlink::{Netlink, NetlinkError};

/// Runs `f` to completion on a fresh current-thread runtime. Must not be called inside a tokio runtime.
pub(super) fn block_on<F: Future>(network: &str, f: F) -> Result<F::Output, NetworkError> {
    crate::rt::block_on(f).map_err(|source| NetworkError::Runtime {
        network: network.to_string(),
        source,
    })
}

/// The host's routes (default routes left out) and whether a link called `bridge` exists, in the calling
/// thread's network namespace.
pub(super) async fn routes_and_link(bridge: &str) -> Result<(Vec<Ipv4Net>, bool), NetlinkError> {
    let nl = Netlink::open_current()?;
    let routes = nl
        .routes_v4(None)
        .await?
        .into_iter()
        .map(|(route, _)| route)
        .filter(|route| route.prefix_len() > 0)
        .collect();
    let exists = nl.link_index(bridge).await?.is_some();
    Ok((routes, exists))
}

/// Deletes the bridge called `bridge` if there is one (a link of another kind is not den's and is left
/// alone). Its address, routes and per-interface sysctls go with it.
pub(super) async fn delete_bridge(bridge: &str) -> Result<(), NetlinkError> {
    let nl = Netlink::open_current()?;
    match nl.link_by_name(bridge).await? {
        Some(link) if link.kind.as_deref() == Some("bridge") => {
            match nl.delete_link(link.index).await {
                Err(e) if e.errno() != Some(libc::ENODEV) => Err(e),
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}
