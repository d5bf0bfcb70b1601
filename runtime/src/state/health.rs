//! Health checks: the settings (docker's `Config.Healthcheck`, from `--health-*` or the image's
//! HEALTHCHECK) and the state the supervisor keeps in `<container dir>/health.json` (docker's
//! `State.Health`). A file of its own so the supervisor's updates never race a verb rewriting
//! `state.json` (`den rename`).

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// docker's defaults.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_RETRIES: u32 = 3;
/// docker keeps the last five results.
const LOG_LEN: usize = 5;
/// and at most this much of a check's output.
pub const OUTPUT_MAX: usize = 4096;

/// docker's `Healthcheck` (durations in nanoseconds, 0: the default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthConfig {
    /// `["CMD-SHELL", cmd]`, `["CMD", arg...]` or `["NONE"]`.
    pub test: Vec<String>,
    #[serde(default)]
    pub interval: u64,
    #[serde(default)]
    pub timeout: u64,
    #[serde(default)]
    pub start_period: u64,
    #[serde(default)]
    pub retries: u32,
}

fn or(ns: u64, default: Duration) -> Duration {
    if ns == 0 {
        default
    } else {
        Duration::from_nanos(ns)
    }
}

impl HealthConfig {
    /// The command to run inside the container, None for `NONE` (or nothing to run).
    pub fn command(&self) -> Option<Vec<String>> {
        match self.test.split_first() {
            Some((kind, rest)) if kind == "CMD-SHELL" && !rest.is_empty() => {
                Some(vec!["/bin/sh".into(), "-c".into(), rest.join(" ")])
            }
            Some((kind, rest)) if kind == "CMD" && !rest.is_empty() => Some(rest.to_vec()),
            _ => None,
        }
    }
    pub fn interval(&self) -> Duration {
        or(self.interval, DEFAULT_INTERVAL)
    }
    pub fn timeout(&self) -> Duration {
        or(self.timeout, DEFAULT_TIMEOUT)
    }
    pub fn start_period(&self) -> Duration {
        Duration::from_nanos(self.start_period)
    }
    pub fn retries(&self) -> u32 {
        if self.retries == 0 {
            DEFAULT_RETRIES
        } else {
            self.retries
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Starting,
    Healthy,
    Unhealthy,
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Starting => "health: starting",
            HealthStatus::Healthy => "healthy",
            HealthStatus::Unhealthy => "unhealthy",
        }
    }
}

/// One check's result (docker's `HealthcheckResult`; times in RFC 3339).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthResult {
    pub start: String,
    pub end: String,
    pub exit_code: i32,
    pub output: String,
}

/// docker's `State.Health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Health {
    pub status: HealthStatus,
    pub failing_streak: u32,
    pub log: Vec<HealthResult>,
}

const FILE: &str = "health.json";

impl Health {
    pub fn starting() -> Health {
        Health {
            status: HealthStatus::Starting,
            failing_streak: 0,
            log: Vec::new(),
        }
    }

    /// The container's health as its supervisor last wrote it (None: it has no health check).
    pub fn load(dir: &Path) -> Option<Health> {
        let body = fs::read(dir.join(FILE)).ok()?;
        serde_json::from_slice(&body).ok()
    }

    /// Atomically replace the container's `health.json`.
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        let tmp = dir.join(".health.json.tmp");
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(self).expect("health serialises"))?;
        fs::rename(&tmp, dir.join(FILE))
    }

    /// docker's rule: success makes it healthy; a failure adds to the streak (not while it is still
    /// starting within its start period), and `retries` in a row make it unhealthy.
    pub fn record(&mut self, result: HealthResult, retries: u32, in_start_period: bool) {
        if result.exit_code == 0 {
            self.status = HealthStatus::Healthy;
            self.failing_streak = 0;
        } else if !(in_start_period && self.status == HealthStatus::Starting) {
            self.failing_streak += 1;
            if self.failing_streak >= retries {
                self.status = HealthStatus::Unhealthy;
            }
        }
        self.log.push(result);
        if self.log.len() > LOG_LEN {
            self.log.remove(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(code: i32) -> HealthResult {
        HealthResult {
            start: String::new(),
            end: String::new(),
            exit_code: code,
            output: String::new(),
        }
    }

    #[test]
    fn health_goes_healthy_then_unhealthy_after_retries() {
        let mut h = Health::starting();
        h.record(result(1), 2, true);
        assert_eq!((h.status, h.failing_streak), (HealthStatus::Starting, 0));
        h.record(result(0), 2, false);
        assert_eq!(h.status, HealthStatus::Healthy);
        h.record(result(1), 2, false);
        assert_eq!((h.status, h.failing_streak), (HealthStatus::Healthy, 1));
        h.record(result(1), 2, false);
        assert_eq!((h.status, h.failing_streak), (HealthStatus::Unhealthy, 2));
        for _ in 0..5 {
            h.record(result(0), 2, false);
        }
        assert_eq!(h.log.len(), 5);
        assert_eq!((h.status, h.failing_streak), (HealthStatus::Healthy, 0));
    }

    #[test]
    fn commands_follow_dockers_test_forms() {
        let c = |t: &[&str]| HealthConfig {
            test: t.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        assert_eq!(
            c(&["CMD-SHELL", "curl -f x"]).command(),
            Some(vec!["/bin/sh".into(), "-c".into(), "curl -f x".into()])
        );
        assert_eq!(c(&["CMD", "true"]).command(), Some(vec!["true".into()]));
        assert_eq!(c(&["NONE"]).command(), None);
        assert_eq!(c(&[]).interval(), DEFAULT_INTERVAL);
    }
}
