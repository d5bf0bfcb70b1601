//! `den network create|ls|inspect|rm`: user-defined bridge networks.

use std::net::Ipv4Addr;
use std::path::Path;

use anyhow::Result;
use den_netcfg::network::{self, CreateRequest, Ipv4Net, Network, NetworkError};
use den_runtime::state::{Container, Status, Store};
use serde_json::{json, Map, Value};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create a bridge network.
    Create(CreateArgs),
    /// List networks.
    #[command(visible_alias = "list")]
    Ls(super::listing::LsArgs),
    /// Show networks and the containers on them as JSON.
    Inspect {
        /// A Go template over each network, or `json`.
        #[arg(short = 'f', long)]
        format: Option<String>,
        /// Networks, by name.
        #[arg(required = true)]
        networks: Vec<String>,
    },
    /// Connect a container to a network: its next ethN (a stopped one gets it at its next start).
    Connect(super::netconnect::ConnectArgs),
    /// Disconnect a container from a network.
    Disconnect(super::netconnect::DisconnectArgs),
    /// Remove every network no container is on.
    Prune(super::netconnect::PruneArgs),
    /// Remove networks (refused while a container is on one).
    #[command(visible_alias = "remove")]
    Rm {
        /// Print each step as its `ip`/`nft` equivalent, with milliseconds (also: env DEN_TRACE).
        #[arg(long)]
        trace: bool,
        /// Networks, by name.
        #[arg(required = true)]
        networks: Vec<String>,
    },
}

#[derive(clap::Args)]
pub struct CreateArgs {
    /// The subnet, e.g. 10.10.0.0/24 (default: the first free one of 172.17-31.0.0/16, 192.168.*.0/20).
    #[arg(long)]
    subnet: Option<Ipv4Net>,
    /// The bridge's address (default: the subnet's first address); needs --subnet.
    #[arg(long)]
    gateway: Option<Ipv4Addr>,
    /// No outside access: no masquerade, no default route, nothing forwarded to other interfaces.
    #[arg(long)]
    internal: bool,
    /// The bridge's name (default: br-<first 12 digits of the network id>).
    #[arg(long)]
    bridge: Option<String>,
    /// Print each step as its `ip`/`nft` equivalent, with milliseconds (also: env DEN_TRACE).
    #[arg(long)]
    trace: bool,
    /// Seed 001's bridged mode: enslave this host interface to the bridge and move its addresses
    /// and routes onto it (containers join that LAN, no NAT); `network rm` gives them back.
    #[arg(long, value_name = "IFACE")]
    uplink: Option<String>,
    /// With --uplink: take it even if it carries the host's only default route.
    #[arg(long, requires = "uplink")]
    force: bool,
    /// The network driver: bridge (den's only one).
    #[arg(short = 'd', long, default_value = "bridge")]
    driver: String,
    /// A driver option: com.docker.network.bridge.name=NAME, or one of docker's bridge options
    /// at the value den always has.
    #[arg(short = 'o', long = "opt")]
    opt: Vec<String>,
    /// The network's name.
    name: String,
}

pub fn main(root: &Path, c: Command) -> Result<i32> {
    match c {
        Command::Create(a) => {
            if a.trace {
                den_netcfg::trace::enable();
            }
            let bridge = super::netconnect::bridge_options(&a.driver, &a.opt, a.bridge)?;
            let net = den_runtime::connect::create_network(&CreateRequest {
                root,
                name: &a.name,
                subnet: a.subnet,
                gateway: a.gateway,
                bridge: bridge.as_deref(),
                internal: a.internal,
                uplink: a.uplink.as_deref(),
                force: a.force,
            })?;
            println!("{}", net.id);
            Ok(0)
        }
        Command::Ls(a) => {
            let rows: Vec<Value> = network::list(root)?.iter().map(ls_row).collect();
            super::listing::print(&a, NETWORK_HEADER, NETWORK_TABLE, rows, "ID")
        }
        Command::Inspect { format, networks } => {
            let out = networks
                .iter()
                .map(|n| inspect_one(root, n))
                .collect::<Result<Vec<_>>>()?;
            print!("{}", crate::format::objects(format.as_deref(), &out)?);
            Ok(0)
        }
        Command::Connect(a) => super::netconnect::connect(root, a),
        Command::Disconnect(a) => super::netconnect::disconnect(root, a),
        Command::Prune(a) => super::netconnect::prune(root, a),
        Command::Rm { trace, networks } => {
            if trace {
                den_netcfg::trace::enable();
            }
            let mut status = 0;
            for name in &networks {
                match den_runtime::connect::remove_network(root, name) {
                    Ok(_) => println!("{name}"),
                    Err(e) => {
                        eprintln!(
                            "den: {}",
                            in_use_by_name(root, &e)
                                .unwrap_or_else(|| { den_runtime::run::one_line(&e) })
                        );
                        status = 125;
                    }
                }
            }
            Ok(status)
        }
    }
}

const NETWORK_HEADER: &str = r#"{"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER",
  "Scope": "SCOPE", "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS",
  "CreatedAt": "CREATED AT", "Subnet": "SUBNET", "Gateway": "GATEWAY", "Bridge": "BRIDGE"}"#;
const NETWORK_TABLE: &str = "{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";

/// One row of `network ls`: docker's fields, and den's subnet, gateway and bridge.
fn ls_row(n: &Network) -> Value {
    json!({
        "ID": n.short_id(), "Name": n.name, "Driver": "bridge", "Scope": "local",
        "IPv6": "false", "Internal": n.internal.to_string(), "Labels": "", "CreatedAt": "",
        "Subnet": n.subnet.to_string(), "Gateway": n.gateway.to_string(), "Bridge": n.bridge,
        "FullID": n.id,
    })
}

/// `network inspect NAME` (and `den inspect`'s network): docker's keys and den's kernel view.
pub fn inspect_one(root: &Path, name: &str) -> Result<Value> {
    let n = Network::load(root, name)?;
    let containers = Store::new(root).list()?;
    let mut v = inspect(&n, &containers);
    v["Kernel"] = super::topology::kernel_bridge(&n, &containers);
    Ok(v)
}

/// docker's keys; `Containers` are the running containers attached to the network, with den's HostVeth.
fn inspect(n: &Network, containers: &[Container]) -> Value {
    let mut members = Map::new();
    for c in containers.iter().filter(|c| c.status == Status::Running) {
        let Some(att) = c.attachments().find(|a| a.network == n.name) else {
            continue;
        };
        members.insert(
            c.id.clone(),
            json!({
                "Name": c.name,
                "IPv4Address": format!("{}/{}", att.ip, att.prefix_len),
                "MacAddress": att.mac,
                "HostVeth": att.host_veth,
            }),
        );
    }
    json!({
        "Name": n.name,
        "Id": n.id,
        "Driver": "bridge",
        "Scope": "local",
        "Internal": n.internal,
        "IPAM": {"Driver": "default", "Config": [
            {"Subnet": n.subnet.to_string(), "Gateway": n.gateway.to_string()}
        ]},
        "Options": {"com.docker.network.bridge.name": n.bridge},
        "Containers": members,
    })
}

/// "in use by container NAME" rather than by an id, where the state still knows the name.
fn in_use_by_name(root: &Path, e: &NetworkError) -> Option<String> {
    let NetworkError::InUse {
        network,
        containers,
    } = e
    else {
        return None;
    };
    let store = Store::new(root);
    let names: Vec<String> = containers
        .iter()
        .map(|id| {
            store
                .find(id)
                .map(|c| c.name)
                .unwrap_or_else(|_| id.clone())
        })
        .collect();
    Some(format!(
        "network {network} is in use by container {}",
        names.join(", ")
    ))
}
