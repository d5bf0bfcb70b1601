//! The run flags that shape a container's name resolution and its place on its network:
//! `--dns`, `--dns-search`, `--dns-option`, `--add-host`, `--network-alias`, `--mac-address`,
//! `-P/--publish-all` with `--expose`. Checked in step 1 with docker's rules and messages, applied
//! in steps 4 (the MAC, the ports) and 5 (/etc/resolv.conf and /etc/hosts).

use std::net::{IpAddr, Ipv4Addr};

use den_netcfg::{PortSpec, Proto};
use serde::{Deserialize, Serialize};

use super::NetworkMode;

/// The flags as typed.
#[derive(Debug, Clone, Default)]
pub struct NetFlags {
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_options: Vec<String>,
    /// `NAME:IP` (or `NAME=IP`), IP may be `host-gateway`.
    pub add_hosts: Vec<String>,
    pub aliases: Vec<String>,
    pub mac: Option<String>,
    pub publish_all: bool,
    /// `PORT[/PROTO]` or `FIRST-LAST[/PROTO]`.
    pub expose: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum NetFlagError {
    #[error(
        "invalid argument {0:?} for \"--dns\" flag: IP address is not correctly formatted: {0}"
    )]
    Dns(String),
    #[error("invalid argument {0:?} for \"--dns-search\" flag: {0} is not a valid domain")]
    DnsSearch(String),
    #[error("invalid argument {0:?} for \"--add-host\" flag: bad format for add-host: {0:?}")]
    AddHostFormat(String),
    #[error(
        "invalid argument {flag:?} for \"--add-host\" flag: invalid IP address in add-host: {ip:?}"
    )]
    AddHostIp { flag: String, ip: String },
    #[error("--add-host {0}: host-gateway needs a bridge network (it is the network's gateway)")]
    HostGateway(String),
    #[error("{0} is not a valid mac address")]
    Mac(String),
    #[error("--mac-address {0} is a multicast address: a container's MAC must be unicast")]
    MulticastMac(String),
    #[error("invalid range format for --expose: {0}")]
    Expose(String),
    #[error("network-scoped alias is supported only for containers in user defined networks")]
    AliasOnDefault,
    #[error("invalid network alias {0:?}: it must be a non-empty name without spaces")]
    Alias(String),
    #[error("conflicting options: mac-address and the network mode")]
    MacAndNetwork,
    #[error("conflicting options: dns and the network mode")]
    DnsAndNetwork,
    #[error("conflicting options: custom host-to-IP mapping and the network mode")]
    HostsAndNetwork,
    #[error("conflicting options: port publishing and the container type network mode")]
    PublishAllAndNetwork,
    #[error("conflicting options: port exposing and the container type network mode")]
    ExposeAndNetwork,
}

/// An `--add-host` address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostAddr {
    Ip(IpAddr),
    /// `host-gateway`: the gateway of the container's network.
    Gateway,
}

/// What step 5 writes into /etc/resolv.conf and /etc/hosts beyond den's defaults; kept in
/// `run.json` so `den start` writes the same.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EtcSettings {
    pub dns: Vec<IpAddr>,
    pub dns_search: Vec<String>,
    pub dns_options: Vec<String>,
    pub extra_hosts: Vec<(String, HostAddr)>,
}

/// The flags, checked: what the container's files, network plan and record get.
#[derive(Debug, Clone, Default)]
pub struct Settled {
    pub etc: EtcSettings,
    pub aliases: Vec<String>,
    pub mac: Option<[u8; 6]>,
    /// `--expose` as `PORT/PROTO` each (docker's ExposedPorts keys).
    pub exposed: Vec<String>,
}

impl NetFlags {
    /// docker's checks, in docker's order where it has one. `network` is the `--network` asked for.
    pub fn settle(&self, network: &NetworkMode) -> Result<Settled, NetFlagError> {
        let dns = self
            .dns
            .iter()
            .map(|d| d.parse().map_err(|_| NetFlagError::Dns(d.clone())))
            .collect::<Result<Vec<IpAddr>, _>>()?;
        if let Some(bad) = self.dns_search.iter().find(|d| !valid_search(d)) {
            return Err(NetFlagError::DnsSearch(bad.clone()));
        }
        let extra_hosts = self
            .add_hosts
            .iter()
            .map(|h| parse_add_host(h, network))
            .collect::<Result<Vec<_>, _>>()?;
        let mac = self.mac.as_deref().map(parse_mac).transpose()?;
        let exposed = self
            .expose
            .iter()
            .map(|e| parse_expose(e))
            .collect::<Result<Vec<_>, _>>()?
            .concat();
        if let Some(bad) = self
            .aliases
            .iter()
            .find(|a| a.is_empty() || a.contains(char::is_whitespace))
        {
            return Err(NetFlagError::Alias(bad.clone()));
        }
        let container = matches!(network, NetworkMode::Container(_));
        if mac.is_some() && !matches!(network, NetworkMode::Bridge(_)) {
            return Err(NetFlagError::MacAndNetwork);
        }
        if container {
            if !dns.is_empty() || !self.dns_search.is_empty() || !self.dns_options.is_empty() {
                return Err(NetFlagError::DnsAndNetwork);
            }
            if !extra_hosts.is_empty() {
                return Err(NetFlagError::HostsAndNetwork);
            }
            if self.publish_all {
                return Err(NetFlagError::PublishAllAndNetwork);
            }
            if !exposed.is_empty() {
                return Err(NetFlagError::ExposeAndNetwork);
            }
        }
        if !self.aliases.is_empty() {
            match network {
                NetworkMode::Bridge(n) if n != den_netcfg::network::DEFAULT => {}
                _ => return Err(NetFlagError::AliasOnDefault),
            }
        }
        Ok(Settled {
            etc: EtcSettings {
                dns,
                dns_search: self.dns_search.clone(),
                dns_options: self.dns_options.clone(),
                extra_hosts,
            },
            aliases: self.aliases.clone(),
            mac,
            exposed,
        })
    }
}

/// `-P`: a random host port for each exposed port (the image's ExposedPorts, then `--expose`) that
/// no `-p` publishes already, as docker does.
pub fn publish_all(publish: &[PortSpec], exposed: &[String]) -> Vec<PortSpec> {
    let mut out = publish.to_vec();
    for e in exposed {
        let Ok(spec) = e.parse::<PortSpec>() else {
            continue;
        };
        let (port, proto) = (spec.container_ports.0, spec.proto);
        let covered = out.iter().any(|p| {
            p.proto == proto && (p.container_ports.0..=p.container_ports.1).contains(&port)
        });
        if !covered {
            out.push(PortSpec {
                host_ip: None,
                host_ports: None,
                container_ports: (port, port),
                proto,
            });
        }
    }
    out
}

/// docker's `ValidateDNSSearch`: `.` (no search) or a domain name of at most 255 bytes.
fn valid_search(d: &str) -> bool {
    if d == "." {
        return true;
    }
    let d = d.strip_suffix('.').unwrap_or(d);
    !d.is_empty()
        && d.len() <= 255
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// `NAME:IP` or `NAME=IP` (the first `=`, else the first `:`: an IPv6 address keeps its colons).
fn parse_add_host(h: &str, network: &NetworkMode) -> Result<(String, HostAddr), NetFlagError> {
    let split = h.split_once('=').or_else(|| h.split_once(':'));
    let Some((name, ip)) = split.filter(|(n, _)| !n.is_empty()) else {
        return Err(NetFlagError::AddHostFormat(h.to_string()));
    };
    let addr = match ip {
        "host-gateway" if matches!(network, NetworkMode::Bridge(_)) => HostAddr::Gateway,
        "host-gateway" => return Err(NetFlagError::HostGateway(h.to_string())),
        ip => HostAddr::Ip(
            ip.trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .map_err(|_| NetFlagError::AddHostIp {
                    flag: h.to_string(),
                    ip: ip.to_string(),
                })?,
        ),
    };
    Ok((name.to_string(), addr))
}

/// Six octets, `:` or `-` between them; unicast only (the kernel refuses a multicast MAC).
fn parse_mac(s: &str) -> Result<[u8; 6], NetFlagError> {
    let bad = || NetFlagError::Mac(s.to_string());
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 6 || parts.iter().any(|p| p.len() != 2) {
        return Err(bad());
    }
    let mut mac = [0u8; 6];
    for (b, p) in mac.iter_mut().zip(&parts) {
        *b = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    if mac[0] & 1 == 1 {
        return Err(NetFlagError::MulticastMac(s.to_string()));
    }
    Ok(mac)
}

/// `PORT[/PROTO]` or `FIRST-LAST[/PROTO]`, as `PORT/PROTO` each.
pub(crate) fn parse_expose(e: &str) -> Result<Vec<String>, NetFlagError> {
    let bad = || NetFlagError::Expose(e.to_string());
    let (ports, proto) = match e.split_once('/') {
        Some((p, proto)) => (p, proto),
        None => (e, "tcp"),
    };
    let proto = match proto {
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        _ => return Err(bad()),
    };
    let port = |p: &str| p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(bad);
    let (first, last) = match ports.split_once('-') {
        Some((a, b)) => (port(a)?, port(b)?),
        None => (port(ports)?, port(ports)?),
    };
    if first > last {
        return Err(bad());
    }
    Ok((first..=last).map(|p| format!("{p}/{proto}")).collect())
}

impl EtcSettings {
    /// Lines for /etc/hosts after localhost's: `IP\tNAME` for each `--add-host`.
    pub fn hosts_lines(&self, gateway: Option<Ipv4Addr>) -> String {
        let mut s = String::new();
        for (name, addr) in &self.extra_hosts {
            let ip = match addr {
                HostAddr::Ip(ip) => ip.to_string(),
                HostAddr::Gateway => match gateway {
                    Some(g) => g.to_string(),
                    None => continue,
                },
            };
            s.push_str(&format!("{ip}\t{name}\n"));
        }
        s
    }

    /// The container's resolv.conf from `base` (the host's, loopback nameservers dropped): each of
    /// `--dns`, `--dns-search`, `--dns-option` given replaces that kind of line, as docker does.
    pub fn resolv_conf(&self, base: &str) -> String {
        let keep = |line: &&str| {
            let kind = line.split_whitespace().next().unwrap_or("");
            !((kind == "nameserver" && !self.dns.is_empty())
                || ((kind == "search" || kind == "domain") && !self.dns_search.is_empty())
                || (kind == "options" && !self.dns_options.is_empty()))
        };
        let mut s: String = base
            .lines()
            .filter(keep)
            .map(|l| format!("{l}\n"))
            .collect();
        for d in &self.dns {
            s.push_str(&format!("nameserver {d}\n"));
        }
        let search: Vec<&str> = self
            .dns_search
            .iter()
            .map(String::as_str)
            .filter(|d| *d != ".")
            .collect();
        if !search.is_empty() {
            s.push_str(&format!("search {}\n", search.join(" ")));
        }
        if !self.dns_options.is_empty() {
            s.push_str(&format!("options {}\n", self.dns_options.join(" ")));
        }
        s
    }
}

#[cfg(test)]
mod tests;
