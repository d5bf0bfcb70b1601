//! What the supervisor does with a container besides waiting for it: its restart policy (docker's
//! `--restart`, with docker's backoff), its health check settings, and how `den stop` stops it.
//! Kept in the record (`state.json`) so `den inspect` shows them and every supervisor of the
//! container (one per start) reads the same.

use std::fmt;
use std::fs;
use std::io;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::health::{Health, HealthConfig};
use super::{io_err, Container, StateError, Store};

/// docker's `--restart`: `no`, `on-failure[:N]` (0: no limit), `always`, `unless-stopped`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "DockerPolicy", from = "DockerPolicy")]
pub enum RestartPolicy {
    #[default]
    No,
    OnFailure(u32),
    Always,
    UnlessStopped,
}

/// docker's `HostConfig.RestartPolicy` shape.
#[derive(Serialize, Deserialize)]
struct DockerPolicy {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "MaximumRetryCount", default)]
    maximum_retry_count: u32,
}

impl From<RestartPolicy> for DockerPolicy {
    fn from(p: RestartPolicy) -> Self {
        let maximum_retry_count = match p {
            RestartPolicy::OnFailure(n) => n,
            _ => 0,
        };
        let name = match p {
            RestartPolicy::No => "no",
            RestartPolicy::OnFailure(_) => "on-failure",
            RestartPolicy::Always => "always",
            RestartPolicy::UnlessStopped => "unless-stopped",
        };
        DockerPolicy {
            name: name.into(),
            maximum_retry_count,
        }
    }
}

impl From<DockerPolicy> for RestartPolicy {
    fn from(p: DockerPolicy) -> Self {
        match p.name.as_str() {
            "on-failure" => RestartPolicy::OnFailure(p.maximum_retry_count),
            "always" => RestartPolicy::Always,
            "unless-stopped" => RestartPolicy::UnlessStopped,
            _ => RestartPolicy::No,
        }
    }
}

impl FromStr for RestartPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "invalid restart policy {s:?}: use no, on-failure[:max-retries], always or unless-stopped"
            )
        };
        let (name, max) = match s.split_once(':') {
            Some((n, m)) => (n, Some(m)),
            None => (s, None),
        };
        match (name, max) {
            ("no" | "", None) => Ok(RestartPolicy::No),
            ("always", None) => Ok(RestartPolicy::Always),
            ("unless-stopped", None) => Ok(RestartPolicy::UnlessStopped),
            ("on-failure", None) => Ok(RestartPolicy::OnFailure(0)),
            ("on-failure", Some(m)) => m.parse().map(RestartPolicy::OnFailure).map_err(|_| {
                format!("invalid restart policy {s:?}: maximum retry count must be a number")
            }),
            ("always" | "unless-stopped" | "no", Some(_)) => Err(format!(
                "invalid restart policy {s:?}: maximum retry count can only be used with on-failure"
            )),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestartPolicy::No => f.write_str("no"),
            RestartPolicy::OnFailure(0) => f.write_str("on-failure"),
            RestartPolicy::OnFailure(n) => write!(f, "on-failure:{n}"),
            RestartPolicy::Always => f.write_str("always"),
            RestartPolicy::UnlessStopped => f.write_str("unless-stopped"),
        }
    }
}

/// docker's restart manager: the first delay, its multiplier, its cap, and how long a run must last
/// for the delay to start again from the first.
pub const FIRST_DELAY: Duration = Duration::from_millis(100);
pub const MAX_DELAY: Duration = Duration::from_secs(60);
pub const RESET_AFTER: Duration = Duration::from_secs(10);

impl RestartPolicy {
    /// docker's `ShouldRestart`: does a container that ended with `exit_code` after `restarts`
    /// restarts start again? Never once stopped by hand (`den stop`, `den rm -f`).
    pub fn should_restart(self, exit_code: i32, stopped_by_hand: bool, restarts: u32) -> bool {
        if stopped_by_hand {
            return false;
        }
        match self {
            RestartPolicy::No => false,
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
            RestartPolicy::OnFailure(max) => exit_code != 0 && (max == 0 || restarts < max),
        }
    }

    /// Is it started again when the machine has rebooted (`den start --restart-policies`)?
    pub fn after_reboot(self, stopped_by_hand: bool) -> bool {
        match self {
            RestartPolicy::Always => true,
            RestartPolicy::UnlessStopped => !stopped_by_hand,
            _ => false,
        }
    }
}

/// The delay before the next restart: the first after a run of [`RESET_AFTER`] or more (or the
/// first restart), else twice the last, at most [`MAX_DELAY`].
pub fn next_delay(last: Duration, ran: Duration) -> Duration {
    if last.is_zero() || ran >= RESET_AFTER {
        FIRST_DELAY
    } else {
        (last * 2).min(MAX_DELAY)
    }
}

/// The container's lifecycle settings and where its supervisor is with them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Life {
    /// `--restart`.
    #[serde(default)]
    pub restart_policy: RestartPolicy,
    /// Restarts by its supervisor since it was last started by hand (docker's RestartCount).
    #[serde(default)]
    pub restart_count: u32,
    /// Its supervisor waits out the backoff before starting it again (docker's State.Restarting).
    #[serde(default)]
    pub restarting: bool,
    /// The last backoff delay, in milliseconds.
    #[serde(default)]
    pub restart_delay_ms: u64,
    /// `--health-*` or the image's HEALTHCHECK; None: no health check.
    #[serde(default)]
    pub healthcheck: Option<HealthConfig>,
    /// `--stop-signal` (what `den stop` sends first; default SIGTERM).
    #[serde(default)]
    pub stop_signal: Option<String>,
    /// `--stop-timeout` in seconds (`den stop`'s default grace; default 10).
    #[serde(default)]
    pub stop_timeout: Option<u64>,
    /// `--init`: a static tini as PID 1 runs the command (see `run::init`).
    #[serde(default)]
    pub init: bool,
    /// `den pause` froze it (docker's State.Paused).
    #[serde(default)]
    pub paused: bool,
    /// `--log-opt max-size=…` in bytes: its supervisor rotates the log past it.
    #[serde(default)]
    pub log_max_size: Option<u64>,
    /// `--log-opt max-file=N`: log files kept when rotating (default 1).
    #[serde(default)]
    pub log_max_file: Option<u32>,
    /// Its health (`health.json`, written by its supervisor), read with the record; not in it.
    #[serde(skip)]
    pub health: Option<Health>,
}

/// Go's duration syntax as docker's flags take it: `30s`, `1m30s`, `500ms`, `1h`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad =
        || format!("invalid duration {s:?}: use a number with a unit, e.g. 30s, 1m30s, 500ms");
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(bad)?;
        let n: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let secs = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total += Duration::from_secs_f64(n * secs);
    }
    Ok(total)
}

/// The marker file of [`Container::stopped_by_hand`] in the container's dir.
pub const STOPPED_BY_HAND: &str = "stopped-by-hand";

impl Container {
    /// Its health as its supervisor last checked it (None: no health check), read with the record.
    pub fn health(&self) -> Option<&Health> {
        self.life.health.as_ref()
    }

    /// docker's suffix of `Up …` in `ps`: ` (healthy)`, ` (unhealthy)`, ` (health: starting)`.
    pub fn health_note(&self) -> String {
        self.health()
            .map(|h| format!(" ({})", h.status.as_str()))
            .unwrap_or_default()
    }

    /// Was it stopped by hand (`den stop`, `den rm -f`) since it was last started by hand? Its
    /// supervisor does not restart it then, nor does `den start --restart-policies` if its policy
    /// is unless-stopped (docker's HasBeenManuallyStopped).
    pub fn stopped_by_hand(&self, store: &Store) -> bool {
        store.dir(&self.id).join(STOPPED_BY_HAND).exists()
    }

    /// Set (`den stop`, `den rm -f`) or clear (`den start`) [`Container::stopped_by_hand`].
    pub fn set_stopped_by_hand(&self, store: &Store, stopped: bool) -> Result<(), StateError> {
        let path = store.dir(&self.id).join(STOPPED_BY_HAND);
        let r = if stopped {
            fs::write(&path, b"")
        } else {
            fs::remove_file(&path)
        };
        match r {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err("writing", &path)(e)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_as_docker_spells_them() {
        assert_eq!("no".parse(), Ok(RestartPolicy::No));
        assert_eq!("on-failure".parse(), Ok(RestartPolicy::OnFailure(0)));
        assert_eq!("on-failure:2".parse(), Ok(RestartPolicy::OnFailure(2)));
        assert_eq!("always".parse(), Ok(RestartPolicy::Always));
        assert_eq!("unless-stopped".parse(), Ok(RestartPolicy::UnlessStopped));
        assert!("always:3".parse::<RestartPolicy>().is_err());
        assert!("sometimes".parse::<RestartPolicy>().is_err());
        assert!("on-failure:x".parse::<RestartPolicy>().is_err());
        let json = serde_json::to_string(&RestartPolicy::OnFailure(2)).unwrap();
        assert_eq!(json, r#"{"Name":"on-failure","MaximumRetryCount":2}"#);
    }

    #[test]
    fn on_failure_stops_at_its_maximum_and_ignores_success() {
        let p = RestartPolicy::OnFailure(2);
        assert!(p.should_restart(1, false, 0));
        assert!(p.should_restart(1, false, 1));
        assert!(!p.should_restart(1, false, 2));
        assert!(!p.should_restart(0, false, 0));
        assert!(RestartPolicy::Always.should_restart(0, false, 99));
        assert!(!RestartPolicy::Always.should_restart(1, true, 0));
        assert!(RestartPolicy::Always.after_reboot(true));
        assert!(!RestartPolicy::UnlessStopped.after_reboot(true));
    }

    #[test]
    fn backoff_doubles_to_a_minute_and_resets_after_ten_seconds_up() {
        let short = Duration::from_secs(1);
        let mut d = next_delay(Duration::ZERO, short);
        assert_eq!(d, Duration::from_millis(100));
        d = next_delay(d, short);
        assert_eq!(d, Duration::from_millis(200));
        d = next_delay(d, short);
        assert_eq!(d, Duration::from_millis(400));
        assert_eq!(next_delay(d, Duration::from_secs(10)), FIRST_DELAY);
        assert_eq!(next_delay(Duration::from_secs(50), short), MAX_DELAY);
    }

    #[test]
    fn durations_take_go_syntax() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5x").is_err());
    }
}
