use std::path::Path;

use anyhow::Result;
use den_runtime::lifecycle;

#[derive(clap::Args)]
pub struct Args {
    /// Kill a running container first.
    #[arg(short = 'f', long)]
    force: bool,
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    Ok(super::each::each(&a.containers, |key| {
        lifecycle::remove(root, key, a.force)
    }))
}
