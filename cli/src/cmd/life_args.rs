//! The lifecycle flags of `den run` and `den create`: restart policy, health check, stop signal.

use den_runtime::run::LifeFlags;

#[derive(clap::Args, Default)]
pub struct LifeArgs {
    /// Restart policy, applied by the container's supervisor: no, on-failure[:max-retries], always,
    /// unless-stopped (needs -d).
    #[arg(long)]
    restart: Option<String>,
    /// Command to run in the container to check its health (run with /bin/sh -c).
    #[arg(long = "health-cmd")]
    health_cmd: Option<String>,
    /// Time between health checks (ms|s|m|h) (default 30s).
    #[arg(long = "health-interval")]
    health_interval: Option<String>,
    /// Longest a health check may run (ms|s|m|h) (default 30s).
    #[arg(long = "health-timeout")]
    health_timeout: Option<String>,
    /// Consecutive failures that make the container unhealthy (default 3).
    #[arg(long = "health-retries")]
    health_retries: Option<u32>,
    /// Time for the container to start before failures count (ms|s|m|h) (default 0s).
    #[arg(long = "health-start-period")]
    health_start_period: Option<String>,
    /// Disable any health check, the image's HEALTHCHECK included.
    #[arg(long = "no-healthcheck")]
    no_healthcheck: bool,
    /// Signal `den stop` sends first (default SIGTERM).
    #[arg(long = "stop-signal")]
    stop_signal: Option<String>,
    /// Seconds `den stop` waits before SIGKILL (default 10).
    #[arg(long = "stop-timeout")]
    stop_timeout: Option<u64>,
    /// Log option of docker's json-file driver: max-size=SIZE (rotate past it), max-file=N.
    #[arg(long = "log-opt")]
    log_opt: Vec<String>,
    /// Run a small init (the host's static tini) as PID 1: it reaps orphans and passes signals on.
    #[arg(long)]
    init: bool,
}

impl From<LifeArgs> for LifeFlags {
    fn from(a: LifeArgs) -> LifeFlags {
        LifeFlags {
            restart: a.restart,
            health_cmd: a.health_cmd,
            health_interval: a.health_interval,
            health_timeout: a.health_timeout,
            health_start_period: a.health_start_period,
            health_retries: a.health_retries,
            no_healthcheck: a.no_healthcheck,
            stop_signal: a.stop_signal,
            stop_timeout: a.stop_timeout,
            log_opts: a.log_opt,
            init: a.init,
        }
    }
}
