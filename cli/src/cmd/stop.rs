use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use den_runtime::lifecycle::{self, LifecycleError};

#[derive(clap::Args)]
pub struct Args {
    /// Seconds to wait after the stop signal before SIGKILL (default: the container's
    /// --stop-timeout, else 10).
    #[arg(short = 't', long = "time")]
    time: Option<u64>,
    /// Containers, by name or id (or a unique id prefix).
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    let grace = a.time.map(Duration::from_secs);
    // Stopping a stopped container succeeds, as docker's does.
    Ok(super::each::each(
        &a.containers,
        |key| match lifecycle::stop_container(root, key, grace) {
            Err(LifecycleError::NotRunning(_)) => Ok(key.to_string()),
            other => other,
        },
    ))
}
