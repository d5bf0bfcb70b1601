//! Container state on disk: one directory per container under `<root>/containers/<id>`, a `state.json`
//! written atomically (temp file + rename), and a name reservation `<root>/names/<name>` (a symlink to the
//! id, whose creation is the atomic "is this name free?" test — no lock needed).

pub mod health;
mod life;
mod time;

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use den_netcfg::Attachment;
use serde::{Deserialize, Serialize};

pub use health::{Health, HealthConfig, HealthStatus};
pub use life::{next_delay, parse_duration, Life, RestartPolicy};
pub use time::{human_duration, now_secs, parse_rfc3339, rfc3339};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("container name {0:?} is already in use")]
    NameInUse(String),
    #[error("invalid container name {0:?}: use [a-zA-Z0-9][a-zA-Z0-9_.-]*")]
    BadName(String),
    #[error("no such container: {0}")]
    NotFound(String),
    #[error("container name or id {0:?} is ambiguous")]
    Ambiguous(String),
    #[error("{what} {path}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("state file {path}")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

fn io_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StateError + 'a {
    move |source| StateError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Exited,
}

/// Everything den knows about one container (the body of `state.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Container {
    pub id: String,
    pub name: String,
    pub image: String,
    pub image_id: String,
    pub command: Vec<String>,
    pub env: Vec<String>,
    pub hostname: String,
    pub network_mode: String,
    pub created: i64,
    pub status: Status,
    /// Host PID of the container's PID 1 while it runs.
    pub pid: Option<i32>,
    /// Its start time (field 22 of /proc/PID/stat), so a reused PID is never mistaken for it.
    #[serde(default)]
    pub pid_start: Option<u64>,
    /// The process that waits for the container and tears it down (`den run` itself, or a detached
    /// container's supervisor), with its start time.
    #[serde(default)]
    pub supervisor: Option<(i32, u64)>,
    pub exit_code: Option<i32>,
    /// The kernel's OOM killer killed a process of it (docker's State.OOMKilled).
    #[serde(default)]
    pub oom_killed: bool,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub auto_remove: bool,
    pub network: Option<Attachment>,
    /// The networks `den network connect` added while it runs (its eth1, eth2, ...), beside
    /// `network` (its eth0).
    #[serde(default)]
    pub connected: Vec<Attachment>,
    /// Networks `den network connect` was given while it did not run: joined at its next start.
    #[serde(default)]
    pub pending_networks: Vec<PendingNetwork>,
    /// `--network-alias` and `network connect --alias`: the extra names other members of each
    /// network find it by, keyed by network.
    #[serde(default)]
    pub aliases: BTreeMap<String, Vec<String>>,
    /// `-l`/`--label-file` (docker's Config.Labels).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `--expose`d ports as `PORT/PROTO` (docker's Config.ExposedPorts keys, the image's not
    /// included).
    #[serde(default)]
    pub exposed_ports: Vec<String>,
    /// Restart policy, health check, stop signal, and the supervisor's restart count.
    #[serde(default, flatten)]
    pub life: Life,
}

/// A network to join at the next `den start` (with `--ip`, if given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingNetwork {
    pub network: String,
    pub ip: Option<std::net::Ipv4Addr>,
}

impl Container {
    pub fn short_id(&self) -> &str {
        &self.id[..12]
    }

    /// Every network it is on: its first (`network`), then those `network connect` added.
    pub fn attachments(&self) -> impl Iterator<Item = &Attachment> {
        self.network.iter().chain(self.connected.iter())
    }
}

/// The container directory tree under one state root.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    pub fn new(root: &Path) -> Self {
        Store {
            root: root.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn dir(&self, id: &str) -> PathBuf {
        self.root.join("containers").join(id)
    }

    fn names(&self) -> PathBuf {
        self.root.join("names")
    }

    /// Reserve `name` and create the container's directory. The returned guard removes both on drop unless
    /// committed, so a failure later in `den run` leaves no trace.
    pub fn create(&self, record: &Container) -> Result<Reservation, StateError> {
        validate_name(&record.name)?;
        let names = self.names();
        fs::create_dir_all(&names).map_err(io_err("creating", &names))?;
        let link = names.join(&record.name);
        match symlink(&record.id, &link) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(StateError::NameInUse(record.name.clone()))
            }
            Err(e) => return Err(io_err("reserving name", &link)(e)),
        }
        let guard = Reservation {
            dir: self.dir(&record.id),
            link,
            armed: true,
        };
        fs::create_dir_all(&guard.dir).map_err(io_err("creating", &guard.dir))?;
        self.save(record)?;
        Ok(guard)
    }

    /// Atomically replace the container's `state.json`.
    pub fn save(&self, record: &Container) -> Result<(), StateError> {
        let dir = self.dir(&record.id);
        let tmp = dir.join(".state.json.tmp");
        let path = dir.join("state.json");
        let body = serde_json::to_vec_pretty(record).expect("state serialises");
        let mut f = fs::File::create(&tmp).map_err(io_err("writing", &tmp))?;
        f.write_all(&body).map_err(io_err("writing", &tmp))?;
        fs::rename(&tmp, &path).map_err(io_err("renaming", &path))
    }

    pub fn load_id(&self, id: &str) -> Result<Container, StateError> {
        let path = self.dir(id).join("state.json");
        let mut body = Vec::new();
        fs::File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut body))
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => StateError::NotFound(id.to_string()),
                _ => io_err("reading", &path)(e),
            })?;
        let mut c: Container =
            serde_json::from_slice(&body).map_err(|source| StateError::Corrupt { path, source })?;
        if c.life.healthcheck.is_some() {
            c.life.health = Health::load(&self.dir(id));
        }
        Ok(c)
    }

    /// Is `name` reserved by a container (its `names/` link exists)? Names only, never id prefixes.
    pub fn name_taken(&self, name: &str) -> bool {
        fs::symlink_metadata(self.names().join(name)).is_ok()
    }

    /// Find a container by name, full id or unique id prefix (like docker).
    pub fn find(&self, key: &str) -> Result<Container, StateError> {
        if let Ok(id) = fs::read_link(self.names().join(key)) {
            return self.load_id(&id.to_string_lossy());
        }
        if key.len() >= 3 && key.bytes().all(|b| b.is_ascii_hexdigit()) {
            let ids: Vec<String> = self
                .ids()?
                .into_iter()
                .filter(|id| id.starts_with(key))
                .collect();
            match ids.as_slice() {
                [one] => return self.load_id(one),
                [] => {}
                _ => return Err(StateError::Ambiguous(key.to_string())),
            }
        }
        Err(StateError::NotFound(key.to_string()))
    }

    fn ids(&self) -> Result<Vec<String>, StateError> {
        let dir = self.root.join("containers");
        match fs::read_dir(&dir) {
            Ok(rd) => Ok(rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(io_err("listing", &dir)(e)),
        }
    }

    /// All containers, oldest first. Directories without a readable state (a run that is being set up right
    /// now) are skipped.
    pub fn list(&self) -> Result<Vec<Container>, StateError> {
        let mut all: Vec<Container> = self
            .ids()?
            .iter()
            .filter_map(|id| self.load_id(id).ok())
            .collect();
        all.sort_by_key(|c| c.created);
        Ok(all)
    }

    /// Remove a container's directory and its name.
    pub fn remove(&self, record: &Container) -> Result<(), StateError> {
        let link = self.names().join(&record.name);
        if fs::read_link(&link).is_ok_and(|t| t.as_os_str() == record.id.as_str()) {
            fs::remove_file(&link).map_err(io_err("removing", &link))?;
        }
        let dir = self.dir(&record.id);
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err("removing", &dir)(e)),
            _ => Ok(()),
        }
    }
}

impl Store {
    /// `den rename`: reserve `new` (atomically, as [`Store::create`] does), record it, then free
    /// the old name.
    pub fn rename(&self, record: &Container, new: &str) -> Result<(), StateError> {
        validate_name(new)?;
        let link = self.names().join(new);
        match symlink(&record.id, &link) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(StateError::NameInUse(new.to_string()))
            }
            Err(e) => return Err(io_err("reserving name", &link)(e)),
        }
        let mut now = match self.load_id(&record.id) {
            Ok(c) => c,
            Err(e) => {
                let _ = fs::remove_file(&link);
                return Err(e);
            }
        };
        let old = self.names().join(&now.name);
        now.name = new.to_string();
        if let Err(e) = self.save(&now) {
            let _ = fs::remove_file(&link);
            return Err(e);
        }
        if fs::read_link(&old).is_ok_and(|t| t.as_os_str() == record.id.as_str()) {
            fs::remove_file(&old).map_err(io_err("removing", &old))?;
        }
        Ok(())
    }

    /// Where [`Store::remove_later`] puts container dirs whose files are still to be removed.
    pub fn trash(&self) -> PathBuf {
        self.root.join("trash")
    }

    /// [`Store::remove`] in O(1): free the name and rename the container's dir out of
    /// `containers/` into [`Store::trash`] (one rename); returns where it is now, for the caller to
    /// remove off the hot path (`den gc` removes what is left there).
    pub fn remove_later(&self, record: &Container) -> Result<PathBuf, StateError> {
        let link = self.names().join(&record.name);
        if fs::read_link(&link).is_ok_and(|t| t.as_os_str() == record.id.as_str()) {
            fs::remove_file(&link).map_err(io_err("removing", &link))?;
        }
        let trash = self.trash();
        fs::create_dir_all(&trash).map_err(io_err("creating", &trash))?;
        let to = trash.join(&record.id);
        let dir = self.dir(&record.id);
        fs::rename(&dir, &to).map_err(io_err("moving", &dir))?;
        Ok(to)
    }
}

/// A reserved name and a created container directory, undone on drop unless `commit`ted.
pub struct Reservation {
    dir: PathBuf,
    link: PathBuf,
    armed: bool,
}

impl Reservation {
    pub fn commit(mut self) {
        self.armed = false;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_dir_all(&self.dir);
            let _ = fs::remove_file(&self.link);
        }
    }
}

/// docker's rule for container names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, at most 128 bytes.
pub(crate) fn validate_name(name: &str) -> Result<(), StateError> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        && name.len() <= 128;
    if ok {
        Ok(())
    } else {
        Err(StateError::BadName(name.to_string()))
    }
}

/// The start time of process `pid` in clock ticks since boot (field 22 of /proc/PID/stat), None if gone.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Is the process `pid` that started at `start` still there (and not a reused PID)?
pub fn same_process(pid: i32, start: u64) -> bool {
    start_time(pid) == Some(start)
}

/// A new 64-hex-digit container id from the kernel's random source.
pub fn new_id() -> String {
    let mut bytes = [0u8; 32];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("reading /dev/urandom");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
