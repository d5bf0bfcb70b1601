//! The `--filter` of docker's prune verbs: `until=TIME` (RFC 3339, Unix seconds, or a duration
//! before now such as `24h`) keeps what was made after TIME; `label=KEY[=VALUE]` prunes only what
//! has that label, `label!=KEY[=VALUE]` only what has not. Values of one key are alternatives,
//! keys must all match, as in moby's prune filters.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use den_runtime::logs::stamp;

#[derive(Debug, thiserror::Error)]
pub enum PruneFilterError {
    #[error("bad format of filter (expected name=value): {0}")]
    NoValue(String),
    #[error("invalid filter '{0}'")]
    UnknownKey(String),
    #[error("failed to parse value as time or duration: {0:?}")]
    BadTime(String),
}

#[derive(Debug, Default)]
pub struct PruneFilters {
    /// Prune only what was made before this (Unix seconds).
    until: Vec<Duration>,
    label: Vec<(String, Option<String>)>,
    not_label: Vec<(String, Option<String>)>,
}

impl PruneFilters {
    pub fn parse(specs: &[String]) -> Result<PruneFilters, PruneFilterError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut f = PruneFilters::default();
        for s in specs {
            let (k, v) = s
                .split_once('=')
                .ok_or_else(|| PruneFilterError::NoValue(s.clone()))?;
            let label = || match v.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (v.to_string(), None),
            };
            match k.trim() {
                "until" => f.until.push(
                    stamp::parse_time(v, now).map_err(|_| PruneFilterError::BadTime(v.into()))?,
                ),
                "label" => f.label.push(label()),
                // `label!=x` splits at its `=` as `label!` and `x`.
                "label!" => f.not_label.push(label()),
                other => return Err(PruneFilterError::UnknownKey(other.to_string())),
            }
        }
        Ok(f)
    }

    /// Whether something made at `created` (None: unknown, never older than an `until`) with
    /// `labels` is to be pruned.
    pub fn matches(&self, created: Option<Duration>, labels: &BTreeMap<String, String>) -> bool {
        let has = |(k, v): &(String, Option<String>)| match v {
            Some(v) => labels.get(k) == Some(v),
            None => labels.contains_key(k),
        };
        let until =
            self.until.is_empty() || created.is_some_and(|c| self.until.iter().any(|u| c < *u));
        let label = self.label.is_empty() || self.label.iter().any(has);
        let not_label = !self.not_label.iter().any(has);
        until && label && not_label
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(specs: &[&str]) -> PruneFilters {
        PruneFilters::parse(&specs.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn until_and_labels_select_as_moby_s_prune() {
        let none = BTreeMap::new();
        let old = Some(Duration::from_secs(1_000));
        let labelled: BTreeMap<String, String> = [("env".to_string(), "ci".to_string())].into();
        assert!(f(&["until=2000"]).matches(old, &none));
        assert!(!f(&["until=500"]).matches(old, &none));
        assert!(!f(&["until=500"]).matches(None, &none));
        assert!(f(&["label=env"]).matches(old, &labelled));
        assert!(f(&["label=env=ci"]).matches(old, &labelled));
        assert!(!f(&["label=env=prod"]).matches(old, &labelled));
        assert!(!f(&["label!=env"]).matches(old, &labelled));
        assert!(f(&["label!=env"]).matches(old, &none));
        assert!(f(&["until=1h"]).matches(old, &none));
        assert!(PruneFilters::parse(&["dangling=true".into()]).is_err());
        assert!(PruneFilters::parse(&["until=soon".into()]).is_err());
    }
}
