//! The kernel's answers `explain` relies on, over rtnetlink: a route lookup (RTM_GETROUTE, as
//! `ip route get [fibmatch] DST from SRC iif DEV` asks it), a link with its bridge-port state, and
//! the bridge's forwarding database (an AF_BRIDGE neighbour dump, `bridge fdb show`).

use std::net::Ipv4Addr;

use futures::TryStreamExt;
use ipnet::Ipv4Net;
use netlink_packet_route::link::{
    self as nl, BridgePortState, InfoBridgePort, InfoPortData, LinkAttribute, LinkFlags, State,
};
use netlink_packet_route::neighbour::NeighbourAttribute;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteType,
};
use netlink_packet_route::AddressFamily;

use crate::netlink::{Cause, Netlink, NetlinkError};

/// The kernel's answer to one route lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The matching entry's destination (`fibmatch`): `172.20.0.0/16`, `0.0.0.0/0`.
    pub prefix: Ipv4Net,
    pub kind: RouteType,
    pub oif: Option<u32>,
    pub gateway: Option<Ipv4Addr>,
    pub prefsrc: Option<Ipv4Addr>,
    pub table: u32,
    pub protocol: String,
    pub scope: String,
}

/// A route lookup the kernel refused: `Network is unreachable` and friends, with the errno.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct NoRoute(pub Cause);

/// One link, with what a bridge says about it when it is a bridge port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    pub up: bool,
    /// RFC 2863 operational state as `ip link` prints it (`UP`, `DOWN`, `LOWERLAYERDOWN`).
    pub oper: String,
    pub master: Option<u32>,
    /// The bridge port's STP state (`forwarding`, `disabled`, ...), if this is a bridge port.
    pub port_state: Option<String>,
    pub mac: Option<[u8; 6]>,
}

impl Link {
    /// Forwarding frames: administratively up, not down underneath, and (as a bridge port) in
    /// the forwarding state.
    pub fn passes(&self) -> bool {
        self.up
            && !matches!(self.oper.as_str(), "DOWN" | "LOWERLAYERDOWN" | "NOTPRESENT")
            && self.port_state.as_deref().is_none_or(|s| s == "forwarding")
    }
}

/// `ip route get DST [from SRC] [iif IIF]`; with `fibmatch` the answer is the route entry that
/// matched rather than the resolved /32.
pub async fn route_get(
    nl: &Netlink,
    dst: Ipv4Addr,
    from: Option<Ipv4Addr>,
    iif: Option<u32>,
) -> Result<Route, NoRoute> {
    let resolved = lookup(nl, dst, from, iif, false).await?;
    let entry = lookup(nl, dst, from, iif, true).await?;
    let attr = |m: &RouteMessage, f: fn(&RouteAttribute) -> Option<Ipv4Addr>| {
        m.attributes.iter().find_map(f)
    };
    let dst_of = |m: &RouteMessage| {
        attr(m, |a| match a {
            RouteAttribute::Destination(RouteAddress::Inet(ip)) => Some(*ip),
            _ => None,
        })
    };
    Ok(Route {
        prefix: Ipv4Net::new(
            dst_of(&entry).unwrap_or(Ipv4Addr::UNSPECIFIED),
            entry.header.destination_prefix_length,
        )
        .map_err(|_| NoRoute(Cause::Missing("a valid RTA_DST prefix")))?,
        kind: resolved.header.kind,
        oif: resolved.attributes.iter().find_map(|a| match a {
            RouteAttribute::Oif(i) => Some(*i),
            _ => None,
        }),
        gateway: attr(&resolved, |a| match a {
            RouteAttribute::Gateway(RouteAddress::Inet(ip)) => Some(*ip),
            _ => None,
        }),
        prefsrc: attr(&resolved, |a| match a {
            RouteAttribute::PrefSource(RouteAddress::Inet(ip)) => Some(*ip),
            _ => None,
        })
        .or(attr(&entry, |a| match a {
            RouteAttribute::PrefSource(RouteAddress::Inet(ip)) => Some(*ip),
            _ => None,
        })),
        table: entry
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::Table(t) => Some(*t),
                _ => None,
            })
            .unwrap_or(u32::from(entry.header.table)),
        protocol: entry.header.protocol.to_string(),
        scope: entry.header.scope.to_string(),
    })
}

async fn lookup(
    nl: &Netlink,
    dst: Ipv4Addr,
    from: Option<Ipv4Addr>,
    iif: Option<u32>,
    fibmatch: bool,
) -> Result<RouteMessage, NoRoute> {
    let mut m = RouteMessage::default();
    m.header.address_family = AddressFamily::Inet;
    m.header.destination_prefix_length = 32;
    m.attributes
        .push(RouteAttribute::Destination(RouteAddress::Inet(dst)));
    if let Some(src) = from {
        m.header.source_prefix_length = 32;
        m.attributes
            .push(RouteAttribute::Source(RouteAddress::Inet(src)));
    }
    if let Some(i) = iif {
        m.attributes.push(RouteAttribute::Iif(i));
    }
    if fibmatch {
        m.header.flags = RouteFlags::FibMatch;
    }
    let answers: Vec<RouteMessage> = nl
        .handle()
        .route()
        .get(m)
        .execute()
        .try_collect()
        .await
        .map_err(|e| NoRoute(e.into()))?;
    answers
        .into_iter()
        .next()
        .ok_or(NoRoute(Cause::Missing("route message")))
}

/// The link with `index`, with its bridge-port state.
pub async fn link(nl: &Netlink, index: u32) -> Result<Link, NetlinkError> {
    let err = |source| NetlinkError::GetLink { index, source };
    let messages: Vec<_> = nl
        .handle()
        .link()
        .get()
        .match_index(index)
        .execute()
        .try_collect()
        .await
        .map_err(|e| err(e.into()))?;
    let m = messages
        .first()
        .ok_or(err(Cause::Missing("link message")))?;
    let mut link = Link {
        index,
        name: String::new(),
        up: m.header.flags.contains(LinkFlags::Up),
        oper: State::Unknown.to_string(),
        master: None,
        port_state: None,
        mac: None,
    };
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => link.name.clone_from(n),
            LinkAttribute::OperState(s) => link.oper = s.to_string().to_uppercase(),
            LinkAttribute::Controller(i) if *i != 0 => link.master = Some(*i),
            LinkAttribute::Address(mac) => link.mac = <[u8; 6]>::try_from(mac.as_slice()).ok(),
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    if let nl::LinkInfo::PortData(InfoPortData::BridgePort(port)) = info {
                        link.port_state = port.iter().find_map(|p| match p {
                            InfoBridgePort::State(s) => Some(port_state(*s)),
                            _ => None,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    Ok(link)
}

fn port_state(s: BridgePortState) -> String {
    match s {
        BridgePortState::Disabled => "disabled".into(),
        BridgePortState::Listening => "listening".into(),
        BridgePortState::Learning => "learning".into(),
        BridgePortState::Forwarding => "forwarding".into(),
        BridgePortState::Blocking => "blocking".into(),
        BridgePortState::Other(n) => format!("state {n}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// The link called `name`, if there is one.
pub async fn link_named(nl: &Netlink, name: &str) -> Result<Option<Link>, NetlinkError> {
    match nl.link_by_name(name).await? {
        Some(l) => Ok(Some(link(nl, l.index).await?)),
        None => Ok(None),
    }
}

/// Whether the bridge's forwarding database has learnt `mac` on port `index` (`bridge fdb show`).
pub async fn fdb_has(nl: &Netlink, index: u32, mac: [u8; 6]) -> Result<bool, Cause> {
    let entries: Vec<_> = nl
        .handle()
        .neighbours()
        .get()
        .set_address_family(AddressFamily::Bridge)
        .execute()
        .try_collect()
        .await?;
    Ok(entries.iter().any(|n| {
        n.header.ifindex == index
            && n.attributes.iter().any(
                |a| matches!(a, NeighbourAttribute::LinkLayerAddress(l) if l.as_slice() == mac),
            )
    }))
}

/// The first IPv4 address of link `index`.
pub async fn first_v4(nl: &Netlink, index: u32) -> Result<Option<Ipv4Net>, NetlinkError> {
    Ok(nl.addresses_v4(index).await?.first().copied())
}

/// The main table's IPv4 default route as (output link, gateway), if there is one.
pub async fn default_route(nl: &Netlink) -> Result<Option<(u32, Option<Ipv4Addr>)>, Cause> {
    let mut dump = RouteMessage::default();
    dump.header.address_family = AddressFamily::Inet;
    let routes: Vec<RouteMessage> = nl
        .handle()
        .route()
        .get(dump)
        .execute()
        .try_collect()
        .await?;
    Ok(routes
        .iter()
        .filter(|m| {
            m.header.destination_prefix_length == 0
                && m.header.kind == RouteType::Unicast
                && m.header.table == netlink_packet_route::route::RouteHeader::RT_TABLE_MAIN
        })
        .find_map(|m| {
            let oif = m.attributes.iter().find_map(|a| match a {
                RouteAttribute::Oif(i) => Some(*i),
                _ => None,
            })?;
            let gw = m.attributes.iter().find_map(|a| match a {
                RouteAttribute::Gateway(RouteAddress::Inet(ip)) => Some(*ip),
                _ => None,
            });
            Some((oif, gw))
        }))
}

/// `172.20.0.0/16 via GW dev den0 proto kernel scope link src 172.20.0.1 (table 254)`.
pub fn route_text(r: &Route, dev: &str) -> String {
    let mut s = r.prefix.to_string();
    if r.prefix.prefix_len() == 0 {
        s = "default".into();
    }
    if r.kind != RouteType::Unicast {
        s = format!("{} {s}", format!("{:?}", r.kind).to_lowercase());
    }
    if let Some(gw) = r.gateway {
        s.push_str(&format!(" via {gw}"));
    }
    if !dev.is_empty() {
        s.push_str(&format!(" dev {dev}"));
    }
    s.push_str(&format!(" proto {} scope {}", r.protocol, r.scope));
    if let Some(src) = r.prefsrc {
        s.push_str(&format!(" src {src}"));
    }
    if r.table != u32::from(netlink_packet_route::route::RouteHeader::RT_TABLE_MAIN) {
        s.push_str(&format!(" table {}", r.table));
    }
    s
}

/// A link's one-line description: `den0 (index 3, UP)`.
pub fn link_text(l: &Link) -> String {
    let mut s = format!(
        "link: {} index {} {}",
        l.name,
        l.index,
        if l.up { "up" } else { "down" }
    );
    s.push_str(&format!(" state {}", l.oper));
    if let Some(p) = &l.port_state {
        s.push_str(&format!(" bridge_slave state {p}"));
    }
    s
}
