//! Host ports den has published, on disk: `<state root>/networks/ports.json`, the port allocator (docker's
//! lives in the daemon's memory; den has no daemon). Written under the [`NetLock`] before the firewall
//! elements are added and removed after they are gone, so a crash between the two leaves a record that
//! `gc` can reconcile. Reading it is O(1) in the firewall's size, where listing nftables maps is not.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::jsonfile::{self, JsonFileError};
use crate::lock::NetLock;
use crate::ports::PortMapping;

#[derive(Debug, thiserror::Error)]
pub enum PortAllocError {
    #[error(transparent)]
    File(#[from] JsonFileError),
}

/// One published host port and the container (id) that holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub mapping: PortMapping,
    pub owner: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct PortsFile {
    #[serde(default)]
    ports: BTreeMap<String, Reservation>,
}

fn key(m: &PortMapping) -> String {
    format!("{}:{}/{}", m.host_ip, m.host_port, m.proto)
}

fn path(state_root: &Path) -> PathBuf {
    state_root.join("networks").join("ports.json")
}

fn load(path: &Path) -> Result<PortsFile, PortAllocError> {
    Ok(jsonfile::load("published ports", path)?)
}

fn save(path: &Path, file: &PortsFile) -> Result<(), PortAllocError> {
    Ok(jsonfile::save("published ports", path, file)?)
}

/// Everything published now. Without the lock this is a snapshot (the file is replaced atomically):
/// good for a check before anything is created, which `reserve` repeats under the lock.
pub fn published(state_root: &Path) -> Result<Vec<Reservation>, PortAllocError> {
    Ok(load(&path(state_root))?.ports.into_values().collect())
}

/// Record `mappings` as held by `owner` (the caller has checked them against `published` under the lock).
pub fn reserve(
    lock: &NetLock,
    owner: &str,
    mappings: &[PortMapping],
) -> Result<(), PortAllocError> {
    if mappings.is_empty() {
        return Ok(());
    }
    let path = path(lock.state_root());
    let mut file = load(&path)?;
    for m in mappings {
        file.ports.insert(
            key(m),
            Reservation {
                mapping: m.clone(),
                owner: owner.to_string(),
            },
        );
    }
    save(&path, &file)
}

/// Forget every port `owner` holds; returns them.
pub fn release(lock: &NetLock, owner: &str) -> Result<Vec<PortMapping>, PortAllocError> {
    let path = path(lock.state_root());
    let mut file = load(&path)?;
    let mut freed = Vec::new();
    file.ports.retain(|_, r| {
        let mine = r.owner == owner;
        if mine {
            freed.push(r.mapping.clone());
        }
        !mine
    });
    if !freed.is_empty() {
        save(&path, &file)?;
    }
    Ok(freed)
}
