//! `den veth`: every veth of the host namespace and where its other end is, seed 002's script as
//! a command: `vethXXXX is paired with eth0@ifN in OWNER`, with the bridge it is a port of.

use std::path::Path;

use anyhow::Result;
use serde_json::{json, Value};

#[derive(clap::Args)]
pub struct Args {
    /// `json` for one JSON array.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    format: String,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    let snap = super::topology::snapshot(root, false)?;
    let host = &snap.namespaces[0];
    let mut rows: Vec<Value> = Vec::new();
    let mut lines = Vec::new();
    for l in host
        .links
        .iter()
        .filter(|l| l.kind.as_deref() == Some("veth"))
    {
        let peer = l.peer.as_ref();
        let ns = peer.and_then(|p| p.netns).and_then(|n| snap.namespace(n));
        // As `ip link` shows it in there: its name @ the index of this end.
        let far = match peer.and_then(|p| p.name.as_deref()) {
            Some(name) => format!("{name}@if{}", l.index),
            None => format!("if{}", peer.map_or(0, |p| p.index)),
        };
        let owner = match ns {
            Some(ns) if ns.inode == snap.host => "the host".to_string(),
            Some(ns) => ns.owner.to_string(),
            None => "a namespace den cannot see".to_string(),
        };
        let bridge = l.master.as_deref().unwrap_or("-");
        lines.push((
            l.name.clone(),
            far.clone(),
            owner.clone(),
            bridge.to_string(),
        ));
        rows.push(json!({
            "veth": l.name, "index": l.index, "bridge": l.master,
            "peer": peer.and_then(|p| p.name.clone()), "peer_index": peer.map(|p| p.index),
            "netns": ns.map(|n| n.inode), "owner": ns.map(|n| &n.owner),
            "bridge_port": l.bridge_port,
        }));
    }
    if a.format == "json" {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(0);
    }
    let w =
        |f: fn(&(String, String, String, String)) -> usize| lines.iter().map(f).max().unwrap_or(0);
    let (w0, w1, w2) = (
        w(|l| l.0.len()),
        w(|l| l.1.len()),
        w(|l| l.2.chars().count()),
    );
    for (veth, far, owner, bridge) in &lines {
        let pad = w2 - owner.chars().count();
        println!(
            "{veth:<w0$} is paired with {far:<w1$} in {owner}{:pad$}  bridge {bridge}",
            ""
        );
    }
    Ok(0)
}
