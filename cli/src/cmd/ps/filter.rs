//! `den ps --filter KEY=VALUE`, as docker reads them: values of one key are alternatives (any may
//! match), different keys must all match.

use std::collections::BTreeMap;

use den_runtime::state::{Container, Status};

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
}

const KEYS: &[&str] = &[
    "id", "name", "label", "status", "ancestor", "network", "exited", "before", "since",
];
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
            f.0.entry(k).or_default().push(v.to_string());
        }
        Ok(f)
    }

    /// A status filter lists containers in any state (as docker: no `-a` needed).
    pub fn has_status(&self) -> bool {
        self.0.contains_key("status") || self.0.contains_key("exited")
    }

    /// Whether `c` passes every filter; `all` is every container (for before=/since=).
    pub fn matches(&self, c: &Container, all: &[Container]) -> bool {
        self.0
            .iter()
            .all(|(k, values)| values.iter().any(|v| one(k, v, c, all)))
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

fn one(key: &str, v: &str, c: &Container, all: &[Container]) -> bool {
    match key {
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

/// docker matches names by regular expression; den knows the anchors `^` and `$` and otherwise
/// matches a substring.
fn name_matches(name: &str, pattern: &str) -> bool {
    let name = name.trim_start_matches('/');
    let (start, p) = match pattern.strip_prefix('^') {
        Some(p) => (true, p.trim_start_matches('/')),
        None => (false, pattern),
    };
    let (end, p) = match p.strip_suffix('$') {
        Some(p) => (true, p),
        None => (false, p),
    };
    match (start, end) {
        (true, true) => name == p,
        (true, false) => name.starts_with(p),
        (false, true) => name.ends_with(p),
        (false, false) => name.contains(p),
    }
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
    fn names_match_as_substrings_with_anchors() {
        assert!(name_matches("web-1", "web"));
        assert!(name_matches("web-1", "^web"));
        assert!(!name_matches("my-web", "^web"));
        assert!(name_matches("web", "^web$"));
        assert!(!name_matches("web-1", "^web$"));
    }
}
