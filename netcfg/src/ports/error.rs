//! Errors of `-p` parsing and port expansion.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use super::{PortMapping, Proto};

/// What is wrong with one `-p` argument.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecProblem {
    #[error("expected [IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]")]
    Shape,
    #[error("the container port is missing")]
    NoContainerPort,
    #[error("{0:?} is not a port number")]
    NotANumber(String),
    #[error("port {0} is out of range 1-65535")]
    OutOfRange(String),
    #[error("port range {0}-{1} ends before it starts")]
    BackwardsRange(u16, u16),
    #[error("host ports {host} and container ports {container} differ in length")]
    RangeLengths { host: String, container: String },
    #[error("unknown protocol {0:?} (use tcp or udp)")]
    UnknownProto(String),
    #[error("protocol sctp is not supported (use tcp or udp)")]
    Sctp,
    #[error("{0:?} is not an IPv4 address")]
    BadHostIp(String),
    #[error("IPv6 host addresses are not supported (publish on an IPv4 address or on all)")]
    Ipv6HostIp,
}

/// Errors of [`PortSpec`](super::PortSpec) parsing and [`expand`](super::expand).
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error("invalid -p {spec:?}: {problem}")]
    Invalid { spec: String, problem: SpecProblem },
    #[error("host port {host_ip}:{port}/{proto} is requested twice")]
    Duplicate {
        host_ip: Ipv4Addr,
        port: u16,
        proto: Proto,
    },
    #[error("host port {host_ip}:{}/{} is already published by another container ({by})", .by.host_port, .by.proto)]
    AlreadyPublished { host_ip: Ipv4Addr, by: PortMapping },
    #[error(
        "host port {host_ip}:{port}/{proto} is in use: a host socket is bound to {listener}:{port}"
    )]
    InUse {
        host_ip: Ipv4Addr,
        port: u16,
        proto: Proto,
        listener: IpAddr,
    },
    #[error("checking host port {host_ip}:{port}/{proto}")]
    Probe {
        host_ip: Ipv4Addr,
        port: u16,
        proto: Proto,
        #[source]
        source: nix::errno::Errno,
    },
    #[error("no free host port for {host_ip}::{container_port}/{proto} in {first}-{last}")]
    NoFreePort {
        host_ip: Ipv4Addr,
        container_port: u16,
        proto: Proto,
        first: u16,
        last: u16,
    },
    #[error("reading {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Published(Box<crate::portalloc::PortAllocError>),
    #[error("unexpected line in {}: {line:?}", .path.display())]
    ProcFormat { path: PathBuf, line: String },
}
