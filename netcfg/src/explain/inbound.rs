//! `den explain NAME PORT`: a new connection from outside (or from another container) to the
//! container, then the reply's way back.

use std::net::Ipv4Addr;

use super::forward::Packet;
use super::hops::{forward_hop, route_hop};
use super::kernel::{self, Link};
use super::{foreign_chains, rule_line, ExplainError, Hop, Mark, Ruleset, Target, Walk};
use crate::firewall::rules::{Element, MAP_ALL, MAP_ON};
use crate::netlink::Netlink;
use crate::ports::Proto;

/// Where the packet comes from.
struct Source {
    addr: Ipv4Addr,
    ingress: Link,
    /// Host address on the ingress link (the destination of a packet to a published port).
    local: Option<Ipv4Addr>,
    /// It comes from a container on this den bridge, addressed to the container itself.
    bridge: Option<String>,
    why: String,
}

pub(super) async fn walk(
    t: &Target<'_>,
    rs: &Ruleset,
    proto: Proto,
    port: u16,
    from: Option<Ipv4Addr>,
) -> Result<Walk, ExplainError> {
    let a = t.attachment;
    let host = Netlink::open_current()?;
    let mut w = Walk {
        title: String::new(),
        there: Vec::new(),
        back: Vec::new(),
    };
    let Some(src) = source(&host, rs, from).await? else {
        w.title = format!("den explain {} {port}/{proto}", a.container_name);
        w.push(Hop::new(
            Mark::Stop,
            "arrives",
            "the host has no IPv4 default route, so no packet comes from outside: give --from ADDR",
        ));
        return Ok(w);
    };
    let to_container = src.bridge.is_some();
    let dst = if to_container { Some(a.ip) } else { src.local };
    w.title = format!(
        "den explain {} {port}/{proto}: a new {proto} connection from {} ({}) to {}:{port}",
        a.container_name,
        src.addr,
        src.why,
        dst.map_or("the host".into(), |d| d.to_string()),
    );
    let arrive = Hop::new(
        if src.ingress.passes() {
            Mark::Pass
        } else {
            Mark::Stop
        },
        "arrives",
        if src.ingress.passes() {
            format!("on {}", src.ingress.name)
        } else {
            format!("{} is down: nothing arrives on it", src.ingress.name)
        },
    )
    .with(kernel::link_text(&src.ingress));
    if !w.push(arrive) {
        return Ok(w);
    }
    // nat prerouting: the DNAT element, or none when a container talks to the container.
    let (cport, dnat) = if to_container {
        w.push(Hop::new(
            Mark::Note,
            "nat prerouting",
            format!("no DNAT: the packet is addressed to {} itself", a.ip),
        ));
        (port, false)
    } else {
        let Some(local) = src.local else {
            w.push(Hop::new(
                Mark::Stop,
                "nat prerouting",
                format!(
                    "{} has no IPv4 address, so no published port is reached through it",
                    src.ingress.name
                ),
            ));
            return Ok(w);
        };
        let (hop, cport) = dnat_hop(t, rs, proto, port, local);
        w.there
            .extend(foreign_chains(rs, "prerouting", "nat prerouting"));
        if !w.push(hop) {
            return Ok(w);
        }
        (cport, true)
    };
    let bridge = kernel::link_named(&host, &a.bridge).await?;
    let Some(bridge) = bridge else {
        w.push(Hop::new(
            Mark::Stop,
            "routing",
            format!("bridge {} does not exist", a.bridge),
        ));
        return Ok(w);
    };
    let switched = src.bridge.as_deref() == Some(a.bridge.as_str());
    if switched {
        w.push(Hop::new(
            Mark::Note,
            "routing",
            format!("none: {} and {} share bridge {}, which switches the frame (no routing, no forward hook)", src.addr, a.ip, a.bridge),
        ));
    } else {
        let (saddr, iif) = (src.addr, src.ingress.name.as_str());
        if !w.push(route_hop(&host, a.ip, saddr, &src.ingress, bridge.index, &a.bridge).await) {
            return Ok(w);
        }
        w.there
            .extend(foreign_chains(rs, "forward", "filter forward"));
        let p = Packet {
            saddr,
            daddr: a.ip,
            iif,
            oif: &a.bridge,
            dnat,
            established: false,
        };
        if !w.push(forward_hop(rs, &p, &a.bridge)) {
            return Ok(w);
        }
    }
    for hop in super::hops::bridge_hops(&host, t, &bridge).await? {
        if !w.push(hop) {
            return Ok(w);
        }
    }
    if !w.push(container_hop(t, proto, cport).await?) {
        return Ok(w);
    }
    w.back = back(&host, rs, t, &src, &bridge, dst, port, cport).await;
    Ok(w)
}

async fn source(
    host: &Netlink,
    rs: &Ruleset,
    from: Option<Ipv4Addr>,
) -> Result<Option<Source>, ExplainError> {
    let (addr, oif, bridge, why) = match from {
        Some(ip) => match rs.network_of(ip) {
            Some((_, br)) => {
                let Some(l) = host.link_by_name(br).await? else {
                    return Ok(None);
                };
                (
                    ip,
                    l.index,
                    Some(br.clone()),
                    format!("a container on bridge {br}"),
                )
            }
            None => match kernel::route_get(host, ip, None, None).await {
                Ok(r) => (ip, r.oif.unwrap_or(0), None, "--from".to_string()),
                Err(_) => return Ok(None),
            },
        },
        None => {
            let route = kernel::default_route(host)
                .await
                .map_err(ExplainError::kernel("the default route"))?;
            let Some((oif, gw)) = route else {
                return Ok(None);
            };
            let why = "the host's default gateway; --from ADDR for another source".to_string();
            (gw.unwrap_or(Ipv4Addr::new(192, 0, 2, 1)), oif, None, why)
        }
    };
    let ingress = kernel::link(host, oif).await?;
    let local = kernel::first_v4(host, oif).await?.map(|n| n.addr());
    Ok(Some(Source {
        addr,
        ingress,
        local,
        bridge,
        why,
    }))
}

/// The published-map element a packet to `local:port` meets, and the container port it leads to.
fn dnat_hop(t: &Target<'_>, rs: &Ruleset, proto: Proto, port: u16, local: Ipv4Addr) -> (Hop, u16) {
    let a = t.attachment;
    let stage = "nat prerouting";
    if !rs.has_den_table() {
        let hop = Hop::new(
            Mark::Stop,
            stage,
            "den's table `ip den` is not in the kernel: no port is published",
        );
        return (hop, port);
    }
    let same = |e: &&Element| e.mapping.proto == proto && e.mapping.host_port == port;
    let on = rs
        .published
        .iter()
        .filter(same)
        .find(|e| e.mapping.host_ip == local);
    let all = rs
        .published
        .iter()
        .filter(same)
        .find(|e| e.mapping.host_ip.is_unspecified());
    let Some(e) = on.or(all) else {
        let mut hop = Hop::new(
            Mark::Stop,
            stage,
            format!("no DNAT element for {proto} port {port}: neither `{proto} . {port}` in map {MAP_ALL} nor `{local} . {proto} . {port}` in {MAP_ON}, so the port is not published and the host itself answers"),
        );
        if let Some(m) = a
            .ports
            .iter()
            .find(|m| m.proto == proto && m.host_port == port)
        {
            hop = hop.with(format!(
                "den's record of {} says -p {}, but the kernel has no such element (deleted by hand?)",
                a.container_name,
                m.to_spec_string()
            ));
        }
        if rs.internal.contains(&a.bridge) {
            hop = hop.with(format!(
                "and it cannot be: {} is on --internal network {} (bridge {}), where den refuses -p; a packet routed straight to {} is dropped in filter forward by den's rule \"den: --internal, nothing enters the network\"",
                a.container_name, a.network, a.bridge, a.ip
            ));
        }
        return (hop, port);
    };
    let comment = if e.map() == MAP_ON {
        "den: published ports on one host address"
    } else {
        "den: published ports on all host addresses"
    };
    let element = format!(
        "element: map {} {{ {} : {} }} comment \"{}\"",
        e.map(),
        e.key(),
        e.value(),
        e.comment
    );
    let Some(rule) = rs.den_rule("prerouting", comment) else {
        let hop = Hop::new(
            Mark::Stop,
            stage,
            format!("den's prerouting rule \"{comment}\" is missing, so the element is never used"),
        )
        .with(element);
        return (hop, port);
    };
    let cport = e.mapping.container_port;
    if e.container_ip != a.ip {
        let says = format!("host port {port}/{proto} is published by another container: DNAT to {}:{cport}, not {}", e.container_ip, a.ip);
        return (
            Hop::new(Mark::Stop, stage, says)
                .with(rule_line(rule))
                .with(element),
            cport,
        );
    }
    let says = format!("DNAT {local}:{port} -> {}:{cport}", a.ip);
    (
        Hop::new(Mark::Pass, stage, says)
            .with(rule_line(rule))
            .with(element),
        cport,
    )
}

/// The container's eth0 and a socket bound to `port`.
async fn container_hop(t: &Target<'_>, proto: Proto, port: u16) -> Result<Hop, ExplainError> {
    let a = t.attachment;
    let stage = "container";
    let Some(hop) = super::hops::eth0_hop(t).await? else {
        return Ok(Hop::new(
            Mark::Stop,
            stage,
            format!("the container's eth0 does not hold {}", a.ip),
        ));
    };
    let path = format!("/proc/{}/net/{proto}", t.pid);
    let socks =
        super::sockets::listeners(t.pid, proto, port).map_err(|source| ExplainError::Proc {
            path: path.clone(),
            source,
        })?;
    if socks.is_empty() {
        let answer = match proto {
            Proto::Tcp => "the container's kernel answers the SYN with a RST (connection refused)",
            Proto::Udp => "the container's kernel answers with ICMP port unreachable",
        };
        return Ok(Hop {
            mark: Mark::Stop,
            says: format!("nothing listens on {proto} port {port} in the container: {answer}"),
            ..hop
        }
        .with(format!(
            "sockets: none bound to port {port} in {path}{{,6}}"
        )));
    }
    let mut hop = Hop {
        says: format!("{}:{port} on eth0, where a socket listens", a.ip),
        ..hop
    };
    for s in socks {
        let owner = s
            .owner
            .as_ref()
            .map(|o| format!(", held by {o}"))
            .unwrap_or_default();
        hop = hop.with(format!(
            "socket: {proto} {} inode {}{owner} ({})",
            s.local(),
            s.inode,
            s.file
        ));
    }
    Ok(hop)
}

#[allow(clippy::too_many_arguments)]
async fn back(
    host: &Netlink,
    rs: &Ruleset,
    t: &Target<'_>,
    src: &Source,
    bridge: &kernel::Link,
    dst: Option<Ipv4Addr>,
    port: u16,
    cport: u16,
) -> Vec<Hop> {
    let a = t.attachment;
    let mut hops = Vec::new();
    if src.bridge.is_none() {
        let d = dst.map(|d| d.to_string()).unwrap_or_default();
        hops.push(
            Hop::new(Mark::Pass, "conntrack", format!("the reply {}:{cport} -> {} belongs to the connection conntrack made for the first packet: it undoes the DNAT, so the source becomes {d}:{port} again (nat chains only see a connection's first packet)", a.ip, src.addr))
                .with(format!("conntrack: original {} -> {d}:{port}, reply {}:{cport} -> {}", src.addr, a.ip, src.addr)),
        );
    }
    if src.bridge.as_deref() == Some(a.bridge.as_str()) {
        hops.push(Hop::new(
            Mark::Pass,
            "bridge",
            format!("{} switches the reply back to {}", a.bridge, src.addr),
        ));
        return hops;
    }
    let hop = route_hop(
        host,
        src.addr,
        a.ip,
        bridge,
        src.ingress.index,
        &src.ingress.name,
    )
    .await;
    let go_on = hop.mark != Mark::Stop;
    hops.push(hop);
    if go_on {
        let p = Packet {
            saddr: a.ip,
            daddr: src.addr,
            iif: &a.bridge,
            oif: &src.ingress.name,
            dnat: true,
            established: true,
        };
        hops.push(forward_hop(rs, &p, &src.ingress.name));
        hops.push(Hop::new(
            Mark::Pass,
            "leaves",
            format!("out of {} to {}", src.ingress.name, src.addr),
        ));
    }
    hops
}
