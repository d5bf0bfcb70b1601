//! `den explain NAME PORT[/udp]` and `den explain NAME --to ADDR[:PORT][/udp]`: a packet's path,
//! hop by hop, as the kernel holds it. Exit 0 when the packet gets through, 1 when a hop stops it.

use std::net::Ipv4Addr;
use std::path::Path;

use anyhow::{anyhow, bail, Result};
use den_netcfg::explain::{self, Question, Target};
use den_netcfg::Proto;
use den_runtime::lifecycle;
use den_runtime::state::{Status, Store};

#[derive(clap::Args)]
pub struct Args {
    /// The container, by name or id.
    container: String,
    /// A host port published by the container: `8080` or `8080/udp` (a new connection to it from
    /// outside, or from --from).
    port: Option<String>,
    /// The way out instead: a new connection from the container to ADDR[:PORT][/udp].
    #[arg(long, value_name = "ADDR[:PORT][/udp]", conflicts_with = "port")]
    to: Option<String>,
    /// The source of the packet (default: the host's default gateway). An address on a den
    /// network means a container there, talking to the container's own PORT.
    #[arg(long, value_name = "ADDR", conflicts_with = "to")]
    from: Option<Ipv4Addr>,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    let question = match (&a.port, &a.to) {
        (Some(p), _) => {
            let (port, proto) = port_proto(p)?;
            Question::In {
                proto,
                port,
                from: a.from,
            }
        }
        (None, Some(to)) => {
            let (rest, proto) = split_proto(to)?;
            let (ip, port) = match rest.split_once(':') {
                Some((ip, port)) => (ip, Some(parse_port(port)?)),
                None => (rest, None),
            };
            let to = ip
                .parse()
                .map_err(|_| anyhow!("invalid --to address {ip:?}: want an IPv4 address"))?;
            Question::Out { proto, to, port }
        }
        (None, None) => {
            bail!("explain what? give a PORT (den explain NAME 8080) or --to ADDR[:PORT]")
        }
    };
    let c = lifecycle::find(&Store::new(root), &a.container)?;
    let (Status::Running, Some(pid)) = (c.status, c.pid) else {
        bail!(
            "container {} is not running: its packets have no path to explain",
            c.name
        );
    };
    let Some(attachment) = c.network.as_ref() else {
        bail!(
            "container {} is on network {:?}, not a bridge network: it has no veth, bridge or DNAT to explain",
            c.name,
            c.network_mode
        );
    };
    let walk = explain::explain(&Target { pid, attachment }, &question)?;
    print!("{walk}");
    Ok(if walk.arrives() { 0 } else { 1 })
}

/// `8080`, `8080/tcp`, `53/udp`.
fn port_proto(s: &str) -> Result<(u16, Proto)> {
    let (port, proto) = split_proto(s)?;
    Ok((parse_port(port)?, proto))
}

fn split_proto(s: &str) -> Result<(&str, Proto)> {
    match s.rsplit_once('/') {
        Some((rest, "tcp")) => Ok((rest, Proto::Tcp)),
        Some((rest, "udp")) => Ok((rest, Proto::Udp)),
        Some((_, other)) => bail!("invalid protocol {other:?} in {s:?}: want tcp or udp"),
        None => Ok((s, Proto::Tcp)),
    }
}

fn parse_port(s: &str) -> Result<u16> {
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => bail!("invalid port {s:?}: want 1-65535"),
    }
}
