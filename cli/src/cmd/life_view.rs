//! The lifecycle keys of `den inspect` in docker's places: State.Restarting, State.Health,
//! RestartCount, HostConfig.RestartPolicy, Config.Healthcheck, Config.StopSignal/StopTimeout.

use den_runtime::lifecycle;
use den_runtime::state::Container;
use serde_json::{json, Value};

/// Add them to `v` (the inspect object of `c`, as observed).
pub fn add(v: &mut Value, c: &Container) {
    let restarting = lifecycle::is_restarting(c);
    if restarting {
        v["State"]["Status"] = json!("restarting");
    }
    v["State"]["Restarting"] = json!(restarting);
    let paused = c.life.paused && c.status == den_runtime::state::Status::Running;
    if paused {
        v["State"]["Status"] = json!("paused");
    }
    v["State"]["Paused"] = json!(paused);
    if let Some(h) = c.health() {
        v["State"]["Health"] = json!(h);
    }
    v["RestartCount"] = json!(c.life.restart_count);
    v["HostConfig"]["RestartPolicy"] = json!(c.life.restart_policy);
    if let Some(h) = &c.life.healthcheck {
        v["Config"]["Healthcheck"] = json!(h);
    }
    if let Some(s) = &c.life.stop_signal {
        v["Config"]["StopSignal"] = json!(s);
    }
    if let Some(t) = c.life.stop_timeout {
        v["Config"]["StopTimeout"] = json!(t);
    }
}
