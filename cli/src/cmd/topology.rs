//! `den topology`: the host's network as the kernel sees it, as a text tree, JSON, DOT or SVG.

mod dot;
mod svg;
mod text;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use den_netcfg::view::record;
use den_netcfg::view::{self, Known, Link, Namespace, Options, Published, Snapshot};
use den_netcfg::Network;
use den_runtime::lifecycle;
use den_runtime::state::{Container, Status, Store};
use serde_json::{json, Value};

#[derive(clap::Args)]
pub struct Args {
    /// text (a tree), json (docs/topology.schema.json), dot (graphviz) or svg (drawn by den).
    #[arg(long, default_value = "text", value_parser = ["text", "json", "dot", "svg"])]
    format: String,
    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Every network namespace on the machine, also those not linked to this one.
    #[arg(long)]
    all: bool,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    let snap = snapshot(root, a.all)?;
    let out = match a.format.as_str() {
        "json" => serde_json::to_string_pretty(&snap)? + "\n",
        "dot" => dot::render(&snap),
        "svg" => svg::render(&snap),
        _ => text::render(&snap),
    };
    match a.output {
        Some(path) => fs::write(&path, out).with_context(|| format!("write {}", path.display()))?,
        None => print!("{out}"),
    }
    Ok(0)
}

/// The kernel's view, with den's running containers of this state root named.
pub fn snapshot(root: &Path, all: bool) -> Result<Snapshot> {
    Ok(view::snapshot(&Options {
        known: known(root),
        all,
    })?)
}

/// den's running containers (by the PID of their first process); a state root that cannot be
/// read names none, the kernel's view stands without it.
pub fn known(root: &Path) -> Vec<Known> {
    let list = Store::new(root).list().unwrap_or_default();
    list.iter()
        .map(lifecycle::observed)
        .filter(|c| c.status == Status::Running)
        .filter_map(|c| {
            Some(Known {
                pid: u32::try_from(c.pid?).ok()?,
                id: c.id.clone(),
                name: c.name.clone(),
            })
        })
        .collect()
}

/// `eth0@if7 in web`: where a veth's other end is.
pub fn peer_text(snap: &Snapshot, link: &Link) -> Option<String> {
    let peer = link.peer.as_ref()?;
    let name = peer.name.as_deref().unwrap_or("?");
    Some(match peer.netns.and_then(|n| snap.namespace(n)) {
        Some(ns) if ns.inode == snap.host => format!("{name} (if{}) on the host", peer.index),
        Some(ns) => format!("{name} (if{}) in {}", peer.index, ns.owner),
        None => format!(
            "if{} in an unseen namespace (netnsid {})",
            peer.index,
            peer.netnsid.map_or("?".into(), |i| i.to_string())
        ),
    })
}

/// The namespace at the other end of a host veth, if it is not the host.
pub fn peer_ns<'a>(snap: &'a Snapshot, link: &Link) -> Option<&'a Namespace> {
    let n = link.peer.as_ref()?.netns?;
    (n != snap.host).then(|| snap.namespace(n)).flatten()
}

/// den's published ports leading into namespace `ns`.
pub fn ports_into<'a>(snap: &'a Snapshot, ns: &Namespace) -> Vec<&'a Published> {
    snap.published
        .iter()
        .filter(|p| snap.holder_of(&p.container_ip).map(|h| h.inode) == Some(ns.inode))
        .collect()
}

/// `-p` as docker writes it: `0.0.0.0:8080->80/tcp`.
pub fn port_text(p: &Published) -> String {
    format!(
        "{}:{}->{}/{}",
        p.host_ip, p.host_port, p.container_port, p.proto
    )
}

/// The IPv4 addresses of a namespace's non-loopback links, for labels.
pub fn v4_addresses(ns: &Namespace) -> Vec<String> {
    ns.links
        .iter()
        .filter(|l| l.name != "lo")
        .flat_map(|l| l.addresses.iter().filter(|a| !a.contains(':')).cloned())
        .collect()
}

/// `den inspect`'s `Kernel`: the kernel's view of a container's attachment beside den's record
/// (netns inode, host veth with its peer index and bridge port state, the container's end) and
/// `Disagreements`, each also said on stderr.
pub fn kernel_view(c: &Container) -> Value {
    let pid = c
        .pid
        .filter(|_| c.status == Status::Running)
        .and_then(|p| u32::try_from(p).ok());
    let netns = pid.and_then(|p| den_netcfg::view::nsset::of_pid(p).ok()?.inode("net"));
    let Some(att) = &c.network else {
        return json!({"NetnsInode": netns});
    };
    match record::attachment(att, pid) {
        Ok(k) => {
            for d in &k.disagreements {
                eprintln!(
                    "den: {}: the kernel disagrees with den's record: {d}",
                    c.name
                );
            }
            json!({
                "NetnsInode": k.netns.or(netns),
                "HostVeth": k.host_veth,
                "ContainerEnd": k.container_end,
                "Disagreements": k.disagreements,
            })
        }
        Err(e) => json!({"NetnsInode": netns, "Error": e.to_string()}),
    }
}

/// `den network inspect`'s `Kernel`: the bridge and its ports as the kernel has them, and where
/// that disagrees with den's records.
pub fn kernel_bridge(n: &Network, containers: &[Container]) -> Value {
    let veths: Vec<String> = containers
        .iter()
        .map(lifecycle::observed)
        .filter(|c| c.status == Status::Running)
        .filter_map(|c| c.network)
        .filter(|a| a.network == n.name)
        .map(|a| a.host_veth)
        .collect();
    let members: Vec<&str> = veths.iter().map(String::as_str).collect();
    match record::bridge(n, &members) {
        Ok(k) => {
            for d in &k.disagreements {
                eprintln!(
                    "den: network {}: the kernel disagrees with den's record: {d}",
                    n.name
                );
            }
            json!({"Bridge": k.bridge, "Ports": k.ports, "Disagreements": k.disagreements})
        }
        Err(e) => json!({"Error": e.to_string()}),
    }
}
