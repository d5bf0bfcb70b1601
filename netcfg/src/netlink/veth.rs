//! veth pairs whose peer is born inside another namespace, and bridge-port hairpin mode.

use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_route::link::{
    InfoData, InfoVeth, LinkAttribute, LinkMessage, LinkProtoInfoBridge,
};
use netlink_packet_route::AddressFamily;
use rtnetlink::packet_core::{DefaultNla, Nla};
use rtnetlink::{LinkUnspec, LinkVeth};

use super::naming::check_name;
use super::{collect, Cause, Netlink, NetlinkError};

/// `IFLA_BRPORT_MODE` (hairpin) inside a bridge port's `IFLA_PROTINFO`.
const IFLA_BRPORT_MODE: u16 = 4;

impl Netlink {
    /// Creates a veth pair from this socket's namespace: the local end `host_name`, and its peer created
    /// directly inside `peer_netns` as `peer_name` (e.g. "eth0"), both with `mtu`; the peer gets `peer_mac`
    /// when given. Both ends start down. Returns the local end's index. A taken name keeps its `EEXIST`.
    pub async fn create_veth(
        &self,
        host_name: &str,
        peer_name: &str,
        peer_netns: BorrowedFd<'_>,
        mtu: u32,
        peer_mac: Option<[u8; 6]>,
    ) -> Result<u32, NetlinkError> {
        for name in [host_name, peer_name] {
            check_name(name).map_err(|reason| NetlinkError::InvalidName {
                name: name.into(),
                reason,
            })?;
        }
        let mut peer = LinkUnspec::new_with_name(peer_name)
            .mtu(mtu)
            .setns_by_fd(peer_netns.as_raw_fd());
        if let Some(mac) = peer_mac {
            peer = peer.address(mac.to_vec());
        }
        let message = LinkVeth::new(host_name, peer_name)
            .mtu(mtu)
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer.build())))
            .build();
        // `peer_netns` is borrowed for the whole call, so the fd number in the message stays valid.
        let result = self.handle.link().add(message).execute().await;
        result.map_err(|e| NetlinkError::CreateVeth {
            host: host_name.into(),
            peer: peer_name.into(),
            source: e.into(),
        })?;
        self.link_index(host_name)
            .await?
            .ok_or_else(|| NetlinkError::CreateVeth {
                host: host_name.into(),
                peer: peer_name.into(),
                source: Cause::Kernel(std::io::Error::from_raw_os_error(libc::ENODEV)),
            })
    }

    /// Sets hairpin mode of bridge port `index` (`IFLA_PROTINFO`/`IFLA_BRPORT_MODE` on an `AF_BRIDGE`
    /// RTM_SETLINK, as `bridge link set dev X hairpin on` does).
    pub async fn set_hairpin(&self, index: u32, on: bool) -> Result<(), NetlinkError> {
        let mode =
            LinkProtoInfoBridge::Other(DefaultNla::new(IFLA_BRPORT_MODE, vec![u8::from(on)]));
        let mut message = LinkMessage::default();
        message.header.interface_family = AddressFamily::Bridge;
        message.header.index = index;
        message
            .attributes
            .push(LinkAttribute::ProtoInfoBridge(vec![mode]));
        let result = self.handle.link().set(message).execute().await;
        result.map_err(|e| NetlinkError::SetHairpin {
            index,
            on,
            source: e.into(),
        })
    }

    /// Hairpin mode of bridge port `index` as the bridge reports it (an `AF_BRIDGE` link dump);
    /// `None` if `index` is not a bridge port.
    pub async fn hairpin(&self, index: u32) -> Result<Option<bool>, NetlinkError> {
        let mut request = self.handle.link().get();
        request.message_mut().header.interface_family = AddressFamily::Bridge;
        let ports = collect(request.execute())
            .await
            .map_err(|source| NetlinkError::GetBridgePort { index, source })?;
        let port = ports.iter().find(|port| port.header.index == index);
        let protinfo = port
            .into_iter()
            .flat_map(|port| &port.attributes)
            .find_map(|a| match a {
                LinkAttribute::ProtoInfoBridge(infos) => Some(infos),
                _ => None,
            });
        Ok(protinfo.and_then(|infos| infos.iter().find_map(hairpin_mode)))
    }
}

fn hairpin_mode(info: &LinkProtoInfoBridge) -> Option<bool> {
    match info {
        LinkProtoInfoBridge::Other(nla) if nla.kind() == IFLA_BRPORT_MODE => {
            let mut value = [0u8; 1];
            (nla.value_len() == 1).then(|| {
                nla.emit_value(&mut value);
                value[0] != 0
            })
        }
        _ => None,
    }
}
