//! IP address management: the leases of one network live in `<state root>/networks/<network>/leases.json`,
//! read and rewritten ([`crate::jsonfile`]) under the [`NetLock`], which every function takes as proof.
//!
//! Allocation is sequential like docker's: the lowest free address after the last one handed out, wrapping
//! around, so an address just released is not handed out again at once. The network address, the gateway
//! and the broadcast address are never leased.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::jsonfile::{self, JsonFileError};
use crate::lock::NetLock;

/// A failed IPAM operation.
#[derive(Debug, thiserror::Error)]
pub enum IpamError {
    #[error(
        "IPAM under {wanted} needs that state root's network lock, but the lock held is for {held}"
    )]
    WrongLock { held: PathBuf, wanted: PathBuf },
    #[error("invalid network name {0:?}")]
    InvalidNetworkName(String),
    #[error("invalid lease owner {0:?}: a container id is needed")]
    InvalidOwner(String),
    #[error("gateway {gateway} is outside network {network}'s subnet {subnet}")]
    GatewayOutside {
        network: String,
        gateway: Ipv4Addr,
        subnet: Ipv4Net,
    },
    #[error("--ip {wanted} is outside network {network}'s subnet {subnet}")]
    OutsideSubnet {
        network: String,
        wanted: Ipv4Addr,
        subnet: Ipv4Net,
    },
    #[error("--ip {wanted} is network {network}'s {role} and cannot be given to a container")]
    Reserved {
        network: String,
        wanted: Ipv4Addr,
        role: &'static str,
    },
    #[error("--ip {wanted} is already in use by container {owner}")]
    InUse { wanted: Ipv4Addr, owner: String },
    #[error("network {network} ({subnet}): no free address left")]
    Exhausted { network: String, subnet: Ipv4Net },
    #[error("container {owner} already holds {address} on network {network}")]
    AlreadyLeased {
        network: String,
        owner: String,
        address: Ipv4Addr,
    },
    #[error(transparent)]
    File(#[from] JsonFileError),
}

/// The on-disk form: `{"last": "172.20.0.3", "leases": {"172.20.0.2": "<container id>", ...}}`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct LeaseFile {
    /// The address handed out last by sequential allocation; the next search starts after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last: Option<Ipv4Addr>,
    #[serde(default)]
    leases: BTreeMap<Ipv4Addr, String>,
}

/// Leases an address of `subnet` to `owner` (a container id): `wanted` if given and free, else the next
/// free one. An owner that already holds a lease on this network gets an error, not a second address.
pub fn allocate(
    lock: &NetLock,
    state_root: &Path,
    network: &str,
    subnet: Ipv4Net,
    gateway: Ipv4Addr,
    owner: &str,
    wanted: Option<Ipv4Addr>,
) -> Result<Ipv4Addr, IpamError> {
    let path = leases_path(lock, state_root, network)?;
    if owner.is_empty() || owner.contains('\n') {
        return Err(IpamError::InvalidOwner(owner.into()));
    }
    let subnet = subnet.trunc();
    if !subnet.contains(&gateway) {
        return Err(IpamError::GatewayOutside {
            network: network.into(),
            gateway,
            subnet,
        });
    }
    let mut file = load(&path)?;
    if let Some((address, _)) = file.leases.iter().find(|(_, o)| o.as_str() == owner) {
        return Err(IpamError::AlreadyLeased {
            network: network.into(),
            owner: owner.into(),
            address: *address,
        });
    }
    let hosts = Hosts::of(subnet);
    let address = match wanted {
        Some(wanted) => check_wanted(&file, network, subnet, gateway, wanted)?,
        None => {
            let address = hosts
                .next_free(file.last, |ip| {
                    ip == gateway || file.leases.contains_key(&ip)
                })
                .ok_or_else(|| IpamError::Exhausted {
                    network: network.into(),
                    subnet,
                })?;
            file.last = Some(address);
            address
        }
    };
    file.leases.insert(address, owner.into());
    save(&path, &file)?;
    Ok(address)
}

/// Releases the lease `owner` holds on `network`; returns the address, or `None` if it held none.
pub fn release(
    lock: &NetLock,
    state_root: &Path,
    network: &str,
    owner: &str,
) -> Result<Option<Ipv4Addr>, IpamError> {
    let path = leases_path(lock, state_root, network)?;
    let mut file = load(&path)?;
    let Some(address) = file
        .leases
        .iter()
        .find(|(_, o)| o.as_str() == owner)
        .map(|(a, _)| *a)
    else {
        return Ok(None);
    };
    file.leases.remove(&address);
    save(&path, &file)?;
    Ok(Some(address))
}

/// The current leases of `network`: address -> owner.
pub fn leases(
    lock: &NetLock,
    state_root: &Path,
    network: &str,
) -> Result<BTreeMap<Ipv4Addr, String>, IpamError> {
    Ok(load(&leases_path(lock, state_root, network)?)?.leases)
}

fn check_wanted(
    file: &LeaseFile,
    network: &str,
    subnet: Ipv4Net,
    gateway: Ipv4Addr,
    wanted: Ipv4Addr,
) -> Result<Ipv4Addr, IpamError> {
    if !subnet.contains(&wanted) {
        return Err(IpamError::OutsideSubnet {
            network: network.into(),
            wanted,
            subnet,
        });
    }
    let role = if wanted == gateway {
        Some("gateway")
    } else if wanted == subnet.network() {
        Some("network address")
    } else if wanted == subnet.broadcast() {
        Some("broadcast address")
    } else {
        None
    };
    if let Some(role) = role {
        return Err(IpamError::Reserved {
            network: network.into(),
            wanted,
            role,
        });
    }
    if let Some(owner) = file.leases.get(&wanted) {
        return Err(IpamError::InUse {
            wanted,
            owner: owner.clone(),
        });
    }
    Ok(wanted)
}

/// The leasable range of a subnet: everything but the network and broadcast addresses (empty for /31, /32).
struct Hosts {
    first: u32,
    last: u32,
}

impl Hosts {
    fn of(subnet: Ipv4Net) -> Self {
        let network = u32::from(subnet.network());
        let broadcast = u32::from(subnet.broadcast());
        if broadcast - network < 2 {
            // No host addresses: make the range empty (first > last).
            return Self { first: 1, last: 0 };
        }
        Self {
            first: network + 1,
            last: broadcast - 1,
        }
    }

    fn len(&self) -> u64 {
        if self.first > self.last {
            0
        } else {
            u64::from(self.last - self.first) + 1
        }
    }

    fn contains(&self, ip: u32) -> bool {
        (self.first..=self.last).contains(&ip)
    }

    /// The first address after `after` (wrapping; from the start if `after` is outside) that `taken` rejects
    /// not. Visits at most one more address than `taken` accepts, so /8 subnets are no slower than /24 ones.
    fn next_free(
        &self,
        after: Option<Ipv4Addr>,
        taken: impl Fn(Ipv4Addr) -> bool,
    ) -> Option<Ipv4Addr> {
        let len = self.len();
        let start = match after.map(u32::from) {
            Some(after) if self.contains(after) => u64::from(after - self.first) + 1,
            _ => 0,
        };
        (0..len)
            .map(|step| Ipv4Addr::from(self.first + ((start + step) % len) as u32))
            .find(|ip| !taken(*ip))
    }
}

/// `<state root>/networks/<network>/leases.json`, after checking the lock is this root's and the network name
/// is a single plain path component.
fn leases_path(lock: &NetLock, state_root: &Path, network: &str) -> Result<PathBuf, IpamError> {
    if lock.state_root() != state_root {
        return Err(IpamError::WrongLock {
            held: lock.state_root().to_owned(),
            wanted: state_root.to_owned(),
        });
    }
    let plain = !network.is_empty()
        && network != "."
        && network != ".."
        && !network.contains(['/', '\0', '\n'])
        && network.len() <= 255;
    if !plain {
        return Err(IpamError::InvalidNetworkName(network.into()));
    }
    Ok(state_root
        .join("networks")
        .join(network)
        .join("leases.json"))
}

fn load(path: &Path) -> Result<LeaseFile, IpamError> {
    Ok(jsonfile::load("leases", path)?)
}

fn save(path: &Path, file: &LeaseFile) -> Result<(), IpamError> {
    Ok(jsonfile::save("leases", path, file)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn host_ranges_exclude_network_and_broadcast() {
        assert_eq!(Hosts::of(net("10.0.0.0/30")).len(), 2);
        assert_eq!(Hosts::of(net("10.0.0.0/24")).len(), 254);
        assert_eq!(Hosts::of(net("10.0.0.0/8")).len(), (1 << 24) - 2);
        assert_eq!(Hosts::of(net("10.0.0.0/31")).len(), 0);
        assert_eq!(Hosts::of(net("10.0.0.0/32")).len(), 0);
        assert_eq!(Hosts::of(net("0.0.0.0/0")).len(), (1 << 32) - 2);
    }

    #[test]
    fn next_free_wraps_after_the_last() {
        let hosts = Hosts::of(net("10.0.0.0/29")); // .1 ..= .6
        let last = Some(Ipv4Addr::new(10, 0, 0, 6));
        assert_eq!(
            hosts.next_free(last, |_| false),
            Some(Ipv4Addr::new(10, 0, 0, 1))
        );
        let taken = |ip: Ipv4Addr| ip.octets()[3] <= 4;
        assert_eq!(
            hosts.next_free(last, taken),
            Some(Ipv4Addr::new(10, 0, 0, 5))
        );
        assert_eq!(hosts.next_free(None, |_| true), None);
    }
}

#[cfg(test)]
#[path = "ipam_tests.rs"]
mod on_disk;
