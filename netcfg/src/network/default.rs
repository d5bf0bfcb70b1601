//! The default network's settings from den's config file (`[default-bridge]`): written to
//! `<root>/networks/bridge/network.json` (where [`Network::load`] reads them) while no container
//! holds a lease on it; with one there, the current settings stay until the network is free.

use std::path::Path;

use ipnet::Ipv4Net;

use super::create::save_new;
use super::{Network, NetworkError, DEFAULT, IFNAME_MAX};
use crate::ipam;
use crate::lock::NetLock;

/// Makes the default network use `subnet` (gateway: its first address) and bridge `bridge`, each
/// where given. Returns whether its settings changed.
pub fn configure_default(
    root: &Path,
    subnet: Option<Ipv4Net>,
    bridge: Option<&str>,
) -> Result<bool, NetworkError> {
    if subnet.is_none() && bridge.is_none() {
        return Ok(false);
    }
    let mut want = Network::default_bridge();
    if let Some(s) = subnet {
        let s = s.trunc();
        want.subnet = s;
        want.gateway = s.hosts().next().unwrap_or(s.network());
    }
    if let Some(b) = bridge {
        if b.is_empty() || b.len() > IFNAME_MAX {
            return Err(NetworkError::NameTooLong {
                network: DEFAULT.into(),
                name: b.into(),
            });
        }
        want.bridge = b.into();
    }
    let lock = NetLock::acquire(root)?;
    if Network::load(root, DEFAULT)? == want {
        return Ok(false);
    }
    if !ipam::leases(&lock, root, DEFAULT)?.is_empty() {
        return Ok(false);
    }
    save_new(root, &want)?;
    Ok(true)
}
