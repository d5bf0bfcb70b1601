//! Network-side garbage collection: what containers that are gone left in den's networks.
//!
//! Every per-container object `attach` makes carries its owner, recorded before (or as) it is
//! created, so it can be found again with no other record, even after a `kill -9` at any step:
//! - a lease: `leases.json` maps the address to the full container id;
//! - a host-port reservation: `networks/ports.json` records the full container id;
//! - a published-map element: its comment `den: container NAME (ID12) -p SPEC`;
//! - the host veth: its name, `veth` + the first 11 hex digits of the id ([`host_veth_name`]).
//!
//! [`sweep`] removes each one whose owner is a container of this state root that is not live
//! ([`Owners`]; netcfg knows nothing of container state: the runtime decides). The bridge, the
//! network's set elements and den's table are shared by all containers and are never swept.
//! Objects whose owner cannot be read (no den comment, a veth not named by den or not on a den
//! bridge) or is no container of this root (another state root sharing the netns) are left
//! alone: nothing else is removed.
//!
//! The caller holds the [`NetLock`] and must build the live set while holding it: `attach` makes
//! every one of these objects under that lock, so none can appear for a container the set missed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use crate::firewall::{ContainerRules, Firewall, FirewallError};
use crate::ipam::{self, IpamError};
use crate::lock::NetLock;
use crate::netlink::{random_veth_name, Netlink, NetlinkError};
use crate::network::{network_dir, Network, NetworkError};
use crate::portalloc::{self, PortAllocError};
use crate::ports::PortMapping;

/// How many hex digits of the container id a host veth name carries (`veth` + 11 = 15 bytes).
pub const VETH_ID_DIGITS: usize = 11;

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("listing networks in {path}: {source}")]
    ListNetworks {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Network(#[from] NetworkError),
    #[error("network {network}: {source}")]
    Ipam {
        network: String,
        #[source]
        source: IpamError,
    },
    #[error(transparent)]
    Ports(#[from] PortAllocError),
    #[error(transparent)]
    Firewall(#[from] FirewallError),
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    #[error("removing {path}: {source}")]
    RemoveFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A set of container ids (full), matched by prefix.
#[derive(Debug, Default, Clone)]
pub struct IdSet {
    ids: BTreeSet<String>,
}

impl IdSet {
    pub fn new(ids: impl IntoIterator<Item = String>) -> Self {
        IdSet {
            ids: ids.into_iter().collect(),
        }
    }

    /// Is some id `owner`, or does one start with it (the 11 or 12 digits kept in names and
    /// comments)?
    pub fn has(&self, owner: &str) -> bool {
        self.ids
            .range(owner.to_string()..)
            .next()
            .is_some_and(|id| id.starts_with(owner))
    }
}

/// Whose objects [`sweep`] may remove: those of a `known` container of this state root (it has a
/// directory there; lease owners are added by the sweep) that is not `live`.
#[derive(Debug, Default, Clone)]
pub struct Owners {
    /// Containers that are, or may be, running or being set up: never touched.
    pub live: IdSet,
    /// Every container of this state root.
    pub known: IdSet,
}

impl Owners {
    fn dead(&self, owner: &str) -> bool {
        self.known.has(owner) && !self.live.has(owner)
    }
}

/// One object [`sweep`] removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Swept {
    Element {
        mapping: PortMapping,
        container_ip: Ipv4Addr,
        comment: String,
    },
    Veth {
        name: String,
        bridge: String,
    },
    Lease {
        network: String,
        ip: Ipv4Addr,
        owner: String,
    },
    Port {
        mapping: PortMapping,
        owner: String,
    },
    TempFile(PathBuf),
}

impl fmt::Display for Swept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Swept::Element {
                mapping,
                container_ip,
                comment,
            } => write!(
                f,
                "removed nft element {mapping} -> {container_ip} ({comment})"
            ),
            Swept::Veth { name, bridge } => write!(f, "removed veth {name} on {bridge}"),
            Swept::Lease { network, ip, owner } => {
                let short: String = owner.chars().take(12).collect();
                write!(
                    f,
                    "released lease {ip} on network {network} (container {short})"
                )
            }
            Swept::Port { mapping, owner } => {
                let short: String = owner.chars().take(12).collect();
                write!(f, "released host port {mapping} (container {short})")
            }
            Swept::TempFile(path) => write!(f, "removed {}", path.display()),
        }
    }
}

/// What [`sweep`] did; it goes on past each failure.
#[derive(Debug, Default)]
pub struct Sweep {
    pub removed: Vec<Swept>,
    pub failed: Vec<SweepError>,
}

/// The host-side veth name of a container: `veth` + the first 11 hex digits of its id, so the
/// link names its owner from the moment it exists. An id that is not hex (never one den makes)
/// gets a random name, which [`sweep`] never claims.
pub fn host_veth_name(container_id: &str) -> String {
    match container_id.get(..VETH_ID_DIGITS) {
        Some(prefix) if is_lower_hex(prefix) => format!("veth{prefix}"),
        _ => random_veth_name(),
    }
}

/// The id prefix a host veth name made by [`host_veth_name`] carries.
pub fn veth_owner(name: &str) -> Option<&str> {
    name.strip_prefix("veth")
        .filter(|p| p.len() == VETH_ID_DIGITS && is_lower_hex(p))
}

/// The 12-digit id in a published-map element's comment (`den: container NAME (ID12) -p SPEC`).
/// Names never hold parentheses, so the last ` (` before `) -p ` opens the id.
pub fn element_owner(comment: &str) -> Option<&str> {
    let head = comment.strip_prefix("den: container ")?;
    let head = &head[..head.find(") -p ")?];
    let id = &head[head.rfind(" (")? + 2..];
    (id.len() == 12 && is_lower_hex(id)).then_some(id)
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Remove every published-map element and host veth (on a den bridge) whose owner is dead (see
/// [`Owners`]), then every host-port reservation and lease whose owner is not live (the records
/// last, as `attach` makes them first), and the stale temp files of those records. Must run
/// inside a tokio runtime, on the thread (netns) den's firewall lives in.
pub async fn sweep(lock: &NetLock, owners: &Owners) -> Sweep {
    let mut out = Sweep::default();
    let networks = networks(lock, &mut out);
    let mut owners = owners.clone();
    for net in &networks {
        if let Ok(leases) = ipam::leases(lock, lock.state_root(), &net.name) {
            owners.known.ids.extend(leases.into_values());
        }
    }
    let reserved = match portalloc::published(lock.state_root()) {
        Ok(r) => r,
        Err(e) => {
            out.failed.push(e.into());
            Vec::new()
        }
    };
    owners
        .known
        .ids
        .extend(reserved.iter().map(|r| r.owner.clone()));
    sweep_elements(&owners, &mut out);
    if let Err(e) = sweep_veths(&networks, &owners, &mut out).await {
        out.failed.push(e);
    }
    sweep_ports(lock, reserved, &owners.live, &mut out);
    for net in &networks {
        sweep_leases(lock, &net.name, &owners.live, &mut out);
    }
    out
}

fn sweep_ports(
    lock: &NetLock,
    reserved: Vec<portalloc::Reservation>,
    live: &IdSet,
    out: &mut Sweep,
) {
    // Written under the lock we hold: a temp file now is a dead writer's.
    remove_temp(&lock.state_root().join("networks/ports.json.tmp"), out);
    let dead: BTreeSet<String> = reserved
        .into_iter()
        .map(|r| r.owner)
        .filter(|o| !live.has(o))
        .collect();
    for owner in dead {
        match portalloc::release(lock, &owner) {
            Ok(freed) => out
                .removed
                .extend(freed.into_iter().map(|mapping| Swept::Port {
                    mapping,
                    owner: owner.clone(),
                })),
            Err(e) => out.failed.push(e.into()),
        }
    }
}

fn remove_temp(path: &std::path::Path, out: &mut Sweep) {
    match fs::remove_file(path) {
        Ok(()) => out.removed.push(Swept::TempFile(path.to_path_buf())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => out.failed.push(SweepError::RemoveFile {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// den's networks: the default one and each one with a directory under `<root>/networks`.
fn networks(lock: &NetLock, out: &mut Sweep) -> Vec<Network> {
    let root = lock.state_root();
    let mut names = BTreeSet::from(["bridge".to_string()]);
    let dir = root.join("networks");
    match fs::read_dir(&dir) {
        Ok(entries) => names.extend(
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.file_name().to_string_lossy().into_owned()),
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => out
            .failed
            .push(SweepError::ListNetworks { path: dir, source }),
    }
    let mut nets = Vec::new();
    for name in names {
        match Network::load(root, &name) {
            Ok(net) => nets.push(net),
            // A directory being created by `den network create` right now, or removed.
            Err(NetworkError::NotFound(_)) => {}
            Err(e) => out.failed.push(e.into()),
        }
    }
    nets
}

fn sweep_elements(owners: &Owners, out: &mut Sweep) {
    let mut fw = match Firewall::new() {
        Ok(fw) => fw,
        Err(e) => return out.failed.push(e.into()),
    };
    let published = match fw.published() {
        Ok(p) => p,
        Err(e) => return out.failed.push(e.into()),
    };
    // One removal per (owner, address): exactly the elements of one dead container.
    let mut stale: BTreeMap<(String, Ipv4Addr), Vec<(PortMapping, String)>> = BTreeMap::new();
    for (mapping, ip, comment) in published {
        if let Some(owner) = element_owner(&comment).filter(|o| owners.dead(o)) {
            let key = (owner.to_string(), ip);
            stale.entry(key).or_default().push((mapping, comment));
        }
    }
    for ((owner, ip), elems) in stale {
        let ports: Vec<PortMapping> = elems.iter().map(|(m, _)| m.clone()).collect();
        let rules = ContainerRules {
            id: &owner,
            name: &owner,
            ip,
            bridge: "",
            ports: &ports,
        };
        match fw.remove_container(&rules) {
            Ok(()) => out
                .removed
                .extend(elems.into_iter().map(|(mapping, comment)| Swept::Element {
                    mapping,
                    container_ip: ip,
                    comment,
                })),
            Err(e) => out.failed.push(e.into()),
        }
    }
}

async fn sweep_veths(
    networks: &[Network],
    owners: &Owners,
    out: &mut Sweep,
) -> Result<(), SweepError> {
    let nl = Netlink::open_current()?;
    let links = nl.links().await?;
    let bridges: Vec<(u32, &str)> = links
        .iter()
        .filter(|l| networks.iter().any(|n| n.bridge == l.name))
        .map(|l| (l.index, l.name.as_str()))
        .collect();
    for link in &links {
        let Some((_, bridge)) = bridges.iter().find(|(i, _)| Some(*i) == link.master) else {
            continue;
        };
        let dead = link.kind.as_deref() == Some("veth")
            && veth_owner(&link.name).is_some_and(|o| owners.dead(o));
        if !dead {
            continue;
        }
        match nl.delete_link(link.index).await {
            Ok(()) => out.removed.push(Swept::Veth {
                name: link.name.clone(),
                bridge: bridge.to_string(),
            }),
            // Gone with its namespace meanwhile.
            Err(e) if e.errno() == Some(libc::ENODEV) => {}
            Err(e) => out.failed.push(e.into()),
        }
    }
    Ok(())
}

fn sweep_leases(lock: &NetLock, network: &str, live: &IdSet, out: &mut Sweep) {
    let root = lock.state_root();
    // Lease files are written under the lock we hold: a temp file now is a dead writer's.
    remove_temp(&network_dir(root, network).join("leases.json.tmp"), out);
    if !network_dir(root, network).join("leases.json").exists() {
        return;
    }
    let ipam_err = |source| SweepError::Ipam {
        network: network.to_string(),
        source,
    };
    let leases = match ipam::leases(lock, root, network) {
        Ok(l) => l,
        Err(e) => return out.failed.push(ipam_err(e)),
    };
    for (ip, owner) in leases {
        if live.has(&owner) {
            continue;
        }
        match ipam::release(lock, root, network, &owner) {
            Ok(_) => out.removed.push(Swept::Lease {
                network: network.to_string(),
                ip,
                owner,
            }),
            Err(e) => out.failed.push(ipam_err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn veth_name_carries_the_owner() {
        let name = host_veth_name(ID);
        assert_eq!(name, "veth0123456789a");
        assert!(name.len() <= 15);
        assert_eq!(veth_owner(&name), Some("0123456789a"));
        assert!(IdSet::new([ID.to_string()]).has(veth_owner(&name).unwrap()));
    }

    #[test]
    fn foreign_veths_have_no_owner() {
        assert_eq!(veth_owner("veth1a2b3c4"), None, "docker's 7 digits");
        assert_eq!(veth_owner("veth0123456789A"), None);
        assert_eq!(veth_owner("eth0"), None);
        assert_eq!(veth_owner(&host_veth_name("not-an-id")), None);
    }

    fn mapping(host_ip: &str, proto: crate::Proto) -> PortMapping {
        PortMapping {
            host_ip: host_ip.parse().unwrap(),
            host_port: 8080,
            container_port: 80,
            proto,
        }
    }

    #[test]
    fn element_comment_names_the_owner() {
        let m = mapping("127.0.0.1", crate::Proto::Udp);
        let c = crate::firewall::rules::container_comment("web.1-x", ID, &m);
        assert_eq!(element_owner(&c), Some("0123456789ab"), "{c}");
        assert_eq!(element_owner("den: container x (abc) -p 1:1/tcp"), None);
        assert_eq!(element_owner("den: network bridge (den0)"), None);
        assert_eq!(element_owner(""), None);
    }

    #[test]
    fn a_long_name_is_cut_but_the_owner_stays() {
        let m = mapping("0.0.0.0", crate::Proto::Tcp);
        let c = crate::firewall::rules::container_comment(&"n".repeat(128), ID, &m);
        assert_eq!(element_owner(&c), Some("0123456789ab"), "{c}");
    }

    #[test]
    fn ids_match_by_prefix() {
        let ids = IdSet::new([ID.to_string(), "ff".repeat(32)]);
        assert!(ids.has("0123456789ab"));
        assert!(ids.has(ID));
        assert!(!ids.has("0123456789ac"));
        assert!(!ids.has("123456789abc"));
        assert!(!IdSet::default().has("0123456789ab"));
    }

    #[test]
    fn only_known_owners_that_are_not_live_are_dead() {
        let other = "ab".repeat(32);
        let owners = Owners {
            live: IdSet::new([ID.to_string()]),
            known: IdSet::new([ID.to_string(), other.clone()]),
        };
        assert!(!owners.dead("0123456789ab"), "live");
        assert!(owners.dead(&other[..12]), "known, not live");
        assert!(!owners.dead("cdcdcdcdcdcd"), "another state root's");
    }
}
