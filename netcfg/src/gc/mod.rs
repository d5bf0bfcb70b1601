//! Network-side garbage collection: what containers that are gone left in den's networks.
//!
//! Every per-container object `attach` makes carries its owner, recorded before (or as) it is
//! created, so it can be found again with no other record, even after a `kill -9` at any step:
//! - a lease: `networks/<net>/ipam/leases/<address>` names the full container id (and its index
//!   entry `ipam/owners/<id>`, made before the lease and removed after it, the address);
//! - a host-port reservation: `networks/.ports/<proto>/<port>/<address>` names the full
//!   container id;
//! - a published-map element: its comment `den: container NAME (ID12) -p SPEC`;
//! - the host veth: its name, `veth` + the first 11 hex digits of the id ([`host_veth_name`]);
//! - a `den trace` table: its name `den_trace_<PID>` and the start time of that den in its
//!   comment; removed when that process is gone, whichever state root it used.
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

mod objects;
mod owners;

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use crate::firewall::FirewallError;
use crate::ipam::{self, IpamError};
use crate::lock::NetLock;
use crate::netlink::NetlinkError;
use crate::network::{Network, NetworkError, DEFAULT};
use crate::portalloc::{self, PortAllocError};
use crate::ports::PortMapping;

pub use owners::{element_owner, host_veth_name, host_veth_name_nth, veth_owner, IdSet, Owners};

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("listing networks in {}", path.display())]
    ListNetworks {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Network(#[from] NetworkError),
    #[error("network {network}")]
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
    #[error("removing den trace tables")]
    TraceTables(#[source] crate::firewall::NftError),
    #[error("starting a tokio runtime for netlink")]
    Runtime(#[source] io::Error),
    #[error("removing {}", path.display())]
    RemoveFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
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
    /// A `den trace` table whose den process is gone.
    TraceTable(String),
    HalfCreatedNetwork(PathBuf),
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
            Swept::TraceTable(t) => write!(f, "removed nft table ip {t} (a killed den trace)"),
            Swept::HalfCreatedNetwork(path) => {
                write!(f, "removed half-created network {}", path.display())
            }
        }
    }
}

/// What [`sweep`] did; it goes on past each failure.
#[derive(Debug, Default)]
pub struct Sweep {
    pub removed: Vec<Swept>,
    pub failed: Vec<SweepError>,
}

/// Remove every published-map element and host veth (on a den bridge) whose owner is dead (see
/// [`Owners`]), then every host-port reservation and lease whose owner is not live (the records
/// last, as `attach` makes them first), and the stale temp files of those records. Must run
/// inside a tokio runtime, on the thread (netns) den's firewall lives in.
pub(crate) async fn sweep(lock: &NetLock, owners: &Owners) -> Sweep {
    let mut out = Sweep::default();
    let networks = networks(lock, &mut out);
    let mut owners = owners.clone();
    for net in &networks {
        if let Ok(leases) = ipam::leases(lock, lock.state_root(), &net.name) {
            owners.known.extend(leases.into_values());
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
        .extend(reserved.iter().map(|r| r.owner.clone()));
    objects::sweep_elements(&owners, &mut out);
    match crate::trace_live::table::sweep() {
        Ok(tables) => out
            .removed
            .extend(tables.into_iter().map(Swept::TraceTable)),
        Err(e) => out.failed.push(SweepError::TraceTables(e)),
    }
    if let Err(e) = objects::sweep_veths(&networks, &owners, &mut out).await {
        out.failed.push(e);
    }
    objects::sweep_ports(lock, reserved, &owners.live, &mut out);
    for net in &networks {
        objects::sweep_leases(lock, &net.name, &owners.live, &mut out);
    }
    out
}

/// den's networks: the default one and each one with a directory under `<root>/networks` (a
/// half-created one's directory is removed).
fn networks(lock: &NetLock, out: &mut Sweep) -> Vec<Network> {
    let root = lock.state_root();
    let mut names = BTreeSet::from([DEFAULT.to_string()]);
    let dir = root.join("networks");
    match fs::read_dir(&dir) {
        Ok(entries) => names.extend(
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                // `.ports` (the port allocator's store) and the like: no network is named so.
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .map(|e| e.file_name().to_string_lossy().into_owned()),
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => out.failed.push(SweepError::ListNetworks {
            path: dir.clone(),
            source,
        }),
    }
    let mut nets = Vec::new();
    for name in names {
        match Network::load(root, &name) {
            Ok(net) => nets.push(net),
            Err(NetworkError::NotFound(_)) if name != DEFAULT => {
                remove_half_created(&dir.join(&name), out)
            }
            Err(NetworkError::NotFound(_)) => {}
            Err(e) => out.failed.push(e.into()),
        }
    }
    nets
}

/// A network directory with no `network.json`: a `den network create` killed before its rename
/// (it makes the directory and the file under the network lock, which we hold, so it is not
/// running now). Removed if it holds nothing but that create's temp file; anything else in it is
/// not den's to judge and is left alone.
fn remove_half_created(dir: &Path, out: &mut Sweep) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let names: Vec<_> = entries.flatten().map(|e| e.file_name()).collect();
    if !names.iter().all(|n| n == ".network.json.tmp") {
        return;
    }
    match fs::remove_dir_all(dir) {
        Ok(()) => out
            .removed
            .push(Swept::HalfCreatedNetwork(dir.to_path_buf())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => out.failed.push(SweepError::RemoveFile {
            path: dir.to_path_buf(),
            source,
        }),
    }
}
