//! Named networks. The default network `bridge` lives on the Linux bridge `den0` with 172.20.0.0/16
//! (gateway 172.20.0.1), like docker0; its settings can be changed in `<root>/networks/bridge/network.json`.

use std::fs;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

/// Linux interface names are at most 15 bytes (IFNAMSIZ - 1).
pub const IFNAME_MAX: usize = 15;

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("network {0:?} not found")]
    NotFound(String),
    #[error("network {network}: interface name {name:?} is longer than 15 characters")]
    NameTooLong { network: String, name: String },
    #[error("network {network}: gateway {gateway} is outside its subnet {subnet}")]
    GatewayOutside {
        network: String,
        gateway: Ipv4Addr,
        subnet: Ipv4Net,
    },
    #[error("network {network}: subnet {subnet} overlaps the host route {route}")]
    Overlap {
        network: String,
        subnet: Ipv4Net,
        route: Ipv4Net,
    },
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("network file {path}: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// One bridge network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub name: String,
    pub bridge: String,
    pub subnet: Ipv4Net,
    pub gateway: Ipv4Addr,
    /// No MASQUERADE and no default route (docker's `--internal`).
    #[serde(default)]
    pub internal: bool,
}

impl Network {
    /// den's docker0: `bridge` on `den0`.
    pub fn default_bridge() -> Self {
        Network {
            name: "bridge".into(),
            bridge: "den0".into(),
            subnet: "172.20.0.0/16".parse().expect("constant subnet"),
            gateway: Ipv4Addr::new(172, 20, 0, 1),
            internal: false,
        }
    }

    /// Load network `name` from `<root>/networks/<name>/network.json`; `bridge` falls back to the default.
    pub fn load(root: &Path, name: &str) -> Result<Self, NetworkError> {
        let path = network_dir(root, name).join("network.json");
        let net = match fs::read(&path) {
            Ok(body) => serde_json::from_slice(&body)
                .map_err(|source| NetworkError::Parse { path, source })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound && name == "bridge" => {
                Network::default_bridge()
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(NetworkError::NotFound(name.to_string()))
            }
            Err(source) => {
                return Err(NetworkError::Io {
                    what: "reading",
                    path,
                    source,
                })
            }
        };
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

    /// The gateway address with the subnet's prefix, as it is set on the bridge.
    pub fn gateway_net(&self) -> Ipv4Net {
        Ipv4Net::new(self.gateway, self.subnet.prefix_len()).expect("prefix from a valid subnet")
    }

    /// Refuse a subnet that overlaps a route the host already has on another interface.
    pub fn check_overlap(&self, routes: &[(Ipv4Net, u32)]) -> Result<(), NetworkError> {
        for (route, _) in routes {
            if route.prefix_len() > 0
                && (route.contains(&self.subnet.network())
                    || self.subnet.contains(&route.network()))
            {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        Network::default_bridge().validate().unwrap();
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
