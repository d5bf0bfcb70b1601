//! `den explain NAME --to ADDR[:PORT]`: a new connection from the container out (to the
//! outside, the host, or another network), MASQUERADE, and the reply's way back; plus the hops
//! both directions share (the bridge, the bridge port, the container's eth0).

use std::net::Ipv4Addr;
use std::os::fd::AsFd;

use super::forward::{self, Packet, Verdict};
use super::hops::{bridge_hops, forward_hop, name_of, open_netns, route_hop};
use super::kernel;
use super::{foreign_chains, rule_line, ExplainError, Hop, Mark, Ruleset, Target, Walk};
use crate::netlink::Netlink;
use crate::ports::Proto;
use netlink_packet_route::route::RouteType;

pub(super) async fn walk(
    t: &Target<'_>,
    rs: &Ruleset,
    proto: Proto,
    to: Ipv4Addr,
    port: Option<u16>,
) -> Result<Walk, ExplainError> {
    let a = t.attachment;
    let host = Netlink::open_current()?;
    let dport = port.map(|p| format!(":{p}")).unwrap_or_default();
    let mut w = Walk {
        title: format!("den explain {} --to {to}{dport}/{proto}: a new {proto} connection from {} to {to}{dport}", a.container_name, a.ip),
        there: Vec::new(),
        back: Vec::new(),
    };
    // Inside the container: its own routing table.
    let ns = open_netns(t.pid)?;
    let inside = Netlink::open_in(ns.as_fd())?;
    let q = format!("ip route get {to} (in the container)");
    let r = match kernel::route_get(&inside, to, None, None).await {
        Ok(r) => r,
        Err(e) => {
            let why = if a.internal {
                " (an --internal network has no default route)"
            } else {
                ""
            };
            w.push(Hop::new(
                Mark::Stop,
                "container",
                format!("no route to {to} in the container{why}: `{q}` answers: {e}"),
            ));
            return Ok(w);
        }
    };
    let dev = name_of(&inside, r.oif).await;
    let via = r.gateway.map(|g| format!("via {g} ")).unwrap_or_default();
    w.push(
        Hop::new(Mark::Pass, "container", format!("leaves {via}out of {dev}"))
            .with(format!("route: {q}: {}", kernel::route_text(&r, &dev))),
    );
    let Some(bridge) = kernel::link_named(&host, &a.bridge).await? else {
        w.push(Hop::new(
            Mark::Stop,
            "bridge",
            format!("bridge {} does not exist", a.bridge),
        ));
        return Ok(w);
    };
    for hop in bridge_hops(&host, t, &bridge).await?.into_iter().rev() {
        if !w.push(hop) {
            return Ok(w);
        }
    }
    let host_route = kernel::route_get(&host, to, Some(a.ip), Some(bridge.index)).await;
    if let Some(local) = host_route
        .as_ref()
        .ok()
        .filter(|r| r.kind == RouteType::Local)
    {
        let q = format!("ip route get {to} from {} iif {}", a.ip, a.bridge);
        w.push(Hop::new(Mark::Pass, "host", format!("{to} is an address of the host itself: delivered locally (input hook), no forwarding, no NAT"))
            .with(format!("route: {q}: {}", kernel::route_text(local, &name_of(&host, local.oif).await))));
        w.there.extend(foreign_chains(rs, "input", "filter input"));
        return Ok(w);
    }
    if r.gateway.is_none() && rs.in_networks(to, &a.bridge) {
        w.push(Hop::new(
            Mark::Pass,
            "bridge",
            format!(
                "{to} is on the same bridge {}: switched there, no routing, no NAT",
                a.bridge
            ),
        ));
        return Ok(w);
    }
    // On the host: route, forward, postrouting.
    let oif_link = match &host_route {
        Ok(r) => match r.oif {
            Some(i) => Some(kernel::link(&host, i).await?),
            None => None,
        },
        Err(_) => None,
    };
    let Some(out) = oif_link else {
        let hop = route_hop(&host, to, a.ip, &bridge, 0, "any interface").await;
        w.push(Hop {
            mark: Mark::Stop,
            ..hop
        });
        return Ok(w);
    };
    if !w.push(route_hop(&host, to, a.ip, &bridge, out.index, &out.name).await) {
        return Ok(w);
    }
    w.there
        .extend(foreign_chains(rs, "forward", "filter forward"));
    let p = Packet {
        saddr: a.ip,
        daddr: to,
        iif: &a.bridge,
        oif: &out.name,
        dnat: false,
        established: false,
    };
    if !w.push(forward_hop(rs, &p, &a.bridge)) {
        return Ok(w);
    }
    w.there
        .extend(foreign_chains(rs, "postrouting", "nat postrouting"));
    let src = kernel::first_v4(&host, out.index).await?.map(|n| n.addr());
    let masq = match forward::postrouting(rs, &p) {
        Verdict::Masquerade(rule) => {
            let s = src.map_or("the address of ".to_string() + &out.name, |s| s.to_string());
            w.push(Hop::new(Mark::Pass, "nat postrouting", format!("MASQUERADE: the source {} becomes {s} (the address of {}); a server at {to} sees {s}", a.ip, out.name)).with(rule_line(rule)));
            src
        }
        Verdict::Missing(c) => {
            w.push(Hop::new(
                Mark::Note,
                "nat postrouting",
                format!(
                    "den's postrouting rule \"{c}\" is missing: the source stays {}",
                    a.ip
                ),
            ));
            None
        }
        _ => {
            w.push(Hop::new(
                Mark::Pass,
                "nat postrouting",
                format!("no masquerade: the source stays {}", a.ip),
            ));
            None
        }
    };
    w.push(
        Hop::new(
            Mark::Pass,
            "leaves",
            format!("out of {} to {to}{dport}", out.name),
        )
        .with(kernel::link_text(&out)),
    );
    // The way back.
    let seen = masq.unwrap_or(a.ip);
    if let Some(m) = masq {
        w.back.push(Hop::new(Mark::Pass, "conntrack", format!("the reply {to} -> {m} belongs to the connection conntrack made: it undoes the MASQUERADE, so the destination becomes {} again", a.ip))
            .with(format!("conntrack: original {} -> {to}{dport}, reply {to}{dport} -> {m}", a.ip)));
    }
    let back_route = route_hop(&host, a.ip, to, &out, bridge.index, &a.bridge).await;
    let ok = back_route.mark == Mark::Pass;
    w.back.push(back_route);
    if ok {
        let p = Packet {
            saddr: to,
            daddr: a.ip,
            iif: &out.name,
            oif: &a.bridge,
            dnat: false,
            established: true,
        };
        w.back.push(forward_hop(rs, &p, &a.bridge));
        w.back.push(Hop::new(
            Mark::Pass,
            "arrives",
            format!(
                "on {}'s eth0 ({} was the address {to} answered)",
                a.container_name, seen
            ),
        ));
    }
    Ok(w)
}
