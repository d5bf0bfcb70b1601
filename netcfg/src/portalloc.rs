//! Host ports den has published, on disk: the port allocator (docker's lives in the daemon's memory;
//! den has no daemon). One record ([`crate::records`]) per published host port,
//! `<state root>/networks/.ports/<proto>/<port>/<host address>` -> `<container port>@<owner>`, so
//! checking a port reads one small directory and publishing one makes one symlink, whatever else
//! is published. Written under the [`NetLock`] before the firewall elements are added and removed
//! after they are gone, so a crash between the two leaves a record that `gc` can reconcile. A
//! `ports.json` of an older den is read while the store does not exist, and converted the first
//! time the lock is held.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::jsonfile::{self, JsonFileError};
use crate::lock::NetLock;
use crate::ports::{PortError, PortMapping, Proto};
use crate::records::{self, RecordError, Records};

#[derive(Debug, thiserror::Error)]
pub enum PortAllocError {
    #[error(transparent)]
    File(#[from] JsonFileError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("host port {0} is already reserved")]
    Reserved(PortMapping),
}

/// One published host port and the container (id) that holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub mapping: PortMapping,
    pub owner: String,
}

/// `ports.json`, the record of an older den.
#[derive(Debug, Default, Serialize, Deserialize)]
struct LegacyFile {
    #[serde(default)]
    ports: BTreeMap<String, Reservation>,
}

const WHAT: &str = "published host port";
const PROTOS: [Proto; 2] = [Proto::Tcp, Proto::Udp];

fn store(state_root: &Path) -> PathBuf {
    state_root.join("networks").join(".ports")
}

fn legacy(state_root: &Path) -> PathBuf {
    state_root.join("networks").join("ports.json")
}

/// The records of one host port (every host address it is published on).
fn port_records(state_root: &Path, proto: Proto, port: u16) -> Records {
    let dir = store(state_root)
        .join(proto.as_str())
        .join(port.to_string());
    Records::new(dir, WHAT)
}

fn value(m: &PortMapping, owner: &str) -> String {
    format!("{}@{owner}", m.container_port)
}

/// The reservation a record of `port_records(proto, port)` holds.
fn parse(proto: Proto, port: u16, host_ip: &str, value: &str) -> Option<Reservation> {
    let (container_port, owner) = value.split_once('@')?;
    Some(Reservation {
        mapping: PortMapping {
            host_ip: host_ip.parse().ok()?,
            host_port: port,
            container_port: container_port.parse().ok()?,
            proto,
        },
        owner: owner.to_string(),
    })
}

/// The store as an older den's file had it, while the store has not been made.
fn legacy_view(state_root: &Path) -> Result<Option<Vec<Reservation>>, PortAllocError> {
    if store(state_root).is_dir() {
        return Ok(None);
    }
    let file: LegacyFile = jsonfile::load("published ports", &legacy(state_root))?;
    Ok(Some(file.ports.into_values().collect()))
}

/// Make the store (from `ports.json` if an older den left one) unless it exists.
fn ensure(lock: &NetLock) -> Result<(), PortAllocError> {
    let root = lock.state_root();
    let Some(old) = legacy_view(root)? else {
        return Ok(());
    };
    records::build_dir(&store(root), "published ports", |temp| {
        for r in &old {
            let m = &r.mapping;
            let dir = temp.join(m.proto.as_str()).join(m.host_port.to_string());
            fs::create_dir_all(&dir)?;
            symlink(value(m, &r.owner), dir.join(m.host_ip.to_string()))?;
        }
        Ok(())
    })?;
    // The store is whole now; the old file is only a copy (gc removes one left by a crash).
    let _ = fs::remove_file(legacy(root));
    Ok(())
}

/// Everything published now. Without the lock this is a snapshot: good for a check before
/// anything is created, which [`reserve`]'s caller repeats under the lock.
pub fn published(state_root: &Path) -> Result<Vec<Reservation>, PortAllocError> {
    if let Some(old) = legacy_view(state_root)? {
        return Ok(old);
    }
    let mut out = Vec::new();
    for proto in PROTOS {
        let dir = store(state_root).join(proto.as_str());
        let ports = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(RecordError::Io {
                    op: "list",
                    what: WHAT,
                    path: dir,
                    source,
                }
                .into())
            }
        };
        for entry in ports.flatten() {
            let Some(port) = entry.file_name().to_str().and_then(|p| p.parse().ok()) else {
                continue;
            };
            for (ip, v) in port_records(state_root, proto, port).list()? {
                out.extend(parse(proto, port, &ip, &v));
            }
        }
    }
    Ok(out)
}

/// The published mapping that claims `probe`'s host port, if any: one directory read.
pub fn conflicting(
    state_root: &Path,
    probe: &PortMapping,
) -> Result<Option<PortMapping>, PortAllocError> {
    if let Some(old) = legacy_view(state_root)? {
        return Ok(old
            .into_iter()
            .map(|r| r.mapping)
            .find(|m| m.conflicts_with(probe)));
    }
    let (proto, port) = (probe.proto, probe.host_port);
    Ok(port_records(state_root, proto, port)
        .list()?
        .into_iter()
        .filter_map(|(ip, v)| parse(proto, port, &ip, &v))
        .map(|r| r.mapping)
        .find(|m| m.conflicts_with(probe)))
}

/// [`conflicting`] for [`crate::ports::expand`].
pub(crate) struct Published<'a>(pub &'a Path);

impl crate::ports::Published for Published<'_> {
    fn conflicting(&self, probe: &PortMapping) -> Result<Option<PortMapping>, PortError> {
        conflicting(self.0, probe).map_err(|e| PortError::Published(Box::new(e)))
    }
}

/// Record `mappings` as held by `owner` (the caller has checked them with [`conflicting`] under
/// the lock). On an error, what this call recorded is removed again.
pub fn reserve(
    lock: &NetLock,
    owner: &str,
    mappings: &[PortMapping],
) -> Result<(), PortAllocError> {
    if mappings.is_empty() {
        return Ok(());
    }
    ensure(lock)?;
    let root = lock.state_root();
    for (i, m) in mappings.iter().enumerate() {
        let records = port_records(root, m.proto, m.host_port);
        let made = fs::create_dir_all(records.dir())
            .map_err(|source| RecordError::Io {
                op: "create",
                what: WHAT,
                path: records.dir().to_path_buf(),
                source,
            })
            .map_err(PortAllocError::from)
            .and_then(|()| Ok(records.claim(&m.host_ip.to_string(), &value(m, owner))?))
            .and_then(|made| match made {
                true => Ok(()),
                false => Err(PortAllocError::Reserved(m.clone())),
            });
        if let Err(e) = made {
            let _ = release(lock, owner, &mappings[..i]);
            return Err(e);
        }
    }
    Ok(())
}

/// Forget those of `mappings` that `owner` holds; returns them.
pub fn release(
    lock: &NetLock,
    owner: &str,
    mappings: &[PortMapping],
) -> Result<Vec<PortMapping>, PortAllocError> {
    if mappings.is_empty() {
        return Ok(Vec::new());
    }
    ensure(lock)?;
    let root = lock.state_root();
    let mut freed = Vec::new();
    for m in mappings {
        let records = port_records(root, m.proto, m.host_port);
        let key = m.host_ip.to_string();
        if records.get(&key)? != Some(value(m, owner)) {
            continue;
        }
        records.remove(&key)?;
        // Empty now unless another address publishes the port; the lock keeps reserve out.
        let _ = fs::remove_dir(records.dir());
        freed.push(m.clone());
    }
    Ok(freed)
}

/// Make the store from an older den's `ports.json` now (under the lock), and remove one left
/// behind by a crash after its conversion. Returns what was removed.
pub fn sweep_stale(lock: &NetLock) -> Result<Option<PathBuf>, PortAllocError> {
    ensure(lock)?;
    let path = legacy(lock.state_root());
    Ok(fs::remove_file(&path).is_ok().then_some(path))
}

#[cfg(test)]
#[path = "portalloc_tests.rs"]
mod on_disk;
