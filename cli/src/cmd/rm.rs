use std::path::Path;

use anyhow::Result;
use den_runtime::lifecycle;

#[derive(clap::Args)]
pub struct Args {
    /// Kill a running container first.
    #[arg(short = 'f', long)]
    force: bool,
    /// Remove the container's anonymous volumes too.
    #[arg(short = 'v', long)]
    volumes: bool,
    /// Print each step as its `ip`/`nft` equivalent, with milliseconds (also: env DEN_TRACE).
    #[arg(long)]
    trace: bool,
    /// Containers, by name or id (or a unique id prefix).
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    if a.trace {
        den_netcfg::trace::enable();
    }
    Ok(super::each::each(&a.containers, |key| {
        lifecycle::remove(root, key, a.force, a.volumes)
    }))
}
