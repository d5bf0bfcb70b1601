//! The lease store of one network (see [`super`]), and the conversion of an older den's file.

use std::collections::BTreeMap;
use std::fs;
use std::net::Ipv4Addr;
use std::os::unix::fs::{symlink, FileExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{network_dir, IpamError};
use crate::jsonfile;
use crate::lock::NetLock;
use crate::records::{self, RecordError, Records};

/// One network's leases: `ipam/leases/<address>` -> owner, `ipam/owners/<owner>` -> address,
/// `ipam/last` (the address handed out last, a hint written in place). An owner's index entry is
/// made before its lease and removed after it, so every lease has one (a crash leaves at most an
/// index entry whose lease is missing or someone else's: stale, treated as absent, and swept).
pub(super) struct Store {
    pub(super) leases: Records,
    pub(super) owners: Records,
    last: PathBuf,
}

impl Store {
    /// The network's store; made (from a `leases.json` of an older den, if there is one) when
    /// `create`, else `None` if there is none.
    pub(super) fn open(
        lock: &NetLock,
        state_root: &Path,
        network: &str,
        create: bool,
    ) -> Result<Option<Store>, IpamError> {
        let dir = network_dir(lock, state_root, network)?;
        let ipam = dir.join("ipam");
        let store = Store {
            leases: Records::new(ipam.join("leases"), "lease"),
            owners: Records::new(ipam.join("owners"), "lease owner"),
            last: ipam.join("last"),
        };
        if ipam.is_dir() {
            return Ok(Some(store));
        }
        let legacy = dir.join(LEGACY);
        if !create && !legacy.exists() {
            return Ok(None);
        }
        let old: LegacyFile = jsonfile::load("leases", &legacy)?;
        records::build_dir(&ipam, "leases", |temp| {
            fs::create_dir(temp.join("leases"))?;
            fs::create_dir(temp.join("owners"))?;
            for (ip, owner) in &old.leases {
                symlink(owner, temp.join("leases").join(ip.to_string()))?;
                symlink(ip.to_string(), temp.join("owners").join(owner))?;
            }
            if let Some(last) = old.last {
                fs::write(temp.join("last"), format!("{last:<15}\n"))?;
            }
            Ok(())
        })?;
        // The store is whole now; the old file is only a copy (gc removes one left by a crash).
        let _ = fs::remove_file(&legacy);
        Ok(Some(store))
    }

    /// The address `owner` holds, if any.
    pub(super) fn held_by(&self, owner: &str) -> Result<Option<Ipv4Addr>, IpamError> {
        let Some(ip) = self.owners.get(owner)? else {
            return Ok(None);
        };
        let Ok(ip) = ip.parse::<Ipv4Addr>() else {
            return Ok(None);
        };
        Ok(match self.leases.get(&ip.to_string())? {
            Some(o) if o == owner => Some(ip),
            _ => None,
        })
    }

    pub(super) fn last(&self) -> Option<Ipv4Addr> {
        fs::read_to_string(&self.last).ok()?.trim().parse().ok()
    }

    /// Remember `ip` as handed out last: 16 bytes written in place (no rename), so a torn write
    /// can only make a hint that does not parse, and the search starts at the beginning.
    pub(super) fn set_last(&self, ip: Ipv4Addr) -> Result<(), IpamError> {
        let write = || {
            fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&self.last)?
                .write_all_at(format!("{ip:<15}\n").as_bytes(), 0)
        };
        write().map_err(|source| {
            IpamError::Record(RecordError::Io {
                op: "write",
                what: "last lease",
                path: self.last.clone(),
                source,
            })
        })
    }

    /// Lease `ip` to `owner`: its index entry first, then the lease; `false` if `ip` is taken.
    pub(super) fn claim(&self, ip: Ipv4Addr, owner: &str) -> Result<bool, IpamError> {
        let key = ip.to_string();
        if self.leases.has(&key)? {
            return Ok(false);
        }
        self.owners.set(owner, &key)?;
        if self.leases.claim(&key, owner)? {
            return Ok(true);
        }
        self.owners.remove(owner)?;
        Ok(false)
    }
}

/// The file leases were kept in before the store above (read once and converted under the lock).
pub(super) const LEGACY: &str = "leases.json";

/// `leases.json`: `{"last": "172.20.0.3", "leases": {"172.20.0.2": "<container id>", ...}}`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct LegacyFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last: Option<Ipv4Addr>,
    #[serde(default)]
    leases: BTreeMap<Ipv4Addr, String>,
}
