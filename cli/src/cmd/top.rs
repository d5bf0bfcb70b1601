use std::path::Path;

use anyhow::Result;
use den_runtime::lifecycle;

#[derive(clap::Args)]
pub struct Args {
    /// The container, by name or id.
    container: String,
}

/// PID is the process's PID inside the container, HOST-PID the same process seen from den.
pub fn main(root: &Path, a: Args) -> Result<i32> {
    let (_, procs) = lifecycle::top(root, &a.container)?;
    println!("{:<8}  {:<8}  {:<8}  COMMAND", "PID", "HOST-PID", "PPID");
    for p in procs {
        println!(
            "{:<8}  {:<8}  {:<8}  {}",
            p.pid, p.host_pid, p.ppid, p.command
        );
    }
    Ok(0)
}
