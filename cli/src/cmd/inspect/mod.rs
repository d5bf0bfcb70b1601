//! `den inspect [--type T] [-f TEMPLATE] NAME...`: containers, images, networks and volumes in
//! docker's shape; `den port`.

mod container;
mod storage;

use std::path::Path;

use anyhow::Result;
use den_runtime::image::ImageStore;
use den_runtime::lifecycle;
use den_runtime::state::Store;
use serde_json::Value;

use crate::format;

#[derive(clap::Args)]
pub struct Args {
    /// A Go template over each object (e.g. '{{.NetworkSettings.IPAddress}}'), or `json`.
    #[arg(short = 'f', long)]
    format: Option<String>,
    /// Only look for this kind: container, image, network or volume.
    #[arg(long = "type", value_parser = ["container", "image", "network", "volume"])]
    kind: Option<String>,
    /// Accepted for docker's sake (container sizes: `den ps -s`).
    #[arg(short = 's', long)]
    size: bool,
    /// Containers, images, networks or volumes, by name or id.
    #[arg(required = true, value_name = "NAME|ID")]
    names: Vec<String>,
}

#[derive(clap::Args)]
pub struct PortArgs {
    /// The container, by name or id.
    container: String,
    /// Only this container port: PORT[/tcp|udp]; prints its host addresses.
    port: Option<String>,
}

const KINDS: [&str; 4] = ["container", "image", "network", "volume"];

pub fn main(root: &Path, a: Args) -> Result<i32> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for name in &a.names {
        let kinds: Vec<&str> = match &a.kind {
            Some(k) => vec![k.as_str()],
            None => KINDS.to_vec(),
        };
        match kinds.iter().find_map(|k| object(root, k, name)) {
            Some(v) => found.push(v),
            None => missing.push(name),
        }
    }
    print!("{}", format::objects(a.format.as_deref(), &found)?);
    for name in &missing {
        match &a.kind {
            Some(k) => eprintln!("Error: No such {k}: {name}"),
            None => eprintln!("Error: No such object: {name}"),
        }
    }
    Ok(if missing.is_empty() { 0 } else { 1 })
}

/// `name` as an object of kind `kind`, if there is one.
fn object(root: &Path, kind: &str, name: &str) -> Option<Value> {
    match kind {
        "container" => {
            let store = Store::new(root);
            let c = lifecycle::find(&store, name).ok()?;
            let mut v = container::inspect(&c, &store);
            v["Kernel"] = super::topology::kernel_view(&c);
            super::life_view::add(&mut v, &c);
            Some(v)
        }
        "image" => ImageStore::new(root).inspect(name).ok(),
        "network" => super::network::inspect_one(root, name).ok(),
        "volume" => super::volume::inspect_one(root, name).ok(),
        _ => None,
    }
}

/// `den port NAME [PORT[/PROTO]]`: docker's `80/tcp -> 0.0.0.0:8080` lines, or the host addresses
/// of one container port.
pub fn port(root: &Path, a: PortArgs) -> Result<i32> {
    let c = Store::new(root).find(&a.container)?;
    let ports = c.network.iter().flat_map(|n| &n.ports);
    let Some(want) = &a.port else {
        for p in ports {
            println!(
                "{}/{} -> {}:{}",
                p.container_port, p.proto, p.host_ip, p.host_port
            );
        }
        return Ok(0);
    };
    let (num, proto) = want.split_once('/').unwrap_or((want, "tcp"));
    let hits: Vec<String> = ports
        .filter(|p| p.container_port.to_string() == num && p.proto.to_string() == proto)
        .map(|p| format!("{}:{}", p.host_ip, p.host_port))
        .collect();
    if hits.is_empty() {
        eprintln!(
            "Error: No public port '{num}/{proto}' published for {}",
            c.name
        );
        return Ok(1);
    }
    hits.iter().for_each(|h| println!("{h}"));
    Ok(0)
}
