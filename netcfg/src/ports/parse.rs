//! `-p [IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]` -> [`PortSpec`].

use std::net::{IpAddr, Ipv4Addr};

use super::{PortSpec, Proto, SpecProblem};

pub(super) fn parse(s: &str) -> Result<PortSpec, SpecProblem> {
    let (addr_ports, proto) = match s.rsplit_once('/') {
        Some((rest, proto)) => (rest, parse_proto(proto)?),
        None => (s, Proto::Tcp),
    };
    if addr_ports.starts_with('[') {
        return Err(SpecProblem::Ipv6HostIp);
    }
    let parts: Vec<&str> = addr_ports.split(':').collect();
    let (ip, host, container) = match parts[..] {
        [container] => (None, "", container),
        [host, container] => (None, host, container),
        [ip, host, container] => (Some(ip), host, container),
        _ => return Err(too_many_colons(addr_ports)),
    };
    if container.is_empty() {
        return Err(SpecProblem::NoContainerPort);
    }
    let host_ip = ip.map(parse_ip).transpose()?;
    let container_ports = parse_range(container)?;
    let host_ports = if host.is_empty() {
        None
    } else {
        Some(parse_range(host)?)
    };
    if let Some(h) = host_ports {
        let (hl, cl) = (h.1 - h.0, container_ports.1 - container_ports.0);
        // Equal lengths pair up; a host range for ONE container port means "the first free
        // host port of the range" (docker's semantics).
        if hl != cl && cl != 0 {
            return Err(SpecProblem::RangeLengths {
                host: range_text(h),
                container: range_text(container_ports),
            });
        }
    }
    Ok(PortSpec {
        host_ip,
        host_ports,
        container_ports,
        proto,
    })
}

/// More than two colons: an unbracketed IPv6 address if the address part parses as one,
/// otherwise a malformed argument.
fn too_many_colons(addr_ports: &str) -> SpecProblem {
    let ip = addr_ports.rsplitn(3, ':').nth(2).unwrap_or("");
    if ip.parse::<std::net::Ipv6Addr>().is_ok() {
        SpecProblem::Ipv6HostIp
    } else {
        SpecProblem::Shape
    }
}

fn parse_proto(s: &str) -> Result<Proto, SpecProblem> {
    match s.to_ascii_lowercase().as_str() {
        "tcp" => Ok(Proto::Tcp),
        "udp" => Ok(Proto::Udp),
        "sctp" => Err(SpecProblem::Sctp),
        _ => Err(SpecProblem::UnknownProto(s.to_string())),
    }
}

fn parse_ip(s: &str) -> Result<Ipv4Addr, SpecProblem> {
    match s.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => Ok(ip),
        Ok(IpAddr::V6(_)) => Err(SpecProblem::Ipv6HostIp),
        Err(_) => Err(SpecProblem::BadHostIp(s.to_string())),
    }
}

fn parse_port(s: &str) -> Result<u16, SpecProblem> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SpecProblem::NotANumber(s.to_string()));
    }
    match s.parse::<u64>() {
        Ok(n @ 1..=65535) => Ok(n as u16),
        _ => Err(SpecProblem::OutOfRange(s.to_string())),
    }
}

fn parse_range(s: &str) -> Result<(u16, u16), SpecProblem> {
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (parse_port(a)?, parse_port(b)?),
        None => {
            let p = parse_port(s)?;
            (p, p)
        }
    };
    if a > b {
        return Err(SpecProblem::BackwardsRange(a, b));
    }
    Ok((a, b))
}

fn range_text((a, b): (u16, u16)) -> String {
    if a == b {
        a.to_string()
    } else {
        format!("{a}-{b}")
    }
}
