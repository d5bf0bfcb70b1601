//! The sweeps of each kind of object, in the order `sweep` runs them.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::net::Ipv4Addr;
use std::path::Path;

use super::{element_owner, veth_owner, IdSet, Owners, Sweep, SweepError, Swept};
use crate::firewall::{ContainerRules, Firewall};
use crate::ipam;
use crate::lock::NetLock;
use crate::netlink::Netlink;
use crate::network::{network_dir, Network};
use crate::portalloc;
use crate::ports::PortMapping;

pub(super) fn sweep_elements(owners: &Owners, out: &mut Sweep) {
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

pub(super) async fn sweep_veths(
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

pub(super) fn sweep_leases(lock: &NetLock, network: &str, live: &IdSet, out: &mut Sweep) {
    let root = lock.state_root();
    // Written under the lock we hold: a temp file now is a dead writer's (an older den's).
    remove_temp(&network_dir(root, network).join("leases.json.tmp"), out);
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
    match ipam::sweep_stale(lock, root, network) {
        Ok(paths) => out.removed.extend(paths.into_iter().map(Swept::TempFile)),
        Err(e) => out.failed.push(ipam_err(e)),
    }
}

pub(super) fn sweep_ports(
    lock: &NetLock,
    reserved: Vec<portalloc::Reservation>,
    live: &IdSet,
    out: &mut Sweep,
) {
    // Written under the lock we hold: a temp file now is a dead writer's (an older den's).
    remove_temp(&lock.state_root().join("networks/ports.json.tmp"), out);
    let mut dead: BTreeMap<String, Vec<PortMapping>> = BTreeMap::new();
    for r in reserved.into_iter().filter(|r| !live.has(&r.owner)) {
        dead.entry(r.owner).or_default().push(r.mapping);
    }
    for (owner, mappings) in dead {
        match portalloc::release(lock, &owner, &mappings) {
            Ok(freed) => out
                .removed
                .extend(freed.into_iter().map(|mapping| Swept::Port {
                    mapping,
                    owner: owner.clone(),
                })),
            Err(e) => out.failed.push(e.into()),
        }
    }
    match portalloc::sweep_stale(lock) {
        Ok(path) => out.removed.extend(path.map(Swept::TempFile)),
        Err(e) => out.failed.push(e.into()),
    }
}

fn remove_temp(path: &Path, out: &mut Sweep) {
    match fs::remove_file(path) {
        Ok(()) => out.removed.push(Swept::TempFile(path.to_path_buf())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => out.failed.push(SweepError::RemoveFile {
            path: path.to_path_buf(),
            source,
        }),
    }
}
