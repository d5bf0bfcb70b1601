//! `den ps --filter KEY=VALUE`, as docker reads them: values of one key are alternatives (any may
//! match), different keys must all match (but `publish=` and `expose=` are alternatives of each
//! other, as in moby's list filter).

use std::collections::BTreeMap;

use den_runtime::image::ImageStore;
use den_runtime::state::{Container, HealthStatus, Status, Store};
use den_runtime::volume;

#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("bad format of filter (expected name=value): {0}")]
    NoValue(String),
    #[error("invalid filter '{0}'")]
    UnknownKey(String),
    #[error("invalid filter 'status={0}': use created, restarting, running, removing, paused, exited or dead")]
    BadStatus(String),
    #[error("invalid filter 'exited={0}': not an exit code")]
    BadExit(String),
    #[error("invalid filter '{key}={value}': no such container")]
    NoSuchContainer { key: String, value: String },
    #[error("Unrecognised filter value for health: {0}")]
    BadHealth(String),
    #[error("filter for '{key}' should not contain ':': {value}")]
    PortWithColon { key: String, value: String },
    #[error("error while looking up for {key} {value}: invalid port range")]
    BadPort { key: String, value: String },
    #[error("invalid filter 'is-task={0}': use true or false")]
    BadBool(String),
}

const KEYS: &[&str] = &[
    "id", "name", "label", "status", "ancestor", "network", "exited", "before", "since", "health",
    "volume", "publish", "expose", "is-task",
];
const HEALTH: &[&str] = &["starting", "healthy", "unhealthy", "none"];
const STATUSES: &[&str] = &[
    "created",
    "restarting",
    "running",
    "removing",
    "paused",
    "exited",
    "dead",
];

#[derive(Debug, Default)]
pub struct Filters(BTreeMap<String, Vec<String>>);

impl Filters {
    pub fn parse(specs: &[String]) -> Result<Filters, FilterError> {
        let mut f = Filters::default();
        for s in specs {
            let (k, v) = s
                .split_once('=')
                .ok_or_else(|| FilterError::NoValue(s.clone()))?;
            let k = k.trim().to_lowercase();
            if !KEYS.contains(&k.as_str()) {
                return Err(FilterError::UnknownKey(k));
            }
            if k == "status" && !STATUSES.contains(&v) {
                return Err(FilterError::BadStatus(v.into()));
            }
            if k == "exited" && v.parse::<i32>().is_err() {
                return Err(FilterError::BadExit(v.into()));
            }
            if k == "health" && !HEALTH.contains(&v) {
                return Err(FilterError::BadHealth(v.into()));
            }
            if k == "publish" || k == "expose" {
                port_filter(&k, v)?;
            }
            if k == "is-task" && !matches!(v, "true" | "false" | "1" | "0") {
                return Err(FilterError::BadBool(v.into()));
            }
            f.0.entry(k).or_default().push(v.to_string());
        }
        Ok(f)
    }

    /// A status filter lists containers in any state (as docker: no `-a` needed).
    pub fn has_status(&self) -> bool {
        self.0.contains_key("status") || self.0.contains_key("exited")
    }

    /// Whether `c` passes every filter; `all` is every container (for before=/since=).
    pub fn matches(&self, c: &Container, all: &[Container], store: &Store) -> bool {
        let ports = ["publish", "expose"];
        self.0
            .iter()
            .filter(|(k, _)| !ports.contains(&k.as_str()))
            .all(|(k, values)| values.iter().any(|v| one(k, v, c, all, store)))
            && self.ports_match(c, store)
    }

    /// `publish=` (a host port) or `expose=` (a container port, published or exposed by
    /// `--expose` or the image): `PORT[/PROTO]` or `START-END[/PROTO]`, tcp if not given, of a
    /// running container (docker lists no ports of others).
    fn ports_match(&self, c: &Container, store: &Store) -> bool {
        let wanted = |key: &str| -> Vec<(u16, u16, String)> {
            let specs = self.0.get(key).into_iter().flatten();
            specs.filter_map(|v| port_filter(key, v).ok()).collect()
        };
        let (publish, expose) = (wanted("publish"), wanted("expose"));
        if publish.is_empty() && expose.is_empty() {
            return true;
        }
        if c.status != Status::Running {
            return false;
        }
        let hit = |want: &[(u16, u16, String)], port: u16, proto: &str| {
            want.iter()
                .any(|(lo, hi, p)| (*lo..=*hi).contains(&port) && p == proto)
        };
        let published = c.network.iter().flat_map(|n| &n.ports);
        for p in published {
            let proto = p.proto.to_string();
            if hit(&publish, p.host_port, &proto) || hit(&expose, p.container_port, &proto) {
                return true;
            }
        }
        if expose.is_empty() {
            return false;
        }
        let image = ImageStore::new(store.root())
            .config_of_id(&c.image_id)
            .map(|i| i.exposed().to_vec())
            .unwrap_or_default();
        c.exposed_ports.iter().chain(&image).any(|e| {
            let (port, proto) = e.split_once('/').unwrap_or((e, "tcp"));
            port.parse().is_ok_and(|port| hit(&expose, port, proto))
        })
    }

    /// Checks that before=/since= name existing containers (docker refuses others).
    pub fn check_refs(&self, all: &[Container]) -> Result<(), FilterError> {
        for key in ["before", "since"] {
            for v in self.0.get(key).into_iter().flatten() {
                if find(all, v).is_none() {
                    return Err(FilterError::NoSuchContainer {
                        key: key.into(),
                        value: v.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}

fn find<'a>(all: &'a [Container], key: &str) -> Option<&'a Container> {
    all.iter()
        .find(|c| c.name == key || c.id == key)
        .or_else(|| all.iter().find(|c| c.id.starts_with(key)))
}

/// `PORT[/PROTO]` or `START-END[/PROTO]` (moby's `portOp`).
fn port_filter(key: &str, v: &str) -> Result<(u16, u16, String), FilterError> {
    if v.contains(':') {
        return Err(FilterError::PortWithColon {
            key: key.into(),
            value: v.into(),
        });
    }
    let bad = || FilterError::BadPort {
        key: key.into(),
        value: v.into(),
    };
    let (ports, proto) = v.split_once('/').unwrap_or((v, "tcp"));
    let (lo, hi) = ports.split_once('-').unwrap_or((ports, ports));
    let (lo, hi): (u16, u16) = (
        lo.parse().map_err(|_| bad())?,
        hi.parse().map_err(|_| bad())?,
    );
    if lo > hi || !matches!(proto, "tcp" | "udp" | "sctp") {
        return Err(bad());
    }
    Ok((lo, hi, proto.to_string()))
}

fn one(key: &str, v: &str, c: &Container, all: &[Container], store: &Store) -> bool {
    match key {
        "health" => match c.health().filter(|_| c.life.healthcheck.is_some()) {
            None => v == "none",
            Some(h) => {
                v == match h.status {
                    HealthStatus::Starting => "starting",
                    HealthStatus::Healthy => "healthy",
                    HealthStatus::Unhealthy => "unhealthy",
                }
            }
        },
        "volume" => volume::mounts_of(&store.dir(&c.id)).mounts.iter().any(|m| {
            m.destination == v
                || (!m.name.is_empty() && m.name == v)
                || (m.name.is_empty() && m.source.as_os_str() == v)
        }),
        "is-task" => matches!(v, "false" | "0"),
        "id" => c.id.starts_with(v),
        "name" => name_matches(&c.name, v),
        "label" => match v.split_once('=') {
            Some((k, want)) => c.labels.get(k).is_some_and(|have| have == want),
            None => c.labels.contains_key(v),
        },
        "status" => status_name(c) == v,
        "exited" => {
            c.status == Status::Exited && c.exit_code.map(|e| e.to_string()).as_deref() == Some(v)
        }
        "ancestor" => ancestor(c, v),
        "network" => c.network.as_ref().is_some_and(|n| n.network == v) || c.network_mode == v,
        "before" => find(all, v).is_some_and(|r| {
            c.created < r.created || (c.created == r.created && c.id != r.id && is_older(all, c, r))
        }),
        "since" => find(all, v).is_some_and(|r| {
            c.created > r.created || (c.created == r.created && c.id != r.id && is_older(all, r, c))
        }),
        _ => false,
    }
}

/// Within one second, the order the store lists them in (oldest last in `all`, newest first).
fn is_older(all: &[Container], a: &Container, b: &Container) -> bool {
    let pos = |x: &Container| all.iter().position(|c| c.id == x.id);
    pos(a) > pos(b)
}

fn status_name(c: &Container) -> &'static str {
    match c.status {
        Status::Created => "created",
        Status::Running => "running",
        Status::Exited => "exited",
    }
}

/// docker's (moby's `filters.Match`): the name equals the pattern, or the pattern is a regular
/// expression that matches it, with or without its leading `/`; a pattern that is not a regular
/// expression matches only itself.
fn name_matches(name: &str, pattern: &str) -> bool {
    let name = name.trim_start_matches('/');
    let slashed = format!("/{name}");
    if pattern == name || pattern == slashed {
        return true;
    }
    regex::Regex::new(pattern).is_ok_and(|re| re.is_match(name) || re.is_match(&slashed))
}

/// The image a container was made from, by name (`alpine` is `alpine:latest`) or id prefix.
fn ancestor(c: &Container, v: &str) -> bool {
    let with_tag = |s: &str| {
        if s.rsplit('/').next().is_some_and(|last| last.contains(':')) {
            s.to_string()
        } else {
            format!("{s}:latest")
        }
    };
    let id = c.image_id.trim_start_matches("sha256:");
    let v_id = v.trim_start_matches("sha256:");
    c.image == v || with_tag(&c.image) == with_tag(v) || (v_id.len() >= 3 && id.starts_with(v_id))
}

#[cfg(test)]
mod tests {
    use super::name_matches;

    #[test]
    fn names_match_as_docker_s_regular_expressions() {
        assert!(name_matches("web-1", "web"));
        assert!(name_matches("web-1", "^web"));
        assert!(!name_matches("my-web", "^web"));
        assert!(name_matches("web", "^web$"));
        assert!(name_matches("web", "^/web$"));
        assert!(!name_matches("web-1", "^web$"));
        assert!(name_matches("web-12", "web-[0-9]+$"));
        assert!(name_matches("db", "db|cache"));
        assert!(!name_matches("web", "(unclosed"));
        assert!(name_matches("(unclosed", "(unclosed"));
    }
}
