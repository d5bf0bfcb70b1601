//! `den trace NAME [--port P] [--for S] [--count N] [--probe]`: a live trace of the container's
//! real packets through every hook, chain and rule (nftables' `meta nftrace`).

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Result};
use den_netcfg::trace_live::{self, Request, Scope, Shot};
use den_runtime::lifecycle;
use den_runtime::state::{Status, Store};

#[derive(clap::Args)]
pub struct Args {
    /// The container, by name or id.
    container: String,
    /// Only packets to or from this port (a container port or a published host port).
    #[arg(long)]
    port: Option<u16>,
    /// Stop after this many seconds.
    #[arg(long = "for", value_name = "SECONDS", default_value_t = 30)]
    seconds: u64,
    /// Stop after this many packets.
    #[arg(long, default_value_t = 20)]
    count: usize,
    /// Send one packet yourself from a throwaway network namespace: a TCP SYN (or UDP datagram)
    /// to the published port (--port, or the first), or a ping when none is published.
    #[arg(long)]
    probe: bool,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    if a.seconds == 0 || a.count == 0 {
        bail!("--for and --count must be at least 1");
    }
    let c = lifecycle::find(&Store::new(root), &a.container)?;
    let (Status::Running, Some(_)) = (c.status, c.pid) else {
        bail!(
            "container {} is not running: it has no packets to trace",
            c.name
        );
    };
    let Some(net) = c.network.as_ref() else {
        bail!(
            "container {} is on network {:?}, not a bridge network: den traces bridge networks only",
            c.name,
            c.network_mode
        );
    };
    let published = &net.ports;
    let chosen = match a.port {
        Some(p) => published
            .iter()
            .find(|m| m.host_port == p || m.container_port == p),
        None => published.first(),
    };
    let probe = a.probe.then(|| match chosen {
        Some(m) => Shot::of(m.proto, m.host_port),
        None => Shot::Ping(net.ip),
    });
    let req = Request {
        scope: Scope {
            container_id: &c.id,
            container_name: &c.name,
            ip: net.ip,
            published,
            port: a.port,
        },
        max_packets: a.count,
        duration: Duration::from_secs(a.seconds),
        probe,
    };
    trace_live::run(&req, &mut |line| println!("{line}"))?;
    Ok(0)
}
