//! What `den start` needs beyond the container's record (`state.json`): `<dir>/run.json`, written
//! once when the container is created. The rest (command, env, hostname, network, published ports,
//! `--rm`) is in the record already.

use std::fs;
use std::path::Path;

use den_netcfg::{PortMapping, PortSpec};
use serde::{Deserialize, Serialize};

use super::RunError;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Saved {
    /// The working directory inside the container.
    pub cwd: String,
    /// `-u` or the image's user.
    pub user: Option<String>,
    /// The entrypoint part of the container's command (docker's Config.Entrypoint; the rest is
    /// Config.Cmd); `None` for a container made before den kept it.
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    /// The security and resource flags (`hostconfig`).
    #[serde(default)]
    pub host: crate::hostconfig::HostConfig,
    /// `--dns*` and `--add-host`, for /etc/resolv.conf and /etc/hosts.
    #[serde(default)]
    pub etc: super::netflags::EtcSettings,
    /// `--mac-address`.
    #[serde(default)]
    pub mac: Option<[u8; 6]>,
    /// `den create`: its `-p` specs and `--ip`, for its first `den start` (later starts take
    /// the mappings it had).
    #[serde(default)]
    pub publish: Vec<String>,
    #[serde(default)]
    pub ip: Option<std::net::Ipv4Addr>,
}

const FILE: &str = "run.json";

impl Saved {
    pub fn save(&self, dir: &Path) -> Result<(), RunError> {
        let path = dir.join(FILE);
        let body = serde_json::to_vec_pretty(self).expect("run options serialise");
        fs::write(&path, body).map_err(RunError::io("writing", path))
    }

    pub fn load(dir: &Path) -> Result<Saved, RunError> {
        let path = dir.join(FILE);
        let body = fs::read(&path).map_err(RunError::io("reading", path.clone()))?;
        serde_json::from_slice(&body).map_err(|e| RunError::Io {
            what: "parsing",
            path,
            source: e.into(),
        })
    }
}

/// The security and resource settings container dir `dir` was created with (docker's defaults
/// for a container made before den had them).
pub fn host_config(dir: &Path) -> crate::hostconfig::HostConfig {
    Saved::load(dir).map(|s| s.host).unwrap_or_default()
}

/// What docker's inspect shows of the process, beyond the record: its working directory, user and
/// entrypoint (`None`s for a container made before den kept them).
#[derive(Debug, Clone, Default)]
pub struct ProcessSettings {
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub entrypoint: Option<Vec<String>>,
}

/// [`ProcessSettings`] of container dir `dir`.
pub fn process_settings(dir: &Path) -> ProcessSettings {
    Saved::load(dir)
        .map(|s| ProcessSettings {
            working_dir: Some(s.cwd),
            user: s.user,
            entrypoint: s.entrypoint,
        })
        .unwrap_or_default()
}

/// A `-p` spec that asks for exactly the mapping the container had (its host port included, also
/// when that was picked at random), so `den start` publishes the same ports again.
pub(crate) fn exact_spec(m: &PortMapping) -> PortSpec {
    PortSpec {
        host_ip: (!m.host_ip.is_unspecified()).then_some(m.host_ip),
        host_ports: Some((m.host_port, m.host_port)),
        container_ports: (m.container_port, m.container_port),
        proto: m.proto,
    }
}
