//! den's config file: `/etc/den/config.toml` (or `$DEN_CONFIG`), read by every den process;
//! command-line flags override it. docker's daemon.json keys, in TOML:
//!
//! ```toml
//! insecure-registries = ["registry.lan:5000"]
//! cgroup-parent = "den"             # default --cgroup-parent
//! dns = ["10.0.0.53"]               # the containers' nameservers (else the host's)
//! dns-search = ["lan"]
//! dns-options = ["ndots:2"]
//! log-opts = { max-size = "10m", max-file = "3" }
//!
//! [default-bridge]                  # the default network `bridge`
//! subnet = "10.200.0.0/24"
//! bridge = "den0"
//! ```
//!
//! A JSON file (`/etc/den/config.json`, the file den read before, with docker's same keys) is
//! still read when there is no TOML one.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use den_netcfg::network::Ipv4Net;
use serde::Deserialize;

const TOML_PATH: &str = "/etc/den/config.toml";
const JSON_PATH: &str = "/etc/den/config.json";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("config file {path}")]
    Toml {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("config file {path}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub insecure_registries: Vec<String>,
    pub cgroup_parent: Option<String>,
    #[serde(default)]
    pub dns: Vec<String>,
    #[serde(default)]
    pub dns_search: Vec<String>,
    #[serde(default, alias = "dns-opts")]
    pub dns_options: Vec<String>,
    /// docker's `log-opts` (`max-size`, `max-file`): the defaults of `--log-opt`.
    #[serde(default)]
    pub log_opts: BTreeMap<String, String>,
    #[serde(default)]
    pub default_bridge: DefaultBridge,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DefaultBridge {
    pub subnet: Option<Ipv4Net>,
    pub bridge: Option<String>,
}

/// The file den reads: `$DEN_CONFIG`, else config.toml, else the older config.json.
pub fn path() -> PathBuf {
    if let Some(p) = std::env::var_os("DEN_CONFIG") {
        return PathBuf::from(p);
    }
    if Path::new(TOML_PATH).exists() || !Path::new(JSON_PATH).exists() {
        PathBuf::from(TOML_PATH)
    } else {
        PathBuf::from(JSON_PATH)
    }
}

/// The config; the defaults if there is no file.
pub fn load() -> Result<Config, ConfigError> {
    let path = path();
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Config::default()),
        Err(source) => return Err(ConfigError::Read { path, source }),
    };
    parse(&path, &text)
}

/// `text` as TOML, or as JSON when the file is a `.json` one (or its text starts with `{`).
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let json = path.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{');
    if json {
        serde_json::from_str(text).map_err(|source| ConfigError::Json {
            path: path.to_path_buf(),
            source,
        })
    } else {
        toml::from_str(text).map_err(|source| ConfigError::Toml {
            path: path.to_path_buf(),
            source,
        })
    }
}

impl Config {
    /// The host's resolv.conf text with the configured nameservers, search domains and options in
    /// place of the host's (each only where configured), as docker's daemon.json `dns*` keys do.
    pub fn resolv_conf(&self, host: &str) -> String {
        let replaced = |key: &str| match key {
            "nameserver" => !self.dns.is_empty(),
            "search" | "domain" => !self.dns_search.is_empty(),
            "options" => !self.dns_options.is_empty(),
            _ => false,
        };
        let mut out: String = host
            .lines()
            .filter(|l| !l.split_whitespace().next().is_some_and(replaced))
            .map(|l| format!("{l}\n"))
            .collect();
        for ns in &self.dns {
            out.push_str(&format!("nameserver {ns}\n"));
        }
        if !self.dns_search.is_empty() {
            out.push_str(&format!("search {}\n", self.dns_search.join(" ")));
        }
        if !self.dns_options.is_empty() {
            out.push_str(&format!("options {}\n", self.dns_options.join(" ")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_docker_keys_in_toml_and_json() {
        let t = r#"
insecure-registries = ["r:5000"]
cgroup-parent = "den-test"
dns = ["10.0.0.53"]
log-opts = { max-size = "10m", max-file = "3" }
[default-bridge]
subnet = "10.200.0.0/24"
bridge = "den9"
"#;
        let c = parse(Path::new("c.toml"), t).unwrap();
        assert_eq!(c.insecure_registries, ["r:5000"]);
        assert_eq!(c.cgroup_parent.as_deref(), Some("den-test"));
        assert_eq!(c.log_opts["max-file"], "3");
        assert_eq!(
            c.default_bridge.subnet,
            Some("10.200.0.0/24".parse().unwrap())
        );
        let j = parse(
            Path::new("c.json"),
            r#"{"insecure-registries": ["r:5000"]}"#,
        )
        .unwrap();
        assert_eq!(j.insecure_registries, ["r:5000"]);
        assert!(parse(Path::new("c.toml"), "colour = 1").is_err());
    }

    #[test]
    fn configured_dns_replaces_the_hosts() {
        let c = Config {
            dns: vec!["10.0.0.53".into()],
            dns_search: vec!["lan".into()],
            ..Config::default()
        };
        let host = "nameserver 1.1.1.1\nsearch home\noptions edns0\n";
        assert_eq!(
            c.resolv_conf(host),
            "options edns0\nnameserver 10.0.0.53\nsearch lan\n"
        );
        assert_eq!(Config::default().resolv_conf(host), host);
    }
}
