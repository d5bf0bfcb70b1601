//! `den events --filter KEY=VALUE`, as docker matches them: values of one key are alternatives,
//! different keys must all match.

use std::collections::BTreeMap;

use super::{Event, Kind};

#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("bad format of filter (expected name=value): {0}")]
    Syntax(String),
    #[error("invalid filter '{0}'")]
    UnknownKey(String),
    #[error("invalid filter 'type={0}': one of container, image, network, volume")]
    UnknownType(String),
}

const KEYS: [&str; 8] = [
    "type",
    "event",
    "container",
    "image",
    "network",
    "volume",
    "label",
    "scope",
];

/// The parsed `--filter`s: each key with the values given for it.
#[derive(Debug, Clone, Default)]
pub struct Filter(BTreeMap<String, Vec<String>>);

impl Filter {
    pub fn parse(specs: &[String]) -> Result<Filter, FilterError> {
        let mut f = Filter::default();
        for s in specs {
            let (k, v) = s
                .split_once('=')
                .ok_or_else(|| FilterError::Syntax(s.clone()))?;
            let k = k.trim().to_ascii_lowercase();
            if !KEYS.contains(&k.as_str()) {
                return Err(FilterError::UnknownKey(k));
            }
            if k == "type" && !["container", "image", "network", "volume"].contains(&v) {
                return Err(FilterError::UnknownType(v.into()));
            }
            f.0.entry(k).or_default().push(v.into());
        }
        Ok(f)
    }

    pub fn matches(&self, e: &Event) -> bool {
        self.0.iter().all(|(k, vs)| vs.iter().any(|v| one(k, v, e)))
    }
}

fn one(key: &str, v: &str, e: &Event) -> bool {
    let attr = |k: &str| e.actor.attributes.get(k).map(String::as_str);
    // docker's actions with a detail (`exec_start: sh -c ...`, `health_status: healthy`) match
    // their name alone too.
    let action = e.action.split(':').next().unwrap_or_default();
    match key {
        "type" => e.kind.as_str() == v,
        "event" => e.action == v || action == v,
        "scope" => e.scope == v,
        "container" => e.kind == Kind::Container && named(e, v),
        "network" => e.kind == Kind::Network && named(e, v),
        "volume" => e.kind == Kind::Volume && named(e, v),
        // An image's own events by id or name, and the events of containers made from it.
        "image" => match e.kind {
            Kind::Image => named(e, v) || attr("name").is_some_and(|n| same_image(n, v)),
            _ => attr("image").is_some_and(|n| same_image(n, v)),
        },
        "label" => match v.split_once('=') {
            Some((k, want)) => attr(k) == Some(want),
            None => attr(v).is_some(),
        },
        _ => false,
    }
}

/// docker's match of an object: its id, a prefix of it, or its name.
fn named(e: &Event, v: &str) -> bool {
    let id = e.actor.id.trim_start_matches("sha256:");
    e.actor.id == v
        || (!v.is_empty() && id.starts_with(v.trim_start_matches("sha256:")))
        || e.actor.attributes.get("name").is_some_and(|n| n == v)
}

/// `alpine` matches `alpine:latest`, and a name with a tag matches itself.
fn same_image(name: &str, v: &str) -> bool {
    let untagged = |s: &str| match s.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo.to_string(), tag.to_string()),
        _ => (s.to_string(), "latest".into()),
    };
    name == v || untagged(name) == untagged(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(specs: &[&str]) -> Filter {
        Filter::parse(&specs.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn keys_and_together_values_or_together() {
        let e = Event::new(Kind::Container, "start", "abcdef")
            .attr("name", "web")
            .attr("image", "alpine:latest")
            .attr("tier", "front");
        assert!(f(&["type=container", "event=start", "event=die"]).matches(&e));
        assert!(!f(&["type=container", "event=die"]).matches(&e));
        assert!(f(&["container=web"]).matches(&e));
        assert!(f(&["container=abc"]).matches(&e));
        assert!(!f(&["network=web"]).matches(&e));
        assert!(f(&["image=alpine"]).matches(&e));
        assert!(f(&["label=tier", "label=nope"]).matches(&e));
        assert!(f(&["label=tier=front"]).matches(&e));
        assert!(!f(&["label=tier=back"]).matches(&e));
    }

    #[test]
    fn detailed_actions_match_by_their_name() {
        let e = Event::new(Kind::Container, "health_status: healthy", "abc");
        assert!(f(&["event=health_status"]).matches(&e));
    }

    #[test]
    fn bad_filters_are_refused() {
        assert!(Filter::parse(&["nope".into()]).is_err());
        assert!(Filter::parse(&["colour=red".into()]).is_err());
        assert!(Filter::parse(&["type=plugin".into()]).is_err());
    }
}
