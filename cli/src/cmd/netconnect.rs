//! `den network connect|disconnect|prune`, and `network create`'s `--driver` and `-o` options.

use std::io::{BufRead, Write};
use std::net::Ipv4Addr;
use std::path::Path;

use anyhow::{bail, Result};
use den_netcfg::network::{self, NetworkError, DEFAULT};
use den_runtime::connect::{self, Connect};

#[derive(clap::Args)]
pub struct ConnectArgs {
    /// The container's address on the network (in its subnet).
    #[arg(long)]
    ip: Option<Ipv4Addr>,
    /// Another name for the container on this network (in the other members' /etc/hosts).
    #[arg(long)]
    alias: Vec<String>,
    network: String,
    container: String,
}

#[derive(clap::Args)]
pub struct DisconnectArgs {
    /// Accepted for docker's sake: den always takes everything away that it can.
    #[arg(short = 'f', long)]
    force: bool,
    network: String,
    container: String,
}

#[derive(clap::Args)]
pub struct PruneArgs {
    /// Do not ask for confirmation.
    #[arg(short = 'f', long)]
    force: bool,
    /// Prune only some: until=TIME (made before it: RFC 3339, Unix seconds or a duration such
    /// as 24h), label=KEY[=VALUE], label!=KEY[=VALUE] (den's networks carry no labels).
    #[arg(long = "filter", value_name = "FILTER")]
    filter: Vec<String>,
}

pub fn connect(root: &Path, a: ConnectArgs) -> Result<i32> {
    connect::connect(
        root,
        &Connect {
            network: &a.network,
            container: &a.container,
            ip: a.ip,
            aliases: &a.alias,
        },
    )?;
    Ok(0)
}

pub fn disconnect(root: &Path, a: DisconnectArgs) -> Result<i32> {
    let _ = a.force;
    connect::disconnect(root, &a.network, &a.container)?;
    Ok(0)
}

/// docker's prompt, then every user network no container is on is removed ("Deleted Networks:").
pub fn prune(root: &Path, a: PruneArgs) -> Result<i32> {
    let filters = super::prune_filter::PruneFilters::parse(&a.filter)?;
    if !a.force {
        eprint!(
            "WARNING! This will remove all custom networks not used by at least one container.\n\
             Are you sure you want to continue? [y/N] "
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        // End of input (no terminal, nothing piped) is a no.
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Ok(0);
        }
    }
    let mut deleted = Vec::new();
    let no_labels = Default::default();
    for n in network::list(root)? {
        if n.name == DEFAULT || !filters.matches(created(root, &n.name), &no_labels) {
            continue;
        }
        match connect::remove_network(root, &n.name) {
            Ok(_) => deleted.push(n.name),
            Err(NetworkError::InUse { .. }) => {}
            Err(e) => eprintln!("den: {}", den_runtime::run::one_line(&e)),
        }
    }
    if !deleted.is_empty() {
        println!("Deleted Networks:");
        for n in deleted {
            println!("{n}");
        }
    }
    Ok(0)
}

/// When network `name` was made: its dir's birth time (or its last change, where the file system
/// keeps no birth time).
fn created(root: &Path, name: &str) -> Option<std::time::Duration> {
    let meta = std::fs::metadata(network::network_dir(root, name)).ok()?;
    let t = meta.created().or_else(|_| meta.modified()).ok()?;
    t.duration_since(std::time::UNIX_EPOCH).ok()
}

/// `--driver` must be bridge; `-o` may name the bridge (as `--bridge` does) or give one of
/// docker's bridge options at the value den always has. Returns the bridge's name, if given.
pub fn bridge_options(
    driver: &str,
    opts: &[String],
    bridge: Option<String>,
) -> Result<Option<String>> {
    if driver != "bridge" {
        bail!("network driver {driver:?} is not supported: den has the bridge driver only");
    }
    let mut name = bridge;
    for o in opts {
        let Some((key, value)) = o.split_once('=') else {
            bail!("invalid network option {o:?}: use KEY=VALUE");
        };
        let fixed = match key {
            "com.docker.network.bridge.name" => {
                if name.as_deref().is_some_and(|n| n != value) {
                    bail!("conflicting options: --bridge {} and -o {o}", name.unwrap_or_default());
                }
                name = Some(value.to_string());
                continue;
            }
            "com.docker.network.bridge.enable_ip_masquerade" => "true",
            "com.docker.network.bridge.enable_icc" => "true",
            "com.docker.network.bridge.host_binding_ipv4" => "0.0.0.0",
            "com.docker.network.container_iface_prefix" => "eth",
            _ => bail!("unknown network option {key:?}: den knows com.docker.network.bridge.name (and docker's enable_ip_masquerade, enable_icc, host_binding_ipv4, container_iface_prefix at their defaults)"),
        };
        if value != fixed {
            bail!("network option {key}={value} is not supported: den's bridge networks always have {key}={fixed}");
        }
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::bridge_options;

    #[test]
    fn bridge_driver_and_options() {
        assert_eq!(bridge_options("bridge", &[], None).unwrap(), None);
        let named = ["com.docker.network.bridge.name=br-x".to_string()];
        assert_eq!(
            bridge_options("bridge", &named, None).unwrap().as_deref(),
            Some("br-x")
        );
        let e = bridge_options("overlay", &[], None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"overlay\""), "{e}");
        let e = bridge_options("bridge", &["foo=1".into()], None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"foo\""), "{e}");
        let off = ["com.docker.network.bridge.enable_icc=false".to_string()];
        assert!(bridge_options("bridge", &off, None).is_err());
        let on = ["com.docker.network.bridge.enable_icc=true".to_string()];
        assert!(bridge_options("bridge", &on, None).is_ok());
        assert!(bridge_options("bridge", &named, Some("br-y".into())).is_err());
    }
}
