use std::path::Path;

use anyhow::Result;
use den_runtime::run;

#[derive(clap::Args)]
pub struct Args {
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
    let mut status = 0;
    for key in &a.containers {
        match run::start(root, key) {
            Ok(name) => println!("{name}"),
            // Starting a running container succeeds, as docker's does.
            Err(run::RunError::AlreadyRunning(_)) => println!("{key}"),
            Err(e) => {
                eprintln!("{}", super::each::message(&e));
                // No such container: 1, as docker; the container's command could not run
                // (127, 126) or den failed (125).
                status = match super::each::missing(&e) {
                    Some(_) => 1,
                    None => e.exit_status(),
                };
            }
        }
    }
    Ok(status)
}
