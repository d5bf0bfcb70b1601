//! What planning, attaching or detaching a container's network can fail with.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use crate::firewall::FirewallError;
use crate::ipam::IpamError;
use crate::lock::LockError;
use crate::netlink::NetlinkError;
use crate::network::NetworkError;
use crate::portalloc::PortAllocError;
use crate::ports::PortError;
use crate::sysctl::SysctlError;

#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error(transparent)]
    Network(#[from] NetworkError),
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    #[error(transparent)]
    Firewall(#[from] FirewallError),
    #[error(transparent)]
    Ipam(#[from] IpamError),
    #[error(transparent)]
    Ports(#[from] PortError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    PortAlloc(#[from] PortAllocError),
    #[error(transparent)]
    Sysctl(#[from] SysctlError),
    #[error("opening the container's network namespace {}", path.display())]
    Netns {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("starting a tokio runtime for netlink")]
    Runtime(#[source] std::io::Error),
    #[error("the thread deleting the host veth panicked")]
    VethThread,
    #[error("the container's network namespace has no {0} link")]
    MissingLink(String),
    #[error("{} is not a network namespace", path.display())]
    NotNetns { path: PathBuf },
    #[error("interface name {name:?} {reason}")]
    InvalidIfname { name: String, reason: &'static str },
    #[error("{0}")]
    CheckFailed(String),
    #[error("--ip {ip} is outside network {network}'s subnet {subnet}")]
    IpOutside {
        ip: Ipv4Addr,
        network: String,
        subnet: ipnet::Ipv4Net,
    },
    #[error("--ip {ip} is network {network}'s {role} and cannot be given to a container")]
    IpReserved {
        ip: Ipv4Addr,
        network: String,
        role: Reserved,
    },
    #[error("-p cannot publish ports of network {0}: it is --internal (no traffic in or out)")]
    PublishInternal(String),
    #[error("network connect publishes no ports (network {0}): publish them with den run -p")]
    PublishOnConnect(String),
}

/// The addresses of a subnet no container may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    Gateway,
    NetworkAddress,
    Broadcast,
}

impl std::fmt::Display for Reserved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Reserved::Gateway => "gateway",
            Reserved::NetworkAddress => "network address",
            Reserved::Broadcast => "broadcast address",
        })
    }
}

impl AttachError {
    /// Did this fail on something another container holds (a host port, an address, the last free
    /// address)? Such a holder may be a container a killed den left behind, which gc can free.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            AttachError::Ports(PortError::AlreadyPublished { .. })
                | AttachError::Ipam(IpamError::InUse { .. } | IpamError::Exhausted { .. })
                | AttachError::Firewall(FirewallError::PortTaken { .. })
        )
    }
}
