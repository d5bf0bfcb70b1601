//! `den network rm`: refused for the default network and while any container holds a lease on it;
//! otherwise its firewall elements, its bridge (with the bridge's address, routes and sysctls) and its
//! directory go, under the network lock so that no `attach` can lease an address on it meanwhile.

use std::fs;
use std::path::Path;

use super::host::{block_on, delete_bridge};
use super::{network_dir, Network, NetworkError, DEFAULT};
use crate::firewall::Firewall;
use crate::ipam;
use crate::lab::uplink;
use crate::lock::NetLock;

/// Removes network `name` and returns what it was. The directory is removed only once the firewall
/// elements and the bridge are gone, so a failed removal can be retried. Must not be called inside a
/// tokio runtime.
pub fn remove(root: &Path, name: &str) -> Result<Network, NetworkError> {
    if name == DEFAULT {
        return Err(NetworkError::Builtin(name.to_string()));
    }
    let lock = NetLock::acquire(root)?;
    let net = Network::load(root, name)?;
    let mut leases = ipam::leases(&lock, root, name)?;
    // An uplink network keeps its LAN's router out of IPAM with a lease of its own.
    leases.retain(|_, owner| !owner.starts_with(uplink::RESERVED));
    if !leases.is_empty() {
        return Err(NetworkError::InUse {
            network: name.to_string(),
            containers: leases
                .values()
                .map(|id| id.chars().take(12).collect())
                .collect(),
        });
    }
    let mut errors = Vec::new();
    if let Err(e) =
        Firewall::new().and_then(|mut fw| fw.remove_network(&net.name, &net.bridge, net.subnet))
    {
        errors.push(e.into());
    }
    match block_on(name, delete_bridge(&net.bridge)) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => errors.push(NetworkError::netlink(name)(e)),
        Err(e) => errors.push(e),
    }
    if errors.is_empty() {
        // An uplink network: the uplink gets its addresses and routes back.
        if let Err(e) = uplink::give_back(&network_dir(root, name)) {
            errors.push(NetworkError::Uplink {
                network: name.to_string(),
                source: Box::new(e),
            });
        }
    }
    if errors.is_empty() {
        let dir = network_dir(root, name);
        fs::remove_dir_all(&dir).map_err(NetworkError::io("removing", &dir))?;
        drop(lock);
        Ok(net)
    } else {
        Err(NetworkError::Remove {
            network: name.to_string(),
            errors,
        })
    }
}
