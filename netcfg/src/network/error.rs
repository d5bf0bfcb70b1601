//! Errors of named networks: loading, creating, listing and removing them.

use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use ipnet::Ipv4Net;

use crate::firewall::FirewallError;
use crate::ipam::IpamError;
use crate::lock::LockError;
use crate::netlink::NetlinkError;

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("network {0:?} not found")]
    NotFound(String),
    #[error("invalid network name {0:?}: use [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 64 characters")]
    InvalidName(String),
    #[error("network name {0:?} is reserved (bridge, host and none are built in)")]
    Reserved(String),
    #[error("network name {0:?} is already in use")]
    NameInUse(String),
    #[error("network {network}: interface name {name:?} is longer than 15 characters")]
    NameTooLong { network: String, name: String },
    #[error("network {network}: invalid bridge name {name:?} (use A-Z a-z 0-9 _ . -)")]
    InvalidBridge { network: String, name: String },
    #[error("network {network}: bridge {bridge} is already used by network {other}")]
    BridgeInUse {
        network: String,
        bridge: String,
        other: String,
    },
    #[error("network {network}: an interface named {bridge} already exists on the host")]
    BridgeExists { network: String, bridge: String },
    #[error("network {network}: gateway {gateway} is outside its subnet {subnet}")]
    GatewayOutside {
        network: String,
        gateway: Ipv4Addr,
        subnet: Ipv4Net,
    },
    #[error("network {network}: --gateway {gateway} needs --subnet")]
    GatewayWithoutSubnet { network: String, gateway: Ipv4Addr },
    #[error("network {network}: subnet {subnet} has host bits set (did you mean {}?)", .subnet.trunc())]
    HostBits { network: String, subnet: Ipv4Net },
    #[error("network {network}: subnet {subnet} is too small (a gateway and a container need /30 or larger)")]
    TooSmall { network: String, subnet: Ipv4Net },
    #[error("network {network}: subnet {subnet} overlaps the host route {route}")]
    Overlap {
        network: String,
        subnet: Ipv4Net,
        route: Ipv4Net,
    },
    #[error("network {network}: subnet {subnet} overlaps network {other} ({other_subnet})")]
    OverlapNetwork {
        network: String,
        subnet: Ipv4Net,
        other: String,
        other_subnet: Ipv4Net,
    },
    #[error("network {network}: no free subnet left in den's pool; give one with --subnet")]
    PoolExhausted { network: String },
    #[error("network {0} is den's default network and cannot be removed")]
    Builtin(String),
    /// Container ids (12 characters) that hold a lease on the network.
    #[error("network {network} is in use by container {}", .containers.join(", "))]
    InUse {
        network: String,
        containers: Vec<String>,
    },
    #[error("network {network}")]
    Netlink {
        network: String,
        #[source]
        source: Box<NetlinkError>,
    },
    #[error(transparent)]
    Firewall(Box<FirewallError>),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Ipam(#[from] IpamError),
    #[error("network {network}")]
    Uplink {
        network: String,
        #[source]
        source: Box<crate::lab::LabError>,
    },
    #[error("network {0}: --subnet and --gateway cannot be given with --uplink: the network takes the uplink's subnet and the host's address on it")]
    UplinkSubnet(String),
    #[error("network {network}: starting a tokio runtime")]
    Runtime {
        network: String,
        #[source]
        source: io::Error,
    },
    #[error("{what} {path}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("network file {path}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// What `remove` could not undo; the network's directory is kept so that it can be retried.
    #[error("removing network {network}: {}", .errors.iter().map(|e| crate::one_line(e)).collect::<Vec<_>>().join("; "))]
    Remove {
        network: String,
        errors: Vec<NetworkError>,
    },
}

impl From<FirewallError> for NetworkError {
    fn from(e: FirewallError) -> Self {
        NetworkError::Firewall(Box::new(e))
    }
}

impl NetworkError {
    pub(crate) fn netlink(network: &str) -> impl FnOnce(NetlinkError) -> Self + '_ {
        move |source| NetworkError::Netlink {
            network: network.to_string(),
            source: Box::new(source),
        }
    }

    pub(crate) fn io(
        what: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| NetworkError::Io { what, path, source }
    }
}
