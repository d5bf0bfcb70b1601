//! den's records beside the kernel's view: what `den inspect` and `den network inspect` add, and
//! every point where the two disagree (a veth the record names but the kernel no longer has, a
//! port on another bridge, an address that is not there).

use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;

use ipnet::Ipv4Net;
use serde::Serialize;

use super::dump::{self, Dump};
use super::model::{Link, Peer};
use super::{enumerate, ViewError};
use crate::attach::Attachment;
use crate::netlink::Netlink;
use crate::network::Network;

/// The kernel's view of one container's attachment.
#[derive(Debug, Clone, Serialize)]
pub struct KernelAttachment {
    /// The container's network namespace inode (`/proc/PID/ns/net`), while it runs.
    pub netns: Option<u64>,
    /// The link named by the record's host veth, as the kernel has it in this namespace.
    pub host_veth: Option<Link>,
    /// The other end of that veth, inside the container's namespace.
    pub container_end: Option<Link>,
    /// Each way in which the kernel's state differs from den's record; empty when they agree.
    pub disagreements: Vec<String>,
}

/// The kernel's view of one network's bridge.
#[derive(Debug, Clone, Serialize)]
pub struct KernelBridge {
    pub bridge: Option<Link>,
    /// Its ports, as the kernel lists them.
    pub ports: Vec<Link>,
    pub disagreements: Vec<String>,
}

fn dump_of(file: Option<&File>) -> Result<Dump, ViewError> {
    crate::rt::block_on(async {
        let nl = match file {
            Some(f) => Netlink::open_in(f.as_fd()),
            None => Netlink::open_current(),
        }
        .map_err(ViewError::Netlink)?;
        dump::dump(&nl)
            .await
            .map_err(|(what, source)| ViewError::Dump { what, source })
    })
    .map_err(ViewError::Runtime)?
}

/// Checks `att` (a container's record) against the kernel; `pid` is its first process while it
/// runs. A container that does not run should have no host veth left.
pub fn attachment(att: &Attachment, pid: Option<u32>) -> Result<KernelAttachment, ViewError> {
    let host = dump_of(None)?;
    let veth = host
        .links
        .iter()
        .find(|l| l.link.name == att.host_veth)
        .cloned();
    let mut out = KernelAttachment {
        netns: None,
        host_veth: veth.as_ref().map(|v| v.link.clone()),
        container_end: None,
        disagreements: Vec::new(),
    };
    let d = &mut out.disagreements;
    let Some(pid) = pid else {
        if veth.is_some() {
            d.push(format!(
                "the container does not run, but its host veth {} is still there",
                att.host_veth
            ));
        }
        return Ok(out);
    };
    let Some(veth) = veth else {
        d.push(format!(
            "den's record names host veth {}, the kernel has no such link",
            att.host_veth
        ));
        return Ok(out);
    };
    if veth.link.master.as_deref() != Some(att.bridge.as_str()) {
        d.push(format!(
            "{} is a port of {}, den's record says {}",
            att.host_veth,
            veth.link.master.as_deref().unwrap_or("no bridge"),
            att.bridge
        ));
    }
    let path = format!("/proc/{pid}/ns/net");
    let file = File::open(&path).map_err(|source| ViewError::Read {
        path: path.clone().into(),
        source,
    })?;
    out.netns = enumerate::inode_of(Path::new(&path)).ok();
    let inside = dump_of(Some(&file))?;
    // The veth's peer index must be a link in the container's namespace pointing back at it.
    let end = veth.peer.and_then(|p| {
        inside
            .links
            .iter()
            .find(|l| l.link.index == p && l.peer == Some(veth.link.index) && l.netnsid.is_some())
    });
    if let Some(h) = out.host_veth.as_mut() {
        h.peer = veth.peer.map(|index| Peer {
            index,
            netns: end.and(out.netns),
            name: end.map(|e| e.link.name.clone()),
            netnsid: veth.netnsid,
        });
    }
    let Some(end) = end else {
        d.push(format!(
            "the other end of {} is not in the container's namespace",
            att.host_veth
        ));
        return Ok(out);
    };
    let want = Ipv4Net::new(att.ip, att.prefix_len).map(|n| n.to_string());
    if !want.as_ref().is_ok_and(|w| end.link.addresses.contains(w)) {
        d.push(format!(
            "{} in the container has {}, den's record says {}/{}",
            end.link.name,
            end.link.addresses.join(" "),
            att.ip,
            att.prefix_len
        ));
    }
    if end.link.mac.as_deref() != Some(att.mac.as_str()) {
        d.push(format!(
            "{} in the container has MAC {}, den's record says {}",
            end.link.name,
            end.link.mac.as_deref().unwrap_or("none"),
            att.mac
        ));
    }
    let mut link = end.link.clone();
    link.peer = Some(Peer {
        index: veth.link.index,
        netns: enumerate::inode_of(Path::new("/proc/self/ns/net")).ok(),
        name: Some(veth.link.name.clone()),
        netnsid: end.netnsid,
    });
    out.container_end = Some(link);
    Ok(out)
}

/// Checks a network's bridge against the kernel; `members` are the host veths of the running
/// containers den's records put on it.
pub fn bridge(net: &Network, members: &[&str]) -> Result<KernelBridge, ViewError> {
    let host = dump_of(None)?;
    let bridge = host.links.iter().find(|l| l.link.name == net.bridge);
    let ports: Vec<Link> = host
        .links
        .iter()
        .filter(|l| l.link.master.as_deref() == Some(net.bridge.as_str()))
        .map(|l| l.link.clone())
        .collect();
    let mut d = Vec::new();
    match bridge {
        None if members.is_empty() => {}
        None => d.push(format!("bridge {} does not exist", net.bridge)),
        Some(b) if b.link.kind.as_deref() != Some("bridge") => d.push(format!(
            "{} is a {}, not a bridge",
            net.bridge,
            b.link.kind.as_deref().unwrap_or("device")
        )),
        Some(b) => {
            let gw = format!("{}/{}", net.gateway, net.subnet.prefix_len());
            if !b.link.addresses.contains(&gw) {
                d.push(format!(
                    "{} has {}, den's record says gateway {gw}",
                    net.bridge,
                    if b.link.addresses.is_empty() {
                        "no address".to_string()
                    } else {
                        b.link.addresses.join(" ")
                    }
                ));
            }
        }
    }
    for m in members {
        if !ports.iter().any(|p| p.name == *m) {
            d.push(format!("{m} is not a port of {}", net.bridge));
        }
    }
    for p in &ports {
        if !members.contains(&p.name.as_str()) {
            d.push(format!(
                "{} is a port of {} that no running den container of this network owns",
                p.name, net.bridge
            ));
        }
    }
    Ok(KernelBridge {
        bridge: bridge.map(|b| b.link.clone()),
        ports,
        disagreements: d,
    })
}
