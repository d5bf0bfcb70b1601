use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use den_runtime::lifecycle::{self, LifecycleError};

#[derive(clap::Args)]
pub struct Args {
    /// Seconds to wait after SIGTERM before SIGKILL.
    #[arg(short = 't', long = "time", default_value_t = 10)]
    time: u64,
    /// Containers, by name or id (or a unique id prefix).
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    let grace = Duration::from_secs(a.time);
    // Stopping a stopped container succeeds, as docker's does.
    Ok(super::each::each(
        &a.containers,
        |key| match lifecycle::stop(root, key, grace) {
            Err(LifecycleError::NotRunning(_)) => Ok(key.to_string()),
            other => other,
        },
    ))
}
