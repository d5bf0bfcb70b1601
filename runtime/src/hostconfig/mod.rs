//! docker's HostConfig for the security and resource flags of `den run`: parsed and validated in
//! step 1 (one line naming the culprit, exit 125, nothing created), kept in the container's
//! `run.json` for `den start`, shown by `den inspect`, and turned into the OCI spec by
//! `spec::security`.

mod devices;
pub mod limits;
mod units;

use std::path::PathBuf;

use oci_spec::runtime::Capability;
use serde::{Deserialize, Serialize};

pub use devices::DeviceMapping;
pub use limits::Ulimit;

#[derive(Debug, thiserror::Error)]
pub enum HostConfigError {
    #[error("invalid argument {value:?} for {flag}: {reason}")]
    Invalid {
        flag: &'static str,
        value: String,
        reason: String,
    },
    #[error("Minimum memory limit allowed is 6MB (--memory {0})")]
    MemoryTooSmall(String),
    #[error("Minimum memoryswap limit should be larger than memory limit (--memory-swap {0})")]
    SwapBelowMemory(String),
    #[error(
        "You should always set the Memory limit when using Memoryswap limit (--memory-swap {0})"
    )]
    SwapWithoutMemory(String),
    #[error("unknown capability: {0:?}")]
    UnknownCap(String),
    #[error("error gathering device information while adding custom device {path:?}")]
    Device {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a device node (--device)")]
    NotADevice { path: String },
    #[error("invalid --security-opt {0:?}: use seccomp=unconfined|PROFILE.json or no-new-privileges[=true|false]")]
    SecurityOpt(String),
    #[error("opening seccomp profile {path}")]
    SeccompFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Seccomp(#[from] crate::seccomp::SeccompError),
    #[error("sysctl {key:?} is not allowed with --network {network}: it is not the container's own network namespace")]
    NetSysctl { key: String, network: String },
}

/// The flags as typed (`cli` passes them through unparsed).
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub memory: Option<String>,
    pub memory_swap: Option<String>,
    pub cpus: Option<String>,
    pub cpu_shares: Option<String>,
    pub cpuset_cpus: Option<String>,
    pub pids_limit: Option<String>,
    pub cgroup_parent: Option<String>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub privileged: bool,
    pub security_opt: Vec<String>,
    pub devices: Vec<String>,
    pub sysctls: Vec<String>,
    pub ulimits: Vec<String>,
}

/// docker's field names, so `den inspect` shows them as docker does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostConfig {
    pub memory: i64,
    pub memory_swap: i64,
    pub nano_cpus: i64,
    pub cpu_shares: i64,
    pub cpuset_cpus: String,
    pub pids_limit: Option<i64>,
    pub cgroup_parent: String,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub privileged: bool,
    pub security_opt: Vec<String>,
    pub devices: Vec<DeviceMapping>,
    pub sysctls: std::collections::BTreeMap<String, String>,
    pub ulimits: Vec<Ulimit>,
    /// `--security-opt no-new-privileges=false` turns it off (den's default is on, as before).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_new_privileges: Option<bool>,
    /// `seccomp=unconfined`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub seccomp_unconfined: bool,
    /// The text of `seccomp=PROFILE.json`, read (and checked) when the container was created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seccomp_profile: Option<String>,
}

/// docker's minimum for `--memory`.
const MIN_MEMORY: i64 = 6 * 1024 * 1024;

fn host_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `NET_ADMIN`, `cap_net_admin` or `ALL`, as docker writes it back (`CAP_NET_ADMIN`, `ALL`).
fn cap_name(s: &str) -> Result<String, HostConfigError> {
    let up = s.trim().to_ascii_uppercase();
    if up == "ALL" {
        return Ok(up);
    }
    let bare = up.strip_prefix("CAP_").unwrap_or(&up);
    bare.parse::<Capability>()
        .map(|_| format!("CAP_{bare}"))
        .map_err(|_| HostConfigError::UnknownCap(format!("CAP_{bare}")))
}

impl HostConfig {
    pub fn parse(f: &Flags) -> Result<HostConfig, HostConfigError> {
        let mut h = HostConfig {
            privileged: f.privileged,
            cgroup_parent: f.cgroup_parent.clone().unwrap_or_default(),
            security_opt: f.security_opt.clone(),
            ..HostConfig::default()
        };
        if let Some(m) = &f.memory {
            h.memory = units::ram_bytes("--memory", m)?;
            if h.memory != 0 && h.memory < MIN_MEMORY {
                return Err(HostConfigError::MemoryTooSmall(m.clone()));
            }
        }
        if let Some(s) = &f.memory_swap {
            h.memory_swap = units::swap_bytes(s)?;
            if h.memory == 0 {
                return Err(HostConfigError::SwapWithoutMemory(s.clone()));
            }
            if h.memory_swap > 0 && h.memory_swap < h.memory {
                return Err(HostConfigError::SwapBelowMemory(s.clone()));
            }
        } else if h.memory > 0 {
            // docker's default: as much swap as memory.
            h.memory_swap = h.memory * 2;
        }
        if let Some(c) = &f.cpus {
            h.nano_cpus = units::nano_cpus(c, host_cpus())?;
        }
        if let Some(s) = &f.cpu_shares {
            h.cpu_shares = units::int("--cpu-shares", s)?;
            if h.cpu_shares < 0 {
                return Err(HostConfigError::Invalid {
                    flag: "--cpu-shares",
                    value: s.clone(),
                    reason: "must be positive".into(),
                });
            }
        }
        if let Some(s) = &f.cpuset_cpus {
            h.cpuset_cpus = units::cpu_list(s, host_cpus())?;
        }
        if let Some(p) = &f.pids_limit {
            h.pids_limit = Some(units::int("--pids-limit", p)?);
        }
        h.cap_add = f
            .cap_add
            .iter()
            .map(|c| cap_name(c))
            .collect::<Result<_, _>>()?;
        h.cap_drop = f
            .cap_drop
            .iter()
            .map(|c| cap_name(c))
            .collect::<Result<_, _>>()?;
        h.devices = f
            .devices
            .iter()
            .map(|d| DeviceMapping::parse(d))
            .collect::<Result<_, _>>()?;
        for s in &f.sysctls {
            let (k, v) = limits::sysctl(s)?;
            h.sysctls.insert(k, v);
        }
        h.ulimits = f
            .ulimits
            .iter()
            .map(|u| limits::ulimit(u))
            .collect::<Result<_, _>>()?;
        for opt in &f.security_opt {
            h.security_opt_one(opt)?;
        }
        Ok(h)
    }

    fn security_opt_one(&mut self, opt: &str) -> Result<(), HostConfigError> {
        let (key, value) = opt
            .split_once(['=', ':'])
            .map_or((opt, None), |(k, v)| (k, Some(v)));
        match (key, value) {
            ("no-new-privileges", None) => self.no_new_privileges = Some(true),
            ("no-new-privileges", Some(v)) => {
                self.no_new_privileges = Some(
                    v.parse()
                        .map_err(|_| HostConfigError::SecurityOpt(opt.into()))?,
                )
            }
            ("seccomp", Some("unconfined")) => self.seccomp_unconfined = true,
            ("seccomp", Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|source| {
                    HostConfigError::SeccompFile {
                        path: path.into(),
                        source,
                    }
                })?;
                // Refused now if it is not a profile, not at start.
                crate::seccomp::Profile::parse(&text, path)?;
                self.seccomp_profile = Some(text);
            }
            _ => return Err(HostConfigError::SecurityOpt(opt.into())),
        }
        Ok(())
    }

    /// docker's rule: `net.*` sysctls only in the container's own network namespace.
    pub fn check_network(&self, own_netns: bool, network: &str) -> Result<(), HostConfigError> {
        match self.sysctls.keys().find(|k| k.starts_with("net.")) {
            Some(key) if !own_netns => Err(HostConfigError::NetSysctl {
                key: key.clone(),
                network: network.to_owned(),
            }),
            _ => Ok(()),
        }
    }

    /// Whether no_new_privs is set (den's default: yes).
    pub fn no_new_privs(&self) -> bool {
        self.no_new_privileges.unwrap_or(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(f: Flags) -> Result<HostConfig, HostConfigError> {
        HostConfig::parse(&f)
    }

    #[test]
    fn docker_rules_for_memory_and_caps() {
        let h = parse(Flags {
            memory: Some("32m".into()),
            cap_add: vec!["net_admin".into(), "ALL".into()],
            ..Flags::default()
        })
        .unwrap();
        assert_eq!((h.memory, h.memory_swap), (32 << 20, 64 << 20));
        assert_eq!(h.cap_add, ["CAP_NET_ADMIN", "ALL"]);
        let small = Flags {
            memory: Some("1k".into()),
            ..Flags::default()
        };
        assert!(matches!(
            parse(small),
            Err(HostConfigError::MemoryTooSmall(_))
        ));
        let nope = Flags {
            cap_add: vec!["NOPE".into()],
            ..Flags::default()
        };
        assert!(matches!(parse(nope), Err(HostConfigError::UnknownCap(_))));
        let swap = Flags {
            memory_swap: Some("1g".into()),
            ..Flags::default()
        };
        assert!(parse(swap).is_err());
        let opt = Flags {
            security_opt: vec!["no-new-privileges=false".into()],
            ..Flags::default()
        };
        assert!(!parse(opt).unwrap().no_new_privs());
        let bad = Flags {
            security_opt: vec!["apparmor=x".into()],
            ..Flags::default()
        };
        assert!(parse(bad).is_err());
    }
}
