use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use den_runtime::run;

#[derive(clap::Args)]
pub struct Args {
    /// Seconds to wait after the stop signal before SIGKILL (default: the container's
    /// --stop-timeout, else 10).
    #[arg(short = 't', long = "time")]
    time: Option<u64>,
    #[arg(required = true)]
    containers: Vec<String>,
}

/// `den restart`: `den stop` (if it runs), then `den start`, each container in turn.
pub fn main(root: &Path, a: Args) -> Result<i32> {
    let grace = a.time.map(Duration::from_secs);
    Ok(super::each::each(&a.containers, |key| {
        run::restart(root, key, grace)
    }))
}
