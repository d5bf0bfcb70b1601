//! `den network create`: validate, then pick the subnet and write `network.json`, all under the network
//! lock so that parallel creates never pick the same subnet or name. Nothing touches the kernel here:
//! the bridge and its firewall elements are made by the first `attach` (which re-makes them after a
//! reboot too), so a failed create leaves nothing but, at most, den's lock file.

use std::fs;
use std::io::{self, Read};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;

use super::host::{block_on, routes_and_link};
use super::{check_name, list, network_dir, pool, Network, NetworkError, DEFAULT, IFNAME_MAX};
use crate::firewall::rules::valid_ifname;
use crate::ipam;
use crate::lab::uplink;
use crate::lock::NetLock;

/// What `den network create [--subnet CIDR] [--gateway IP] [--internal] [--bridge NAME] NAME` asks for.
#[derive(Debug, Clone)]
pub struct CreateRequest<'a> {
    pub root: &'a Path,
    pub name: &'a str,
    pub subnet: Option<Ipv4Net>,
    pub gateway: Option<Ipv4Addr>,
    pub bridge: Option<&'a str>,
    pub internal: bool,
    /// Seed 001's bridged mode: enslave this host interface and move its addresses and routes
    /// onto the bridge (see `lab::uplink`).
    pub uplink: Option<&'a str>,
    /// Take an uplink even when it carries the host's only default route.
    pub force: bool,
}

/// Creates network `req.name` and returns it as stored. Must not be called inside a tokio runtime (it
/// runs its own for netlink).
pub fn create(req: &CreateRequest<'_>) -> Result<Network, NetworkError> {
    check_static(req)?;
    let lock = NetLock::acquire(req.root)?;
    let name = req.name;
    if network_dir(req.root, name).join("network.json").exists() {
        return Err(NetworkError::NameInUse(name.to_string()));
    }
    let others = list(req.root)?;
    let id = new_id().map_err(NetworkError::io("reading", "/dev/urandom"))?;
    let bridge = match req.bridge {
        Some(b) => b.to_string(),
        None => format!("br-{}", &id[..12]),
    };
    if let Some(other) = others.iter().find(|o| o.bridge == bridge) {
        return Err(NetworkError::BridgeInUse {
            network: name.to_string(),
            bridge,
            other: other.name.clone(),
        });
    }
    let (routes, exists) =
        block_on(name, routes_and_link(&bridge))?.map_err(NetworkError::netlink(name))?;
    if exists {
        return Err(NetworkError::BridgeExists {
            network: name.to_string(),
            bridge,
        });
    }
    let uplink_err = |e| NetworkError::Uplink {
        network: name.to_string(),
        source: Box::new(e),
    };
    let survey = match req.uplink {
        Some(_) if req.subnet.is_some() || req.gateway.is_some() => {
            return Err(NetworkError::UplinkSubnet(name.to_string()))
        }
        Some(up) => Some(uplink::survey(up, &bridge, req.force).map_err(uplink_err)?),
        None => None,
    };
    let subnet = match (&survey, req.subnet) {
        // The uplink's own prefix route is the one that overlaps: only other networks count.
        (Some(s), _) => check_free(name, s.subnet, &others, &[])?,
        (None, Some(subnet)) => check_free(name, subnet, &others, &routes)?,
        (None, None) => {
            let mut taken: Vec<Ipv4Net> = others.iter().map(|o| o.subnet).collect();
            taken.extend(&routes);
            pool::pick(&taken).ok_or_else(|| NetworkError::PoolExhausted {
                network: name.to_string(),
            })?
        }
    };
    let host = survey.as_ref().map(|s| s.host);
    let gateway = match host.or(req.gateway).or_else(|| pool::first_host(subnet)) {
        Some(gw) => gw,
        None => {
            return Err(NetworkError::TooSmall {
                network: name.to_string(),
                subnet,
            })
        }
    };
    let net = Network {
        id,
        name: name.to_string(),
        bridge,
        subnet,
        gateway,
        internal: req.internal,
    };
    net.validate()?;
    save_new(req.root, &net)?;
    if let Some(s) = &survey {
        let dir = network_dir(req.root, name);
        let taken = uplink::take(&dir, s).map_err(uplink_err).and_then(|()| {
            for router in &s.routers {
                let owner = format!("{}:{router}", uplink::RESERVED);
                ipam::allocate(
                    &lock,
                    req.root,
                    name,
                    subnet,
                    gateway,
                    &owner,
                    Some(*router),
                )?;
            }
            Ok(())
        });
        if let Err(e) = taken {
            let _ = uplink::give_back(&dir);
            let _ = fs::remove_dir_all(&dir);
            return Err(e);
        }
    }
    drop(lock);
    Ok(net)
}

/// The checks that need nothing but the request.
fn check_static(req: &CreateRequest<'_>) -> Result<(), NetworkError> {
    let name = req.name;
    check_name(name)?;
    if matches!(name, DEFAULT | "host" | "none") || crate::lab::Mode::parse(name).is_some() {
        return Err(NetworkError::Reserved(name.to_string()));
    }
    if let Some(b) = req.bridge {
        if b.len() > IFNAME_MAX {
            return Err(NetworkError::NameTooLong {
                network: name.to_string(),
                name: b.to_string(),
            });
        }
        if !valid_ifname(b) {
            return Err(NetworkError::InvalidBridge {
                network: name.to_string(),
                name: b.to_string(),
            });
        }
    }
    match (req.subnet, req.gateway) {
        (None, Some(gateway)) => Err(NetworkError::GatewayWithoutSubnet {
            network: name.to_string(),
            gateway,
        }),
        (Some(subnet), _) if subnet != subnet.trunc() => Err(NetworkError::HostBits {
            network: name.to_string(),
            subnet,
        }),
        (Some(subnet), _) if pool::first_host(subnet).is_none() => Err(NetworkError::TooSmall {
            network: name.to_string(),
            subnet,
        }),
        (Some(subnet), Some(gateway)) => Network {
            id: String::new(),
            name: name.to_string(),
            bridge: "den0".into(),
            subnet,
            gateway,
            internal: req.internal,
        }
        .validate(),
        _ => Ok(()),
    }
}

/// `subnet` if it overlaps neither another den network nor a host route.
fn check_free(
    name: &str,
    subnet: Ipv4Net,
    others: &[Network],
    routes: &[Ipv4Net],
) -> Result<Ipv4Net, NetworkError> {
    if let Some(o) = others.iter().find(|o| pool::overlaps(&o.subnet, &subnet)) {
        return Err(NetworkError::OverlapNetwork {
            network: name.to_string(),
            subnet,
            other: o.name.clone(),
            other_subnet: o.subnet,
        });
    }
    if let Some(route) = routes.iter().find(|r| pool::overlaps(r, &subnet)) {
        return Err(NetworkError::Overlap {
            network: name.to_string(),
            subnet,
            route: *route,
        });
    }
    Ok(subnet)
}

/// Writes `<root>/networks/<name>/network.json` (temp file + rename). On failure whatever this call made
/// is removed again.
pub(super) fn save_new(root: &Path, net: &Network) -> Result<(), NetworkError> {
    let dir = network_dir(root, &net.name);
    let made_dir = !dir.exists();
    let mut undo = Undo {
        dir: made_dir.then(|| dir.clone()),
        tmp: None,
    };
    fs::create_dir_all(&dir).map_err(NetworkError::io("creating", &dir))?;
    let tmp = dir.join(".network.json.tmp");
    let path = dir.join("network.json");
    let mut body = serde_json::to_vec_pretty(net).expect("a network serialises");
    body.push(b'\n');
    undo.tmp = Some(tmp.clone());
    fs::write(&tmp, body).map_err(NetworkError::io("writing", &tmp))?;
    crate::fault::point("network-before-rename");
    fs::rename(&tmp, &path).map_err(NetworkError::io("renaming", &path))?;
    undo.tmp = None;
    undo.dir = None;
    Ok(())
}

/// Removes a half-written network file and the directory made for it, unless disarmed.
struct Undo {
    dir: Option<PathBuf>,
    tmp: Option<PathBuf>,
}

impl Drop for Undo {
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            let _ = fs::remove_file(tmp);
        }
        if let Some(dir) = self.dir.take() {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// A new 64-hex-digit network id from the kernel's random source.
fn new_id() -> io::Result<String> {
    let mut bytes = [0u8; 32];
    fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(name: &'a str) -> CreateRequest<'a> {
        CreateRequest {
            root: Path::new("/nonexistent/den-test-root"),
            name,
            subnet: None,
            gateway: None,
            bridge: None,
            internal: false,
            uplink: None,
            force: false,
        }
    }

    #[test]
    fn static_checks_name_the_culprit() {
        let bad = |r: CreateRequest<'_>| check_static(&r).unwrap_err().to_string();
        assert!(bad(req("a/b")).contains("\"a/b\""));
        assert!(bad(req("bridge")).contains("reserved"));
        assert!(bad(req("hostonly")).contains("reserved"));
        assert!(bad(req("isolated")).contains("reserved"));
        assert!(bad(CreateRequest {
            bridge: Some("a-bridge-name-too-long"),
            ..req("n")
        })
        .contains("longer than 15"));
        assert!(bad(CreateRequest {
            bridge: Some("br\"x"),
            ..req("n")
        })
        .contains("invalid bridge name"));
        let gw = Some(Ipv4Addr::new(10, 9, 0, 1));
        assert!(bad(CreateRequest {
            gateway: gw,
            ..req("n")
        })
        .contains("needs --subnet"));
        assert!(bad(CreateRequest {
            subnet: Some("10.8.0.0/24".parse().unwrap()),
            gateway: gw,
            ..req("n")
        })
        .contains("outside its subnet 10.8.0.0/24"));
        assert!(bad(CreateRequest {
            subnet: Some("10.8.0.1/24".parse().unwrap()),
            ..req("n")
        })
        .contains("did you mean 10.8.0.0/24"));
        assert!(bad(CreateRequest {
            subnet: Some("10.8.0.0/31".parse().unwrap()),
            ..req("n")
        })
        .contains("too small"));
        check_static(&CreateRequest {
            subnet: Some("10.8.0.0/24".parse().unwrap()),
            gateway: Some(Ipv4Addr::new(10, 8, 0, 254)),
            bridge: Some("br-mine"),
            ..req("n")
        })
        .unwrap();
    }

    #[test]
    fn taken_subnets_are_refused_naming_the_holder() {
        let others = [Network::default_bridge()];
        let e = check_free("n", "172.20.3.0/24".parse().unwrap(), &others, &[]).unwrap_err();
        assert!(e.to_string().contains("overlaps network bridge"), "{e}");
        let routes = ["10.250.0.0/24".parse().unwrap()];
        let e = check_free("n", "10.0.0.0/8".parse().unwrap(), &others, &routes).unwrap_err();
        assert!(e.to_string().contains("host route 10.250.0.0/24"), "{e}");
        check_free("n", "10.251.0.0/24".parse().unwrap(), &others, &routes).unwrap();
    }
}
