//! Hops both directions share: a route lookup, den's forward chain, the bridge and the
//! container's port on it, the container's eth0.

use std::fs::File;
use std::net::Ipv4Addr;
use std::os::fd::AsFd;

use super::forward::{self, Packet, Verdict};
use super::kernel::{self, Link};
use super::{rule_line, ExplainError, Hop, Mark, Ruleset, Target};
use crate::netlink::Netlink;

/// `ip route get DST from SRC iif IIF`, which must lead to `bridge`.
pub(super) async fn route_hop(
    host: &Netlink,
    dst: Ipv4Addr,
    src: Ipv4Addr,
    iif: &Link,
    bridge: u32,
    bridge_name: &str,
) -> Hop {
    let q = format!("ip route get {dst} from {src} iif {}", iif.name);
    let forwarding = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap_or_default();
    if forwarding.trim() == "0" {
        return Hop::new(
            Mark::Stop,
            "routing",
            "net.ipv4.ip_forward is 0: this host routes nothing between interfaces",
        );
    }
    match kernel::route_get(host, dst, Some(src), Some(iif.index)).await {
        Err(e) => Hop::new(
            Mark::Stop,
            "routing",
            format!("no route: `{q}` answers: {e}"),
        ),
        Ok(r) if r.oif != Some(bridge) => {
            let dev = name_of(host, r.oif).await;
            Hop::new(
                Mark::Stop,
                "routing",
                format!("the route leads out of {dev}, not {bridge_name}"),
            )
            .with(format!("route: {q}: {}", kernel::route_text(&r, &dev)))
        }
        Ok(r) => Hop::new(
            Mark::Pass,
            "routing",
            format!("to {dst} out of {bridge_name}"),
        )
        .with(format!(
            "route: {q}: {}",
            kernel::route_text(&r, bridge_name)
        )),
    }
}

pub(super) async fn name_of(host: &Netlink, index: Option<u32>) -> String {
    match index {
        Some(i) => kernel::link(host, i)
            .await
            .map(|l| l.name)
            .unwrap_or_else(|_| format!("link {i}")),
        None => "no device".into(),
    }
}

/// den's forward chain's verdict as a hop.
pub(super) fn forward_hop(rs: &Ruleset, p: &Packet<'_>, bridge: &str) -> Hop {
    let stage = "filter forward";
    match forward::forward(rs, p) {
        Verdict::Accept(r) => Hop::new(
            Mark::Pass,
            stage,
            format!("accepted: {}", r.comment.as_deref().unwrap_or("den's rule")),
        )
        .with(rule_line(r)),
        Verdict::Drop(r) => {
            let why = match r.comment.as_deref() {
                Some(c) if c.contains("--internal") => format!("dropped: {bridge} belongs to an --internal network, nothing crosses between it and another interface"),
                _ => format!("dropped: routed into {bridge} from {} without a published port (another network, or the outside: isolation)", p.iif),
            };
            Hop::new(Mark::Stop, stage, why).with(rule_line(r))
        }
        Verdict::Masquerade(r) => Hop::new(Mark::Pass, stage, "masquerade").with(rule_line(r)),
        Verdict::NoRule => Hop::new(
            Mark::Pass,
            stage,
            "no rule of den's matches; chain ip den forward has policy accept",
        ),
        Verdict::Missing(c) => Hop::new(
            Mark::Stop,
            stage,
            format!("den's forward rule \"{c}\" is not in the kernel"),
        ),
    }
}

/// The bridge, then the container's port on it (its host veth) with the fdb entry for its MAC.
pub(super) async fn bridge_hops(
    host: &Netlink,
    t: &Target<'_>,
    bridge: &Link,
) -> Result<Vec<Hop>, ExplainError> {
    let a = t.attachment;
    let br = bridge;
    let mut hops = Vec::new();
    if !br.passes() {
        hops.push(
            Hop::new(Mark::Stop, "bridge", format!("bridge {} is down", a.bridge))
                .with(kernel::link_text(br)),
        );
        return Ok(hops);
    }
    hops.push(
        Hop::new(
            Mark::Pass,
            "bridge",
            format!(
                "{} switches it to the port where {} was learnt",
                a.bridge, a.mac
            ),
        )
        .with(kernel::link_text(br)),
    );
    let stage = "bridge port";
    let Some(veth) = kernel::link_named(host, &a.host_veth).await? else {
        hops.push(Hop::new(
            Mark::Stop,
            stage,
            format!("the container's host veth {} is gone", a.host_veth),
        ));
        return Ok(hops);
    };
    if veth.master != Some(br.index) {
        hops.push(
            Hop::new(
                Mark::Stop,
                stage,
                format!("{} is not a port of {}", veth.name, a.bridge),
            )
            .with(kernel::link_text(&veth)),
        );
        return Ok(hops);
    }
    if !veth.passes() {
        let state = veth.port_state.clone().unwrap_or_default();
        let why = if veth.up {
            format!("in state {} {state}", veth.oper)
        } else {
            "down".into()
        };
        hops.push(
            Hop::new(
                Mark::Stop,
                stage,
                format!(
                    "bridge port {} is {why}: the bridge forwards nothing through it",
                    veth.name
                ),
            )
            .with(kernel::link_text(&veth)),
        );
        return Ok(hops);
    }
    let mut hop = Hop::new(
        Mark::Pass,
        stage,
        format!("{} (the container's veth, peer of its eth0)", veth.name),
    )
    .with(kernel::link_text(&veth));
    let mac = parse_mac(&a.mac);
    let learnt = match mac {
        Some(m) => kernel::fdb_has(host, veth.index, m)
            .await
            .map_err(ExplainError::kernel("the bridge fdb"))?,
        None => false,
    };
    hop = hop.with(if learnt {
        format!("fdb: {} dev {} master {}", a.mac, veth.name, a.bridge)
    } else {
        format!(
            "fdb: no entry for {} yet: the bridge floods the first frame to every port",
            a.mac
        )
    });
    hops.push(hop);
    Ok(hops)
}

/// The container's eth0 holding its address, or `None` when it does not.
pub(super) async fn eth0_hop(t: &Target<'_>) -> Result<Option<Hop>, ExplainError> {
    let a = t.attachment;
    let ns = open_netns(t.pid)?;
    let inside = Netlink::open_in(ns.as_fd())?;
    let Some(eth0) = inside.link_by_name("eth0").await? else {
        return Ok(None);
    };
    let addrs = inside.addresses_v4(eth0.index).await?;
    if !addrs.iter().any(|n| n.addr() == a.ip) {
        return Ok(None);
    }
    let link = kernel::link(&inside, eth0.index).await?;
    let list: Vec<String> = addrs.iter().map(|n| n.to_string()).collect();
    Ok(Some(Hop::new(Mark::Pass, "container", "eth0").with(
        format!(
            "{} inet {} (netns /proc/{}/ns/net)",
            kernel::link_text(&link),
            list.join(" "),
            t.pid
        ),
    )))
}

pub(super) fn open_netns(pid: i32) -> Result<File, ExplainError> {
    let path = format!("/proc/{pid}/ns/net");
    File::open(&path).map_err(|source| ExplainError::Proc { path, source })
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let v: Vec<u8> = s
        .split(':')
        .filter_map(|b| u8::from_str_radix(b, 16).ok())
        .collect();
    <[u8; 6]>::try_from(v.as_slice()).ok()
}
