//! Volumes on disk, as docker's local driver lays them out: `<root>/volumes/NAME/_data` is what a
//! container sees, `<root>/volumes/NAME/volume.json` when and how it was made. Which containers use
//! a volume is read from their `mounts.json` (a container that exists, running or not, uses it).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{points, MountKind, VolumeError};
use crate::events::{self, Event};
use crate::state::{self, Store};

/// One volume, as `den volume inspect` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Volume {
    pub name: String,
    /// Seconds since the epoch.
    pub created: i64,
    /// Made for a container's `-v /path` (docker labels these `com.docker.volume.anonymous`).
    pub anonymous: bool,
    #[serde(skip)]
    pub mountpoint: PathBuf,
}

const META: &str = "volume.json";

#[derive(Debug, Clone)]
pub struct VolumeStore {
    root: PathBuf,
}

impl VolumeStore {
    pub fn new(root: &Path) -> VolumeStore {
        VolumeStore {
            root: root.join("volumes"),
        }
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Where the volume's content lives (`_data`).
    pub fn data(&self, name: &str) -> PathBuf {
        self.dir(name).join("_data")
    }

    /// Create volume `name` (a new anonymous one for `None`, named like docker's: 64 hex digits).
    /// Returns it and whether it was made now; an existing named volume is returned as it is.
    pub fn create(&self, name: Option<&str>) -> Result<(Volume, bool), VolumeError> {
        let anonymous = name.is_none();
        let name = name.map_or_else(state::new_id, str::to_string);
        if !super::valid_volume_name(&name) {
            return Err(VolumeError::Spec {
                message: format!(
                    "create {name}: \"{name}\" includes invalid characters for a local volume \
                     name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed"
                ),
            });
        }
        fs::create_dir_all(&self.root).map_err(VolumeError::io("creating", &self.root))?;
        let dir = self.dir(&name);
        match fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Ok((self.get(&name)?, false))
            }
            Err(e) => return Err(VolumeError::io("creating", dir)(e)),
        }
        let vol = Volume {
            name: name.clone(),
            created: state::now_secs(),
            anonymous,
            mountpoint: self.data(&name),
        };
        let made = fs::create_dir(&vol.mountpoint)
            .map_err(VolumeError::io("creating", &vol.mountpoint))
            .and_then(|()| {
                let body = serde_json::to_vec_pretty(&vol).expect("volume serialises");
                let tmp = dir.join(".volume.json.tmp");
                fs::write(&tmp, body)
                    .and_then(|()| fs::rename(&tmp, dir.join(META)))
                    .map_err(VolumeError::io("writing", dir.join(META)))
            });
        if let Err(e) = made {
            let _ = fs::remove_dir_all(&dir);
            return Err(e);
        }
        events::emit(events::root_of(&self.root), Event::volume(&name, "create"));
        Ok((vol, true))
    }

    pub fn get(&self, name: &str) -> Result<Volume, VolumeError> {
        if !super::valid_volume_name(name) {
            return Err(VolumeError::NotFound(name.into()));
        }
        let path = self.dir(name).join(META);
        let body = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(VolumeError::NotFound(name.into()))
            }
            Err(e) => return Err(VolumeError::io("reading", path)(e)),
        };
        let mut v: Volume =
            serde_json::from_slice(&body).map_err(|source| VolumeError::Corrupt {
                what: "parsing",
                path,
                source,
            })?;
        v.mountpoint = self.data(name);
        Ok(v)
    }

    /// Every volume, by name. A directory without its `volume.json` (being made now) is skipped.
    pub fn list(&self) -> Result<Vec<Volume>, VolumeError> {
        let rd = match fs::read_dir(&self.root) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(VolumeError::io("listing", &self.root)(e)),
        };
        let mut all: Vec<Volume> = rd
            .filter_map(|e| e.ok())
            .filter_map(|e| self.get(&e.file_name().to_string_lossy()).ok())
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    /// The names of the containers (running or not) whose mounts include volume `name`.
    pub fn users(&self, name: &str) -> Result<Vec<String>, VolumeError> {
        let root = self.root.parent().unwrap_or(Path::new("/"));
        let store = Store::new(root);
        let containers = store.list().map_err(|e| VolumeError::Io {
            what: "listing containers in",
            path: root.join("containers"),
            source: io::Error::other(e),
        })?;
        Ok(containers
            .into_iter()
            .filter(|c| {
                points::load(&store.dir(&c.id)).is_ok_and(|m| {
                    m.mounts
                        .iter()
                        .any(|p| p.kind == MountKind::Volume && p.name == name)
                })
            })
            .map(|c| c.id)
            .collect())
    }

    /// `den volume rm NAME`: refused while a container uses it (also with `force`, as docker;
    /// `force` only makes a missing volume no error).
    pub fn remove(&self, name: &str, force: bool) -> Result<(), VolumeError> {
        match self.get(name) {
            Err(VolumeError::NotFound(_)) if force => return Ok(()),
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        let users = self.users(name)?;
        if !users.is_empty() {
            return Err(VolumeError::InUse {
                name: name.into(),
                users,
            });
        }
        let dir = self.dir(name);
        fs::remove_dir_all(&dir).map_err(VolumeError::io("removing", dir))?;
        events::emit(events::root_of(&self.root), Event::volume(name, "destroy"));
        Ok(())
    }

    /// `den volume prune [-a]`: remove the volumes no container uses; anonymous ones only unless
    /// `all` (docker 23's rule). Returns the names removed.
    pub fn prune(&self, all: bool) -> Result<Vec<String>, VolumeError> {
        let mut removed = Vec::new();
        for v in self.list()? {
            if (all || v.anonymous) && self.users(&v.name)?.is_empty() {
                let dir = self.dir(&v.name);
                fs::remove_dir_all(&dir).map_err(VolumeError::io("removing", dir))?;
                events::emit(
                    events::root_of(&self.root),
                    Event::volume(&v.name, "destroy"),
                );
                removed.push(v.name);
            }
        }
        Ok(removed)
    }

    /// A container's anonymous volumes, removed with it (`den rm -v`, `--rm`); one still used by
    /// another container (`--volumes-from`) is kept.
    pub fn remove_anonymous(&self, container_dir: &Path) -> Result<(), VolumeError> {
        let Ok(m) = points::load(container_dir) else {
            return Ok(());
        };
        let id = container_dir
            .file_name()
            .map(|f| f.to_string_lossy().into_owned());
        for p in m.mounts.iter().filter(|p| p.anonymous) {
            let others = self.users(&p.name)?;
            if others.iter().all(|u| Some(u) == id.as_ref()) {
                let dir = self.dir(&p.name);
                match fs::remove_dir_all(&dir) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => {
                        return Err(VolumeError::io("removing", dir)(e))
                    }
                    Err(_) => {}
                    Ok(()) => {
                        let root = events::root_of(&self.root);
                        events::emit(root, Event::volume(&p.name, "destroy"));
                    }
                }
            }
        }
        Ok(())
    }
}
