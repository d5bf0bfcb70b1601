//! One namespace's links, addresses and routes, dumped over its own rtnetlink socket, plus
//! RTM_GETNSID (which id this namespace gives another one).

use std::collections::HashMap;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd};

use futures::{StreamExt, TryStreamExt};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    BridgePortState, InfoBridgePort, InfoPortData, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
    State,
};
use netlink_packet_route::neighbour::{NeighbourAttribute, NeighbourMessage, NeighbourState};
use netlink_packet_route::nsid::{NsidAttribute, NsidMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_REQUEST};
use rtnetlink::RouteMessageBuilder;

use super::model::{BridgePort, Fdb, Link, Route};
use crate::netlink::{Cause, Netlink};

/// A link as dumped, with the indexes that are resolved into names and peers afterwards.
#[derive(Debug, Clone)]
pub struct RawLink {
    pub link: Link,
    pub master: Option<u32>,
    /// IFLA_LINK: a veth's peer index (in `netnsid`'s namespace when that is set).
    pub peer: Option<u32>,
    pub netnsid: Option<i32>,
}

/// One namespace's dump.
#[derive(Debug, Clone, Default)]
pub struct Dump {
    pub links: Vec<RawLink>,
    pub routes: Vec<Route>,
}

/// Links (with their addresses) and main-table IPv4 routes; bridge masters resolved by name.
pub async fn dump(nl: &Netlink) -> Result<Dump, (&'static str, Cause)> {
    let handle = nl.handle();
    // One dump at a time per socket (a second one meanwhile is EBUSY); namespaces run in parallel.
    let links: Vec<LinkMessage> = handle
        .link()
        .get()
        .execute()
        .try_collect()
        .await
        .map_err(|e| ("links", e.into()))?;
    let addrs: Vec<AddressMessage> = handle
        .address()
        .get()
        .execute()
        .try_collect()
        .await
        .map_err(|e| ("addresses", e.into()))?;
    let dump = RouteMessageBuilder::<std::net::Ipv4Addr>::new().build();
    let routes: Vec<RouteMessage> = handle
        .route()
        .get(dump)
        .execute()
        .try_collect()
        .await
        .map_err(|e| ("routes", e.into()))?;
    // The bridge forwarding database, only where there is a bridge.
    let mut fdb: HashMap<u32, Vec<Fdb>> = HashMap::new();
    if links
        .iter()
        .map(raw_link)
        .any(|l| l.link.kind.as_deref() == Some("bridge"))
    {
        let entries: Vec<NeighbourMessage> = handle
            .neighbours()
            .get()
            .set_address_family(AddressFamily::Bridge)
            .execute()
            .try_collect()
            .await
            .map_err(|e| ("the bridge fdb", e.into()))?;
        for e in &entries {
            if let Some((port, entry)) = fdb_entry(e) {
                fdb.entry(port).or_default().push(entry);
            }
        }
    }
    let mut raw: Vec<RawLink> = links.iter().map(raw_link).collect();
    raw.sort_by_key(|l| l.link.index);
    let mut v4: HashMap<u32, Vec<String>> = HashMap::new();
    let mut v6: HashMap<u32, Vec<String>> = HashMap::new();
    for a in &addrs {
        if let Some((ip, text)) = address(a) {
            let list = if ip.is_ipv4() { &mut v4 } else { &mut v6 };
            list.entry(a.header.index).or_default().push(text);
        }
    }
    let names: HashMap<u32, String> = raw
        .iter()
        .map(|l| (l.link.index, l.link.name.clone()))
        .collect();
    for l in &mut raw {
        let i = l.link.index;
        l.link.addresses = v4.remove(&i).unwrap_or_default();
        l.link.addresses.extend(v6.remove(&i).unwrap_or_default());
        l.link.master = l.master.and_then(|m| names.get(&m).cloned());
        l.link.fdb = fdb.remove(&i).unwrap_or_default();
    }
    let routes = routes
        .iter()
        .filter(|m| main_table(m) && m.header.kind == RouteType::Unicast)
        .map(|m| route(m, &names))
        .collect();
    Ok(Dump { links: raw, routes })
}

/// The id this namespace (`nl`'s) gives the namespace `other` refers to; `None` if it has none
/// (the kernel assigns one when a link's peer first lives there).
pub async fn nsid(nl: &Netlink, other: BorrowedFd<'_>) -> Result<Option<i32>, Cause> {
    let mut msg = NsidMessage::default();
    msg.header.family = AddressFamily::Unspec;
    let fd = u32::try_from(other.as_raw_fd()).map_err(|_| Cause::Missing("valid fd"))?;
    msg.attributes.push(NsidAttribute::Fd(fd));
    let mut req = NetlinkMessage::from(RouteNetlinkMessage::GetNsId(msg));
    req.header.flags = NLM_F_REQUEST;
    let mut handle = nl.handle().clone();
    let mut replies = handle.request(req).map_err(Cause::Protocol)?;
    while let Some(reply) = replies.next().await {
        match reply.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewNsId(m)) => {
                let id = m.attributes.iter().find_map(|a| match a {
                    NsidAttribute::Id(id) => Some(*id),
                    _ => None,
                });
                return Ok(id.filter(|&i| i >= 0));
            }
            NetlinkPayload::Error(e) if e.code.is_some() => return Err(Cause::Kernel(e.to_io())),
            _ => {}
        }
    }
    Err(Cause::Missing("RTM_NEWNSID"))
}

fn raw_link(m: &LinkMessage) -> RawLink {
    let mut link = Link {
        index: m.header.index,
        name: String::new(),
        kind: None,
        mac: None,
        mtu: None,
        up: m.header.flags.contains(LinkFlags::Up),
        operstate: "UNKNOWN".into(),
        master: None,
        bridge_port: None,
        addresses: Vec::new(),
        peer: None,
        fdb: Vec::new(),
    };
    let (mut master, mut peer, mut netnsid) = (None, None, None);
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => link.name.clone_from(n),
            LinkAttribute::Address(mac) if mac.len() == 6 => link.mac = Some(mac_text(mac)),
            LinkAttribute::Mtu(mtu) => link.mtu = Some(*mtu),
            LinkAttribute::OperState(s) => link.operstate = operstate(*s),
            LinkAttribute::Controller(c) if *c != 0 => master = Some(*c),
            LinkAttribute::Link(l) if *l != 0 => peer = Some(*l),
            LinkAttribute::LinkNetNsId(id) if *id >= 0 => netnsid = Some(*id),
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    match info {
                        LinkInfo::Kind(k) => link.kind = Some(k.to_string()),
                        LinkInfo::PortData(InfoPortData::BridgePort(port)) => {
                            link.bridge_port = Some(bridge_port(port));
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    RawLink {
        link,
        master,
        peer,
        netnsid,
    }
}

/// A bridge's entry (one with a master) for a port: (port index, entry).
fn fdb_entry(m: &NeighbourMessage) -> Option<(u32, Fdb)> {
    let mut mac = None;
    let (mut vlan, mut bridged) = (None, false);
    for a in &m.attributes {
        match a {
            NeighbourAttribute::LinkLayerAddress(l) if l.len() == 6 => mac = Some(mac_text(l)),
            NeighbourAttribute::Vlan(v) => vlan = Some(*v),
            NeighbourAttribute::Controller(_) => bridged = true,
            _ => {}
        }
    }
    let mac = mac.filter(|_| bridged)?;
    let permanent = matches!(
        m.header.state,
        NeighbourState::Permanent | NeighbourState::Noarp
    );
    Some((
        m.header.ifindex,
        Fdb {
            mac,
            vlan,
            permanent,
        },
    ))
}

fn bridge_port(attrs: &[InfoBridgePort]) -> BridgePort {
    let mut port = BridgePort {
        state: "disabled".into(),
        hairpin: false,
    };
    for a in attrs {
        match a {
            InfoBridgePort::State(s) => {
                port.state = match s {
                    BridgePortState::Disabled => "disabled".into(),
                    BridgePortState::Listening => "listening".into(),
                    BridgePortState::Learning => "learning".into(),
                    BridgePortState::Forwarding => "forwarding".into(),
                    BridgePortState::Blocking => "blocking".into(),
                    other => format!("{}", u8::from(*other)),
                }
            }
            InfoBridgePort::HairpinMode(h) => port.hairpin = *h,
            _ => {}
        }
    }
    port
}

/// `ip`'s spelling of the operational state.
fn operstate(s: State) -> String {
    match s {
        State::Up => "UP",
        State::Down => "DOWN",
        State::LowerLayerDown => "LOWERLAYERDOWN",
        State::Dormant => "DORMANT",
        State::NotPresent => "NOTPRESENT",
        State::Testing => "TESTING",
        _ => "UNKNOWN",
    }
    .into()
}

pub fn mac_text(mac: &[u8]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn address(m: &AddressMessage) -> Option<(IpAddr, String)> {
    let find = |want_local: bool| {
        m.attributes.iter().find_map(|a| match a {
            AddressAttribute::Local(ip) if want_local => Some(*ip),
            AddressAttribute::Address(ip) if !want_local => Some(*ip),
            _ => None,
        })
    };
    // IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer's on point-to-point links).
    let ip = find(true).or_else(|| find(false))?;
    Some((ip, format!("{ip}/{}", m.header.prefix_len)))
}

fn main_table(m: &RouteMessage) -> bool {
    let table = m.attributes.iter().find_map(|a| match a {
        RouteAttribute::Table(t) => Some(*t),
        _ => None,
    });
    table.unwrap_or(u32::from(m.header.table)) == u32::from(RouteHeader::RT_TABLE_MAIN)
}

fn route(m: &RouteMessage, names: &HashMap<u32, String>) -> Route {
    let v4 = |a: &RouteAddress| match a {
        RouteAddress::Inet(ip) => Some(ip.to_string()),
        _ => None,
    };
    let mut r = Route {
        dst: "default".into(),
        gateway: None,
        dev: None,
        prefsrc: None,
    };
    let mut dst = None;
    for a in &m.attributes {
        match a {
            RouteAttribute::Destination(d) => dst = v4(d),
            RouteAttribute::Gateway(g) => r.gateway = v4(g),
            RouteAttribute::PrefSource(s) => r.prefsrc = v4(s),
            RouteAttribute::Oif(i) => r.dev = names.get(i).cloned(),
            _ => {}
        }
    }
    if let Some(d) = dst {
        r.dst = match m.header.destination_prefix_length {
            32 => d,
            len => format!("{d}/{len}"),
        };
    }
    r
}
