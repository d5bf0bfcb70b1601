//! IPv4 addresses of links.

use std::net::IpAddr;

use ipnet::Ipv4Net;
use netlink_packet_route::address::AddressAttribute;

use super::{collect, Netlink, NetlinkError};

impl Netlink {
    /// Adds `addr` (address and prefix, e.g. 172.20.0.1/16) to link `index`. An address already there keeps
    /// its `EEXIST`.
    pub async fn add_address(&self, index: u32, addr: Ipv4Net) -> Result<(), NetlinkError> {
        let request = self
            .handle
            .address()
            .add(index, IpAddr::V4(addr.addr()), addr.prefix_len());
        let result = request.execute().await;
        result.map_err(|e| NetlinkError::AddAddress {
            index,
            addr,
            source: e.into(),
        })
    }

    /// The IPv4 addresses of link `index`, with their prefix lengths.
    pub async fn addresses_v4(&self, index: u32) -> Result<Vec<Ipv4Net>, NetlinkError> {
        let request = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute();
        let messages = collect(request)
            .await
            .map_err(|source| NetlinkError::ListAddresses { index, source })?;
        let mut found = Vec::new();
        for message in &messages {
            let local = message.attributes.iter().find_map(|a| match a {
                AddressAttribute::Local(IpAddr::V4(ip)) => Some(*ip),
                _ => None,
            });
            let address = message.attributes.iter().find_map(|a| match a {
                AddressAttribute::Address(IpAddr::V4(ip)) => Some(*ip),
                _ => None,
            });
            // IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer's on point-to-point links).
            if let Some(ip) = local.or(address) {
                if let Ok(net) = Ipv4Net::new(ip, message.header.prefix_len) {
                    found.push(net);
                }
            }
        }
        Ok(found)
    }
}
