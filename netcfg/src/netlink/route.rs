//! IPv4 routes of the main table.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteType,
};
use rtnetlink::RouteMessageBuilder;

use super::{collect, Netlink, NetlinkError};

impl Netlink {
    /// Adds the default route via `gateway` to the main table (`ip route add default via GATEWAY`).
    pub async fn add_default_route(&self, gateway: Ipv4Addr) -> Result<(), NetlinkError> {
        let message = RouteMessageBuilder::<Ipv4Addr>::new()
            .gateway(gateway)
            .build();
        let result = self.handle.route().add(message).execute().await;
        result.map_err(|e| NetlinkError::AddDefaultRoute {
            gateway,
            source: e.into(),
        })
    }

    /// The unicast IPv4 routes of the main table as (destination, output link; 0 if none), leaving out those
    /// whose output link is `ignore_link`. A default route shows as 0.0.0.0/0: callers checking whether a
    /// subnet overlaps a route on the host skip prefix length 0.
    pub async fn routes_v4(
        &self,
        ignore_link: Option<u32>,
    ) -> Result<Vec<(Ipv4Net, u32)>, NetlinkError> {
        let dump = RouteMessageBuilder::<Ipv4Addr>::new().build();
        let messages = collect(self.handle.route().get(dump).execute())
            .await
            .map_err(NetlinkError::ListRoutes)?;
        Ok(messages
            .iter()
            .filter(|m| {
                table(m) == u32::from(RouteHeader::RT_TABLE_MAIN)
                    && m.header.kind == RouteType::Unicast
            })
            .filter_map(|m| Some((destination(m)?, output_link(m))))
            .filter(|(_, oif)| ignore_link != Some(*oif))
            .collect())
    }
}

/// The table, from RTA_TABLE when present (tables above 255 only appear there).
fn table(message: &RouteMessage) -> u32 {
    let attribute = message.attributes.iter().find_map(|a| match a {
        RouteAttribute::Table(t) => Some(*t),
        _ => None,
    });
    attribute.unwrap_or(u32::from(message.header.table))
}

fn destination(message: &RouteMessage) -> Option<Ipv4Net> {
    let ip = message.attributes.iter().find_map(|a| match a {
        RouteAttribute::Destination(RouteAddress::Inet(ip)) => Some(*ip),
        _ => None,
    });
    Ipv4Net::new(
        ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
        message.header.destination_prefix_length,
    )
    .ok()
}

fn output_link(message: &RouteMessage) -> u32 {
    let oif = message.attributes.iter().find_map(|a| match a {
        RouteAttribute::Oif(oif) => Some(*oif),
        _ => None,
    });
    oif.unwrap_or(0)
}
