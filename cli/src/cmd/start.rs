use std::path::Path;

use anyhow::Result;
use den_runtime::run;

#[derive(clap::Args)]
pub struct Args {
    /// Print each step as its `ip`/`nft` equivalent, with milliseconds (also: env DEN_TRACE).
    #[arg(long)]
    trace: bool,
    #[arg(required = true)]
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
            Err(e) => {
                eprintln!("den: {}", den_runtime::run::one_line(&e));
                // The container's command could not run (127, 126) or den failed (125).
                status = e.exit_status();
            }
        }
    }
    Ok(status)
}
