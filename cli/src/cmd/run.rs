use std::net::Ipv4Addr;
use std::path::Path;

use anyhow::Result;
use den_runtime::run::{self, NetworkMode, RunOptions};

#[derive(clap::Args)]
#[command(trailing_var_arg = true, disable_help_flag = true)]
pub struct Args {
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
    /// Remove the container and its files when it exits.
    #[arg(long)]
    rm: bool,
    /// Run in the background: print the container's id once its command runs.
    #[arg(short = 'd', long)]
    detach: bool,
    #[arg(long)]
    name: Option<String>,
    #[arg(long, short = 'h')]
    hostname: Option<String>,
    /// Set an environment variable (K=V, or K to copy it from den's environment).
    #[arg(short = 'e', long = "env")]
    env: Vec<String>,
    /// Working directory inside the container (absolute).
    #[arg(short = 'w', long = "workdir")]
    workdir: Option<String>,
    #[arg(short = 'u', long)]
    user: Option<String>,
    #[arg(long)]
    entrypoint: Option<String>,
    /// Keep stdin open.
    #[arg(short = 'i', long)]
    interactive: bool,
    /// Allocate a pseudo-terminal.
    #[arg(short = 't', long)]
    tty: bool,
    /// bridge (default), host or none.
    #[arg(long, default_value = "bridge")]
    network: String,
    /// A fixed address on the bridge network.
    #[arg(long)]
    ip: Option<Ipv4Addr>,
    /// Publish a port: [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/udp], ranges as 8000-8001:80-81.
    #[arg(short = 'p', long = "publish")]
    publish: Vec<String>,
    /// Print each step as its `ip`/`nft` equivalent.
    #[arg(short = 'v', long)]
    verbose: bool,
    /// Pull the image first: missing (if not here), always, never.
    #[arg(long, default_value = "missing", value_parser = ["missing", "always", "never"])]
    pull: String,
    /// An image: a name (pulled if missing), rootfs dir, OCI layout dir[:tag], or docker-save/OCI tar.
    image: String,
    /// The command and its arguments (default: the image's).
    cmd: Vec<String>,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    if a.verbose {
        den_netcfg::trace::enable();
    }
    let network: NetworkMode = a.network.parse().map_err(anyhow::Error::msg)?;
    let publish = a
        .publish
        .iter()
        .map(|p| p.parse())
        .collect::<Result<Vec<_>, _>>()?;
    // Before anything is created or cloned: the pull runs its own async runtime and ends it.
    super::pull::before_run(root, &a.image, &a.pull)?;
    let opts = RunOptions {
        root: root.to_path_buf(),
        image: a.image,
        cmd: a.cmd,
        entrypoint: a.entrypoint,
        name: a.name,
        hostname: a.hostname,
        env: a.env,
        workdir: a.workdir,
        user: a.user,
        interactive: a.interactive,
        tty: a.tty,
        rm: a.rm,
        network,
        ip: a.ip,
        publish,
        verbose: a.verbose,
    };
    let detach = a.detach;
    let start = || match detach {
        true => run::run_detached(&opts).map(|id| {
            println!("{id}");
            0
        }),
        false => run::run(&opts),
    };
    // What killed den processes left is collected when it gets in the way, not scanned for on every
    // run (that scan is O(containers)): a failed start (a name, port or address still held by a dead
    // container) collects stale containers and, if any were found, tries once more.
    let result = match start() {
        Err(e) if e.is_conflict() && super::gc::implicit(root) => start(),
        other => other,
    };
    match result {
        Ok(status) => Ok(status),
        Err(e) => {
            eprintln!("den: {}", crate::report::one_line(crate::report::chain(&e)));
            Ok(e.exit_status())
        }
    }
}
