//! `ROOT/ID/state.json`: what `create` recorded; the status is observed, not stored: the pid
//! (checked by its start time) alive with the exec fifo still there is `created`, alive without
//! it `running`, gone `stopped`.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Hooks;
use serde::{Deserialize, Serialize};

use super::{container_dir, fifo, OciError, OCI_VERSION};
use crate::cgroups::Planned;
use crate::state;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub pid: i32,
    pub pid_start: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// RFC 3339, as runc's `state` prints it.
    pub created: String,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    #[serde(default)]
    pub hooks: Option<Hooks>,
    #[serde(default)]
    pub cgroup: Option<Planned>,
    /// The spec's process (args, env, user, capabilities) for `exec`'s defaults.
    #[serde(default)]
    pub process: Option<oci_spec::runtime::Process>,
    #[serde(default)]
    pub seccomp: Option<oci_spec::runtime::LinuxSeccomp>,
    /// v1: the container's own freezer cgroup (den's cgroups have no freezer controller).
    #[serde(default)]
    pub freezer: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OciStatus {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl OciStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OciStatus::Creating => "creating",
            OciStatus::Created => "created",
            OciStatus::Running => "running",
            OciStatus::Paused => "paused",
            OciStatus::Stopped => "stopped",
        }
    }
}

impl std::fmt::Display for OciStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl Record {
    pub fn dir(&self, root: &Path) -> PathBuf {
        root.join(&self.id)
    }

    /// Its PID 1 is the process `create` made and has not exited (a zombie whose reaper, the
    /// engine, has not waited yet counts as exited).
    pub fn alive(&self) -> bool {
        state::same_process(self.pid, self.pid_start) && !zombie(self.pid)
    }

    pub fn status(&self, root: &Path) -> OciStatus {
        if !self.alive() {
            return OciStatus::Stopped;
        }
        if fifo(&self.dir(root)).exists() {
            return OciStatus::Created;
        }
        if self.frozen() {
            return OciStatus::Paused;
        }
        OciStatus::Running
    }

    fn frozen(&self) -> bool {
        let Some(cg) = &self.cgroup else { return false };
        cg.dirs.iter().chain(self.freezer.iter()).any(|d| {
            let v1 = fs::read_to_string(d.join("freezer.state"));
            let v2 = fs::read_to_string(d.join("cgroup.freeze"));
            v1.is_ok_and(|s| s.trim() == "FROZEN") || v2.is_ok_and(|s| s.trim() == "1")
        })
    }

    /// The OCI state (`state` prints it; hooks read it on stdin), with runc's extra fields.
    pub fn state_json(&self, status: OciStatus) -> serde_json::Value {
        let pid = match status {
            OciStatus::Stopped => 0,
            _ => self.pid,
        };
        serde_json::json!({
            "ociVersion": OCI_VERSION,
            "id": self.id,
            "pid": pid,
            "status": status.as_str(),
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created,
            "owner": "",
            "annotations": self.annotations,
        })
    }

    pub(crate) fn save(&self, dir: &Path) -> Result<(), OciError> {
        let path = dir.join("state.json");
        let tmp = dir.join("state.json.tmp");
        let body = serde_json::to_vec(self).expect("a record serialises");
        fs::write(&tmp, body).map_err(OciError::io("writing", &tmp))?;
        fs::rename(&tmp, &path).map_err(OciError::io("writing", path))
    }
}

fn zombie(pid: i32) -> bool {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // `pid (comm) S ...`: comm may hold spaces and parens, so read after the last ')'.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|s| s == "Z" || s == "X")
}

/// The record of container `id` under `root`.
pub fn load(root: &Path, id: &str) -> Result<Record, OciError> {
    let path = container_dir(root, id)?.join("state.json");
    let body = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(OciError::NotFound { id: id.to_owned() })
        }
        Err(e) => return Err(OciError::io("reading", path)(e)),
    };
    serde_json::from_slice(&body).map_err(|source| OciError::BadConfig { path, source })
}

/// Every container under `root` (dirs without a readable record, e.g. mid-create, skipped).
pub fn list(root: &Path) -> Result<Vec<Record>, OciError> {
    let entries = match fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(OciError::io("listing", root)(e)),
    };
    let mut all: Vec<Record> = entries
        .flatten()
        .filter_map(|e| load(root, &e.file_name().to_string_lossy()).ok())
        .collect();
    all.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(all)
}
