//! IP address management: the leases of one network live in `<state root>/networks/<network>/ipam/`,
//! one record each ([`crate::records`]), changed under the [`NetLock`], which every function takes
//! as proof. A `leases.json` of an older den is converted the first time the lock is held for it.
//!
//! Allocation is sequential like docker's: the lowest free address after the last one handed out, wrapping
//! around, so an address just released is not handed out again at once. The network address, the gateway
//! and the broadcast address are never leased.

use std::collections::BTreeMap;
use std::fs;
use std::net::Ipv4Addr;

use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;

use crate::jsonfile::JsonFileError;
use crate::lock::NetLock;
use crate::records::{self, RecordError};

mod store;
use store::{Store, LEGACY};

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
    #[error(transparent)]
    Record(#[from] RecordError),
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
    network_dir(lock, state_root, network)?;
    if !records::plain_key(owner) {
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
    let store = Store::open(lock, state_root, network, true)?.expect("made when create");
    if let Some(address) = store.held_by(owner)? {
        return Err(IpamError::AlreadyLeased {
            network: network.into(),
            owner: owner.into(),
            address,
        });
    }
    if let Some(wanted) = wanted {
        check_wanted(network, subnet, gateway, wanted)?;
        if !store.claim(wanted, owner)? {
            let owner = store.leases.get(&wanted.to_string())?.unwrap_or_default();
            return Err(IpamError::InUse { wanted, owner });
        }
        return Ok(wanted);
    }
    for ip in Hosts::of(subnet).candidates(store.last()) {
        if ip != gateway && store.claim(ip, owner)? {
            store.set_last(ip)?;
            return Ok(ip);
        }
    }
    Err(IpamError::Exhausted {
        network: network.into(),
        subnet,
    })
}

/// Releases the lease `owner` holds on `network`; returns the address, or `None` if it held none.
pub fn release(
    lock: &NetLock,
    state_root: &Path,
    network: &str,
    owner: &str,
) -> Result<Option<Ipv4Addr>, IpamError> {
    if !records::plain_key(owner) {
        return Ok(None);
    }
    let Some(store) = Store::open(lock, state_root, network, false)? else {
        return Ok(None);
    };
    let held = store.held_by(owner)?;
    if let Some(ip) = held {
        store.leases.remove(&ip.to_string())?;
    }
    store.owners.remove(owner)?;
    Ok(held)
}

/// Who holds `ip` on `network`, if anyone.
pub fn holder(
    lock: &NetLock,
    state_root: &Path,
    network: &str,
    ip: Ipv4Addr,
) -> Result<Option<String>, IpamError> {
    match Store::open(lock, state_root, network, false)? {
        Some(store) => Ok(store.leases.get(&ip.to_string())?),
        None => Ok(None),
    }
}

/// The current leases of `network`: address -> owner.
pub fn leases(
    lock: &NetLock,
    state_root: &Path,
    network: &str,
) -> Result<BTreeMap<Ipv4Addr, String>, IpamError> {
    let Some(store) = Store::open(lock, state_root, network, false)? else {
        return Ok(BTreeMap::new());
    };
    Ok(store
        .leases
        .list()?
        .into_iter()
        .filter_map(|(ip, owner)| Some((ip.parse().ok()?, owner)))
        .collect())
}

/// Remove what a crash left in `network`'s store: index entries whose lease is missing or
/// another's, and a `leases.json` already converted. Returns the paths removed.
pub fn sweep_stale(
    lock: &NetLock,
    state_root: &Path,
    network: &str,
) -> Result<Vec<PathBuf>, IpamError> {
    let mut removed = Vec::new();
    let Some(store) = Store::open(lock, state_root, network, false)? else {
        return Ok(removed);
    };
    for (owner, _) in store.owners.list()? {
        if store.held_by(&owner)?.is_none() && store.owners.remove(&owner)? {
            removed.push(store.owners.dir().join(owner));
        }
    }
    let legacy = network_dir(lock, state_root, network)?.join(LEGACY);
    if fs::remove_file(&legacy).is_ok() {
        removed.push(legacy);
    }
    Ok(removed)
}

fn check_wanted(
    network: &str,
    subnet: Ipv4Net,
    gateway: Ipv4Addr,
    wanted: Ipv4Addr,
) -> Result<(), IpamError> {
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
    Ok(())
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

    /// Every address once, starting after `after` (wrapping; from the start if `after` is
    /// outside). Sequential allocation takes the first free one, so a crowded /8 costs no more
    /// than a /24 until its free addresses run out.
    fn candidates(&self, after: Option<Ipv4Addr>) -> impl Iterator<Item = Ipv4Addr> {
        let len = self.len();
        let start = match after.map(u32::from) {
            Some(after) if self.contains(after) => u64::from(after - self.first) + 1,
            _ => 0,
        };
        let first = self.first;
        (0..len).map(move |step| Ipv4Addr::from(first + ((start + step) % len) as u32))
    }
}

/// `<state root>/networks/<network>`, after checking the lock is this root's and the network name
/// is a single plain path component.
fn network_dir(lock: &NetLock, state_root: &Path, network: &str) -> Result<PathBuf, IpamError> {
    if lock.state_root() != state_root {
        return Err(IpamError::WrongLock {
            held: lock.state_root().to_owned(),
            wanted: state_root.to_owned(),
        });
    }
    if !records::plain_key(network) {
        return Err(IpamError::InvalidNetworkName(network.into()));
    }
    Ok(state_root.join("networks").join(network))
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
        let all: Vec<u8> = hosts.candidates(last).map(|ip| ip.octets()[3]).collect();
        assert_eq!(all, [1, 2, 3, 4, 5, 6]);
        let from_3: Vec<u8> = hosts
            .candidates(Some(Ipv4Addr::new(10, 0, 0, 3)))
            .map(|ip| ip.octets()[3])
            .collect();
        assert_eq!(from_3, [4, 5, 6, 1, 2, 3]);
        assert_eq!(
            hosts.candidates(Some(Ipv4Addr::new(9, 0, 0, 1))).next(),
            Some(Ipv4Addr::new(10, 0, 0, 1))
        );
    }
}

#[cfg(test)]
#[path = "ipam_tests.rs"]
pub(crate) mod on_disk;

#[cfg(test)]
#[path = "ipam_store_tests.rs"]
mod store_on_disk;
