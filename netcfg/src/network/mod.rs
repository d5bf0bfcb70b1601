//! Named networks. The default network `bridge` lives on the Linux bridge `den0` with 172.20.0.0/16
//! (gateway 172.20.0.1), like docker0; its settings can be changed in `<root>/networks/bridge/network.json`.
//! User networks (`den network create`) live in `<root>/networks/<name>/network.json`, next to their
//! leases. Their bridge is made on first use by `attach` (as podman's netavark does) and removed by
//! [`remove`].

mod create;
mod default;
mod error;
mod host;
pub mod pool;
mod remove;

use std::fs;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use create::{create, CreateRequest};
pub use default::configure_default;
pub use error::NetworkError;
/// Re-exported so that callers can parse `--subnet` without depending on ipnet.
pub use ipnet::Ipv4Net;
pub use remove::remove;

/// Linux interface names are at most 15 bytes (IFNAMSIZ - 1).
pub const IFNAME_MAX: usize = 15;
/// The default network's name.
pub const DEFAULT: &str = "bridge";
/// The default network's id, padded with zeros to 64 digits: `bridge-den0` in hex, the same on every host.
const DEFAULT_ID: &str = "6272696467652d64656e30";

/// One bridge network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    /// 64 hex digits; the first 12 name the bridge (`br-<12 hex>`) unless `--bridge` was given.
    #[serde(default)]
    pub id: String,
    pub name: String,
    pub bridge: String,
    pub subnet: Ipv4Net,
    pub gateway: Ipv4Addr,
    /// No MASQUERADE, no default route, nothing forwarded to or from other interfaces (docker's
    /// `--internal`).
    #[serde(default)]
    pub internal: bool,
}

impl Network {
    /// den's docker0: `bridge` on `den0`.
    pub fn default_bridge() -> Self {
        Network {
            id: format!("{DEFAULT_ID:0<64}"),
            name: DEFAULT.into(),
            bridge: "den0".into(),
            subnet: "172.20.0.0/16".parse().expect("constant subnet"),
            gateway: Ipv4Addr::new(172, 20, 0, 1),
            internal: false,
        }
    }

    /// Load network `name` from `<root>/networks/<name>/network.json`; `bridge` falls back to the default.
    pub fn load(root: &Path, name: &str) -> Result<Self, NetworkError> {
        check_name(name)?;
        let path = network_dir(root, name).join("network.json");
        let mut net: Network = match fs::read(&path) {
            Ok(body) => serde_json::from_slice(&body)
                .map_err(|source| NetworkError::Parse { path, source })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound && name == DEFAULT => {
                Network::default_bridge()
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(NetworkError::NotFound(name.to_string()))
            }
            Err(e) => return Err(NetworkError::io("reading", path)(e)),
        };
        if net.id.is_empty() && name == DEFAULT {
            net.id = Network::default_bridge().id;
        }
        net.validate()?;
        Ok(net)
    }

    /// Static checks: names fit, gateway inside the subnet and not its network/broadcast address.
    pub fn validate(&self) -> Result<(), NetworkError> {
        if self.bridge.len() > IFNAME_MAX {
            return Err(NetworkError::NameTooLong {
                network: self.name.clone(),
                name: self.bridge.clone(),
            });
        }
        if !crate::firewall::rules::valid_ifname(&self.bridge) {
            return Err(NetworkError::InvalidBridge {
                network: self.name.clone(),
                name: self.bridge.clone(),
            });
        }
        let gw = self.gateway;
        if !self.subnet.contains(&gw)
            || gw == self.subnet.network()
            || gw == self.subnet.broadcast()
        {
            return Err(NetworkError::GatewayOutside {
                network: self.name.clone(),
                gateway: gw,
                subnet: self.subnet,
            });
        }
        Ok(())
    }

    /// The first 12 hex digits of the id, as `network ls` shows it.
    pub fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(12)]
    }

    /// The gateway address with the subnet's prefix, as it is set on the bridge.
    pub fn gateway_net(&self) -> Ipv4Net {
        Ipv4Net::new(self.gateway, self.subnet.prefix_len()).expect("prefix from a valid subnet")
    }

    /// Refuse a subnet that overlaps a route the host already has on another interface.
    pub fn check_overlap(&self, routes: &[(Ipv4Net, u32)]) -> Result<(), NetworkError> {
        for (route, _) in routes {
            if route.prefix_len() > 0 && pool::overlaps(route, &self.subnet) {
                return Err(NetworkError::Overlap {
                    network: self.name.clone(),
                    subnet: self.subnet,
                    route: *route,
                });
            }
        }
        Ok(())
    }
}

pub fn network_dir(root: &Path, name: &str) -> PathBuf {
    root.join("networks").join(name)
}

/// Network names: like container names, `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, at most 64 characters (so a name
/// is always one plain path component and never looks like `container:NAME`).
pub fn check_name(name: &str) -> Result<(), NetworkError> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        && name.len() <= 64;
    if ok {
        Ok(())
    } else {
        Err(NetworkError::InvalidName(name.to_string()))
    }
}

/// Every network of this state root: `bridge` (always) and each directory holding a `network.json`,
/// sorted by name. A network file that cannot be read or parsed is an error naming it.
pub fn list(root: &Path) -> Result<Vec<Network>, NetworkError> {
    let dir = root.join("networks");
    let mut names = vec![DEFAULT.to_string()];
    match fs::read_dir(&dir) {
        Ok(entries) => {
            for e in entries {
                let e = e.map_err(NetworkError::io("listing", &dir))?;
                let name = e.file_name().to_string_lossy().into_owned();
                if name != DEFAULT
                    && check_name(&name).is_ok()
                    && e.path().join("network.json").exists()
                {
                    names.push(name);
                }
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(NetworkError::io("listing", &dir)(e)),
    }
    names.sort();
    names.iter().map(|n| Network::load(root, n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        let n = Network::default_bridge();
        n.validate().unwrap();
        assert_eq!(n.id.len(), 64);
        assert!(n.id.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn long_bridge_name_is_refused() {
        let mut n = Network::default_bridge();
        n.bridge = "a-very-long-bridge".into();
        assert!(n
            .validate()
            .unwrap_err()
            .to_string()
            .contains("longer than 15"));
    }

    #[test]
    fn names_are_one_plain_path_component() {
        for good in ["a", "net-1", "A.b_c", &"x".repeat(64)] {
            check_name(good).unwrap();
        }
        for bad in ["", "..", ".a", "a/b", "container:x", "a b", &"x".repeat(65)] {
            assert!(
                matches!(check_name(bad), Err(NetworkError::InvalidName(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn overlap_with_host_route() {
        let n = Network::default_bridge();
        let clash = vec![("172.20.5.0/24".parse().unwrap(), 2)];
        assert!(matches!(
            n.check_overlap(&clash),
            Err(NetworkError::Overlap { .. })
        ));
        let fine = vec![
            ("10.250.0.0/24".parse().unwrap(), 2),
            ("0.0.0.0/0".parse().unwrap(), 2),
        ];
        n.check_overlap(&fine).unwrap();
    }
}
