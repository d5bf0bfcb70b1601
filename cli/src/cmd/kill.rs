use std::path::Path;

use anyhow::Result;
use den_runtime::lifecycle;

#[derive(clap::Args)]
pub struct Args {
    /// The signal: a number or a name (KILL, SIGTERM, hup...).
    #[arg(short = 's', long = "signal", default_value = "KILL")]
    signal: String,
    /// Containers, by name or id (or a unique id prefix).
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    let sig = lifecycle::parse_signal(&a.signal)?;
    Ok(super::each::each(&a.containers, |key| {
        lifecycle::kill(root, key, sig)
    }))
}
