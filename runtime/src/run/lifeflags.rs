//! `--restart`, `--health-*`, `--no-healthcheck`, `--stop-signal`, `--stop-timeout` as typed, and
//! the container's [`Life`] they and the image's HEALTHCHECK make (step 1).

use crate::image::ImageConfig;
use crate::lifecycle::parse_signal;
#[cfg(test)]
use crate::state::HealthConfig;
use crate::state::{parse_duration, Life, RestartPolicy};

/// The lifecycle flags of `den run` / `den create`, as typed.
#[derive(Debug, Clone, Default)]
pub struct LifeFlags {
    pub restart: Option<String>,
    pub health_cmd: Option<String>,
    pub health_interval: Option<String>,
    pub health_timeout: Option<String>,
    pub health_start_period: Option<String>,
    pub health_retries: Option<u32>,
    pub no_healthcheck: bool,
    pub stop_signal: Option<String>,
    pub stop_timeout: Option<u64>,
    /// `--log-opt KEY=VALUE`: max-size, max-file.
    pub log_opts: Vec<String>,
    /// `--init`.
    pub init: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum LifeFlagError {
    #[error("{0}")]
    Policy(String),
    #[error("--{flag}: {reason}")]
    Duration { flag: &'static str, reason: String },
    #[error("conflicting options: --no-healthcheck and --health-* cannot be combined")]
    NoHealthcheckAndHealth,
    #[error("conflicting options: --restart and --rm cannot be combined")]
    RestartAndRm,
    #[error("--restart {0} needs -d: den has no daemon to restart a foreground container")]
    RestartForeground(RestartPolicy),
    #[error("invalid --log-opt {0:?}: use max-size=SIZE (e.g. 10m) or max-file=N (N >= 1)")]
    LogOpt(String),
    #[error(transparent)]
    Init(#[from] super::init::InitError),
    #[error(transparent)]
    StopSignal(#[from] crate::lifecycle::LifecycleError),
}

fn nanos(flag: &'static str, v: &Option<String>) -> Result<u64, LifeFlagError> {
    match v {
        None => Ok(0),
        Some(s) => parse_duration(s)
            .map(|d| d.as_nanos() as u64)
            .map_err(|reason| LifeFlagError::Duration { flag, reason }),
    }
}

impl LifeFlags {
    fn any_health(&self) -> bool {
        self.health_cmd.is_some()
            || self.health_interval.is_some()
            || self.health_timeout.is_some()
            || self.health_start_period.is_some()
            || self.health_retries.is_some()
    }

    fn policy(&self) -> Result<RestartPolicy, LifeFlagError> {
        match &self.restart {
            Some(s) => s.parse().map_err(LifeFlagError::Policy),
            None => Ok(RestartPolicy::No),
        }
    }

    /// A foreground `den run` has nobody to restart it once den has returned.
    pub fn check_foreground(&self) -> Result<(), LifeFlagError> {
        match self.policy()? {
            RestartPolicy::No => Ok(()),
            p => Err(LifeFlagError::RestartForeground(p)),
        }
    }

    /// The container's settings: flags over the image's HEALTHCHECK field by field, as docker
    /// merges them. `rm`: `--rm` of the same run.
    pub fn resolve(&self, img: &ImageConfig, rm: bool) -> Result<Life, LifeFlagError> {
        let restart_policy = self.policy()?;
        if restart_policy != RestartPolicy::No && rm {
            return Err(LifeFlagError::RestartAndRm);
        }
        if self.no_healthcheck && self.any_health() {
            return Err(LifeFlagError::NoHealthcheckAndHealth);
        }
        if let Some(s) = &self.stop_signal {
            parse_signal(s)?;
        }
        let healthcheck = if self.no_healthcheck {
            None
        } else {
            let mut h = img.healthcheck.clone().unwrap_or_default();
            if let Some(cmd) = &self.health_cmd {
                h.test = vec!["CMD-SHELL".into(), cmd.clone()];
            }
            let pick = |ours: u64, theirs: u64| if ours != 0 { ours } else { theirs };
            h.interval = pick(nanos("health-interval", &self.health_interval)?, h.interval);
            h.timeout = pick(nanos("health-timeout", &self.health_timeout)?, h.timeout);
            h.start_period = pick(
                nanos("health-start-period", &self.health_start_period)?,
                h.start_period,
            );
            h.retries = self.health_retries.unwrap_or(h.retries);
            h.command().is_some().then_some(h)
        };
        let (log_max_size, log_max_file) = log_opts(&self.log_opts)?;
        if self.init {
            super::init::host_binary()?;
        }
        Ok(Life {
            init: self.init,
            log_max_size,
            log_max_file,
            restart_policy,
            healthcheck,
            stop_signal: self.stop_signal.clone(),
            stop_timeout: self.stop_timeout,
            ..Life::default()
        })
    }
}

/// docker's json-file options: `max-size` (k, m, g: binary units, as docker's) and `max-file`.
fn log_opts(opts: &[String]) -> Result<(Option<u64>, Option<u32>), LifeFlagError> {
    let (mut size, mut files) = (None, None);
    for o in opts {
        let bad = || LifeFlagError::LogOpt(o.clone());
        match o.split_once('=') {
            Some(("max-size", v)) => size = Some(parse_size(v).ok_or_else(bad)?),
            Some(("max-file", v)) => {
                files = Some(v.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(bad)?)
            }
            _ => return Err(bad()),
        }
    }
    Ok((size, files))
}

fn parse_size(v: &str) -> Option<u64> {
    let v = v.to_ascii_lowercase();
    let v = v.strip_suffix('b').unwrap_or(&v);
    let (num, mult) = match v.chars().last()? {
        'k' => (&v[..v.len() - 1], 1u64 << 10),
        'm' => (&v[..v.len() - 1], 1 << 20),
        'g' => (&v[..v.len() - 1], 1 << 30),
        _ => (v, 1),
    };
    num.parse::<u64>().ok().filter(|n| *n > 0).map(|n| n * mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_images_healthcheck_field_by_field() {
        let img = ImageConfig {
            healthcheck: Some(HealthConfig {
                test: vec!["CMD".into(), "check".into()],
                interval: 5_000_000_000,
                retries: 7,
                ..Default::default()
            }),
            ..Default::default()
        };
        let flags = LifeFlags {
            health_interval: Some("1s".into()),
            ..Default::default()
        };
        let h = flags.resolve(&img, false).unwrap().healthcheck.unwrap();
        assert_eq!(h.test, vec!["CMD", "check"]);
        assert_eq!((h.interval, h.retries), (1_000_000_000, 7));
        let off = LifeFlags {
            no_healthcheck: true,
            ..Default::default()
        };
        assert_eq!(off.resolve(&img, false).unwrap().healthcheck, None);
        assert_eq!(parse_size("10m"), Some(10 << 20));
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("1kb"), Some(1024));
        assert_eq!(parse_size("x"), None);
        assert!(log_opts(&["max-file=0".into()]).is_err());
        assert!(log_opts(&["compress=true".into()]).is_err());
        let none = ImageConfig::default();
        assert_eq!(
            LifeFlags::default()
                .resolve(&none, false)
                .unwrap()
                .healthcheck,
            None
        );
    }
}
