//! Seed 001's *bridged* mode: `den network create --uplink IFACE NAME` enslaves a host interface
//! to the network's bridge and moves its IPv4 addresses and routes onto the bridge, so containers
//! take addresses on that LAN and reach it (and it them) with no NAT; `den network rm` gives them
//! back exactly. The kernel's own address and route messages are saved (as netlink bytes, in
//! `networks/NAME/uplink.json`) BEFORE anything moves, so a failure at any step, or a later
//! `network rm`, restores the very same objects.

use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use futures::TryStreamExt;
use ipnet::Ipv4Net;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::route::{RouteAttribute, RouteMessage, RouteProtocol, RouteType};
use netlink_packet_route::AddressFamily;
use rtnetlink::packet_core::{Emitable, Parseable};
use serde::{Deserialize, Serialize};

use super::LabError;
use crate::netlink::{Cause, Netlink, NetlinkError};

/// Owner of IPAM leases that keep LAN addresses (the uplink's router) from containers.
pub const RESERVED: &str = "reserved:uplink";

/// What was on the uplink, in the kernel's own words.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saved {
    pub uplink: String,
    pub bridge: String,
    /// Hex of each RTM_NEWADDR message (IPv4).
    pub addrs: Vec<String>,
    /// Hex of each RTM_NEWROUTE message of the main table via the uplink (not the kernel's own
    /// prefix routes, which come back with the addresses).
    pub routes: Vec<String>,
}

/// What `create` needs to know about an uplink before making anything.
#[derive(Debug, Clone)]
pub struct Survey {
    pub subnet: Ipv4Net,
    /// The host's address on the uplink (it stays the host's, on the bridge).
    pub host: Ipv4Addr,
    /// The gateways of routes via the uplink (the LAN's router): reserved from IPAM.
    pub routers: Vec<Ipv4Addr>,
    saved: Saved,
}

pub fn saved_path(dir: &Path) -> PathBuf {
    dir.join("uplink.json")
}

/// Reads the uplink; refuses one that is not a plain up interface with an IPv4 address, and one
/// carrying the host's only default route unless `force`.
pub fn survey(uplink: &str, bridge: &str, force: bool) -> Result<Survey, LabError> {
    crate::rt::block_on(async {
        let nl = Netlink::open_current()?;
        let refuse = |why: String| LabError::Uplink { uplink: uplink.to_string(), why };
        let link = nl.link_by_name(uplink).await?.ok_or_else(|| refuse("no such interface in this network namespace".into()))?;
        if link.name == "lo" || link.kind.as_deref() == Some("bridge") || link.master.is_some() {
            return Err(refuse("it is loopback, a bridge, or already a port of a bridge or bond".into()));
        }
        let addrs = addresses(&nl, link.index).await?;
        let first = addrs.iter().find_map(local).ok_or_else(|| refuse("it has no IPv4 address to hand over".into()))?;
        let routes = routes(&nl).await?;
        let via: Vec<&RouteMessage> = routes.iter().filter(|r| oif(r) == Some(link.index) && r.header.protocol != RouteProtocol::Kernel).collect();
        let defaults: Vec<&RouteMessage> = routes.iter().filter(|r| r.header.destination_prefix_length == 0).collect();
        if !force && !defaults.is_empty() && defaults.iter().all(|r| oif(r) == Some(link.index)) {
            return Err(refuse("it carries the host's only default route: moving it onto the bridge cuts the host off while it moves, and for good if anything goes wrong; give --force to do it anyway".into()));
        }
        let routers = via.iter().filter_map(|r| r.attributes.iter().find_map(|a| match a {
            RouteAttribute::Gateway(netlink_packet_route::route::RouteAddress::Inet(g)) => Some(*g),
            _ => None,
        })).filter(|g| first.contains(g)).collect();
        Ok(Survey {
            subnet: first.trunc(),
            host: first.addr(),
            routers,
            saved: Saved {
                uplink: uplink.to_string(),
                bridge: bridge.to_string(),
                addrs: addrs.iter().map(hex_of).collect(),
                routes: via.into_iter().map(hex_of).collect(),
            },
        })
    })
    .map_err(LabError::Runtime)?
}

/// Saves what is on the uplink into `dir`, then moves it onto a new bridge. On failure gives
/// everything back (and removes the bridge) before returning the error.
pub fn take(dir: &Path, s: &Survey) -> Result<(), LabError> {
    let path = saved_path(dir);
    let body = serde_json::to_vec_pretty(&s.saved).expect("plain data");
    fs::write(&path, body).map_err(|source| LabError::Save {
        path: path.clone(),
        source,
    })?;
    let moved = crate::rt::block_on(move_over(&s.saved)).map_err(LabError::Runtime)?;
    if let Err(e) = moved {
        let _ = give_back(dir);
        return Err(e);
    }
    Ok(())
}

async fn move_over(s: &Saved) -> Result<(), LabError> {
    let nl = Netlink::open_current()?;
    let uplink = nl
        .link_index(&s.uplink)
        .await?
        .ok_or(NetlinkError::LookupName {
            name: s.uplink.clone(),
            source: Cause::Missing("the uplink"),
        })?;
    // The bridge takes the uplink's MAC: the LAN keeps seeing the host at the address it knew.
    let up = nl.link(uplink).await?;
    let (bridge, _) = nl.ensure_bridge(&s.bridge, up.mtu, up.mac).await?;
    nl.set_master(uplink, bridge).await?;
    for a in decode::<AddressMessage>(&s.addrs) {
        nl.handle()
            .address()
            .del(a.clone())
            .execute()
            .await
            .map_err(|e| kernel("delete an address of the uplink", e))?;
        let mut on_bridge = a;
        on_bridge.header.index = bridge;
        on_bridge.attributes.retain(|x| {
            !matches!(
                x,
                AddressAttribute::Label(_) | AddressAttribute::CacheInfo(_)
            )
        });
        add_address(&nl, on_bridge).await?;
    }
    for r in decode::<RouteMessage>(&s.routes) {
        let mut on_bridge = r;
        for a in &mut on_bridge.attributes {
            if let RouteAttribute::Oif(i) = a {
                *i = bridge;
            }
        }
        add_route(&nl, on_bridge).await?;
    }
    Ok(())
}

/// Gives the uplink back what `take` saved in `dir` (the bridge must be gone or is left alone:
/// `network rm` deletes it first), then forgets it. Nothing saved: nothing to do.
pub fn give_back(dir: &Path) -> Result<(), LabError> {
    let path = saved_path(dir);
    let s: Saved = match fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| LabError::Save {
            path: path.clone(),
            source: e.into(),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(LabError::Save { path, source }),
    };
    crate::rt::block_on(async {
        let nl = Netlink::open_current()?;
        if let Some(b) = nl
            .link_by_name(&s.bridge)
            .await?
            .filter(|l| l.kind.as_deref() == Some("bridge"))
        {
            match nl.delete_link(b.index).await {
                Err(e) if e.errno() != Some(libc::ENODEV) => return Err(e.into()),
                _ => {}
            }
        }
        if let Some(up) = nl.link_index(&s.uplink).await? {
            nl.set_up(up).await?;
        }
        for a in decode::<AddressMessage>(&s.addrs) {
            add_address(&nl, a).await?;
        }
        for r in decode::<RouteMessage>(&s.routes) {
            add_route(&nl, r).await?;
        }
        Ok::<_, LabError>(())
    })
    .map_err(LabError::Runtime)??;
    fs::remove_file(&path).map_err(|source| LabError::Save { path, source })
}

async fn add_address(nl: &Netlink, m: AddressMessage) -> Result<(), LabError> {
    let ip = local(&m)
        .map(|n| IpAddr::V4(n.addr()))
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let mut req = nl
        .handle()
        .address()
        .add(m.header.index, ip, m.header.prefix_len);
    *req.message_mut() = m;
    match req.execute().await.map_err(Cause::from) {
        Err(e) if e.errno() == Some(libc::EEXIST) => Ok(()),
        r => r.map_err(|source| LabError::Move {
            what: "add an address",
            source,
        }),
    }
}

async fn add_route(nl: &Netlink, m: RouteMessage) -> Result<(), LabError> {
    match nl
        .handle()
        .route()
        .add(m)
        .execute()
        .await
        .map_err(Cause::from)
    {
        Err(e) if e.errno() == Some(libc::EEXIST) => Ok(()),
        r => r.map_err(|source| LabError::Move {
            what: "add a route",
            source,
        }),
    }
}

fn kernel(what: &'static str, e: rtnetlink::Error) -> LabError {
    LabError::Move {
        what,
        source: e.into(),
    }
}

async fn addresses(nl: &Netlink, index: u32) -> Result<Vec<AddressMessage>, LabError> {
    let all: Vec<AddressMessage> = nl
        .handle()
        .address()
        .get()
        .set_link_index_filter(index)
        .execute()
        .try_collect()
        .await
        .map_err(|e| kernel("list the uplink's addresses", e))?;
    Ok(all
        .into_iter()
        .filter(|m| m.header.family == AddressFamily::Inet)
        .collect())
}

async fn routes(nl: &Netlink) -> Result<Vec<RouteMessage>, LabError> {
    let mut dump = RouteMessage::default();
    dump.header.address_family = AddressFamily::Inet;
    let all: Vec<RouteMessage> = nl
        .handle()
        .route()
        .get(dump)
        .execute()
        .try_collect()
        .await
        .map_err(|e| kernel("list routes", e))?;
    Ok(all
        .into_iter()
        .filter(|m| {
            m.header.table == netlink_packet_route::route::RouteHeader::RT_TABLE_MAIN
                && m.header.kind == RouteType::Unicast
        })
        .collect())
}

fn oif(r: &RouteMessage) -> Option<u32> {
    r.attributes.iter().find_map(|a| match a {
        RouteAttribute::Oif(i) => Some(*i),
        _ => None,
    })
}

fn local(m: &AddressMessage) -> Option<Ipv4Net> {
    m.attributes.iter().find_map(|a| match a {
        AddressAttribute::Local(IpAddr::V4(ip)) => Ipv4Net::new(*ip, m.header.prefix_len).ok(),
        _ => None,
    })
}

fn hex_of<T: Emitable>(m: &T) -> String {
    let mut buf = vec![0u8; m.buffer_len()];
    m.emit(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode<T: Parseable<[u8]>>(hexes: &[String]) -> Vec<T> {
    hexes
        .iter()
        .filter_map(|h| {
            let bytes: Option<Vec<u8>> = (0..h.len() / 2)
                .map(|i| u8::from_str_radix(h.get(i * 2..i * 2 + 2)?, 16).ok())
                .collect();
            T::parse(bytes?.as_slice()).ok()
        })
        .collect()
}
