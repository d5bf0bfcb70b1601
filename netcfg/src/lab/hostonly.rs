//! `--network hostonly`: a veth pair whose container end is born inside the container's netns as
//! `eth0`, a /31 of 169.254.0.0/16 picked under den's network lock (no host route may cover it),
//! the host end `ho` + 11 digits of the container id.

use std::os::fd::BorrowedFd;
use std::path::Path;

use ipnet::Ipv4Net;

use super::{pair, LabError};
use crate::lock::NetLock;
use crate::netlink::{Cause, Netlink, NetlinkError};

/// What a host-only container got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostOnly {
    pub host_veth: String,
    pub net: Ipv4Net,
}

pub(super) async fn setup(
    inside: &Netlink,
    netns: BorrowedFd<'_>,
    root: &Path,
    id: &str,
) -> Result<HostOnly, LabError> {
    let host = Netlink::open_current()?;
    let lock = NetLock::acquire(root)?;
    let taken = host.routes_v4(None).await?;
    let seed = id
        .bytes()
        .take(8)
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    let net = (0..4096u32)
        .map(|i| (seed.wrapping_add(i * 7919)) % 32768)
        // 169.254.0.0/16 in /31s, leaving out 169.254.169.0/24 (cloud metadata services).
        .map(|n| Ipv4Net::new(std::net::Ipv4Addr::from(0xa9fe_0000 + n * 2), 31).expect("/31"))
        .filter(|n| n.network().octets()[2] != 169)
        .find(|n| {
            !taken.iter().any(|(r, _)| {
                r.prefix_len() > 0 && (r.contains(&n.network()) || n.contains(&r.network()))
            })
        })
        .ok_or(LabError::NoSubnet)?;
    let name = format!("ho{}", &id[..id.len().min(11)]);
    let index = host.create_veth(&name, "eth0", netns, 1500, None).await?;
    let (h, c) = pair(net);
    host.add_address(index, Ipv4Net::new(h, 31).expect("/31"))
        .await?;
    host.set_up(index).await?;
    drop(lock);
    let eth0 =
        inside
            .link_index("eth0")
            .await?
            .ok_or(LabError::Netlink(NetlinkError::CreateVeth {
                host: name.clone(),
                peer: "eth0".into(),
                source: Cause::Missing("eth0 in the container's netns"),
            }))?;
    inside
        .add_address(eth0, Ipv4Net::new(c, 31).expect("/31"))
        .await?;
    inside.set_up(eth0).await?;
    Ok(HostOnly {
        host_veth: name,
        net,
    })
}
