use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use den_runtime::lifecycle;

#[derive(clap::Args)]
pub struct Args {
    /// Seconds to wait after SIGTERM before SIGKILL.
    #[arg(short = 't', long = "time", default_value_t = 10)]
    time: u64,
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    let grace = Duration::from_secs(a.time);
    Ok(super::each::each(&a.containers, |key| {
        lifecycle::stop(root, key, grace)
    }))
}
