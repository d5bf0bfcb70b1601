use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use den_runtime::lifecycle;

#[derive(clap::Args)]
pub struct Args {
    /// Seconds to wait after the stop signal before SIGKILL (default: the container's
    /// --stop-timeout, else 10).
    #[arg(short = 't', long = "time")]
    time: Option<u64>,
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    let grace = a.time.map(Duration::from_secs);
    Ok(super::each::each(&a.containers, |key| {
        lifecycle::stop_container(root, key, grace)
    }))
}
