use std::path::Path;

use anyhow::Result;
use den_runtime::run;

#[derive(clap::Args)]
pub struct Args {
    /// Print each step as its `ip`/`nft` equivalent, with milliseconds (also: env DEN_TRACE).
    #[arg(long)]
    trace: bool,
    /// Attach: run the container in the foreground, its output on den's, and exit with its status.
    #[arg(short = 'a', long)]
    attach: bool,
    /// Start every container whose restart policy brings it back after a reboot (always, and
    /// unless-stopped if not stopped by hand): for a boot-time unit, as docker's daemon does.
    #[arg(long = "restart-policies", conflicts_with = "containers")]
    restart_policies: bool,
    /// Containers, by name or id (or a unique id prefix).
    #[arg(required_unless_present = "restart_policies", value_name = "CONTAINER")]
    containers: Vec<String>,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    if a.trace {
        den_netcfg::trace::enable();
    }
    if a.restart_policies {
        return by_policy(root);
    }
    if a.attach {
        let [key] = a.containers.as_slice() else {
            eprintln!("den: start -a takes one container");
            return Ok(125);
        };
        return Ok(run::start_attached(root, key).unwrap_or_else(|e| {
            eprintln!("den: {}", den_runtime::run::one_line(&e));
            e.exit_status()
        }));
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

/// `den start --restart-policies`: stale records (a reboot killed every container and
/// supervisor) are collected first, then each due container is started; exit 1 if any failed.
fn by_policy(root: &Path) -> Result<i32> {
    super::gc::implicit(root);
    let mut status = 0;
    for (name, started) in run::start_by_policy(root)? {
        match started {
            Ok(_) => println!("{name}"),
            Err(e) => {
                eprintln!("den: {name}: {}", den_runtime::run::one_line(&e));
                status = 1;
            }
        }
    }
    Ok(status)
}
