use std::path::Path;

use anyhow::Result;
use den_runtime::exec::{self, ExecOptions};

#[derive(clap::Args)]
#[command(trailing_var_arg = true)]
pub struct Args {
    /// Keep stdin open.
    #[arg(short = 'i', long)]
    interactive: bool,
    /// Allocate a pseudo-terminal.
    #[arg(short = 't', long)]
    tty: bool,
    /// Detached: run the command in the background and return at once.
    #[arg(short = 'd', long)]
    detach: bool,
    /// Set an environment variable (K=V, or K to copy it from den's environment).
    #[arg(short = 'e', long = "env")]
    env: Vec<String>,
    /// Working directory inside the container (absolute).
    #[arg(short = 'w', long = "workdir")]
    workdir: Option<String>,
    /// User: uid[:gid] or name[:group], looked up in the container.
    #[arg(short = 'u', long)]
    user: Option<String>,
    /// The container: name, id or unique id prefix.
    container: String,
    /// The command and its arguments.
    #[arg(required = true)]
    cmd: Vec<String>,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    let opts = ExecOptions {
        root: root.to_path_buf(),
        container: a.container,
        cmd: a.cmd,
        env: a.env,
        workdir: a.workdir,
        user: a.user,
        interactive: a.interactive,
        tty: a.tty,
    };
    if a.detach {
        return Ok(exec::exec_detached(&opts).map_or_else(
            |e| {
                eprintln!("den: {}", den_runtime::run::one_line(&e));
                e.exit_status()
            },
            |()| 0,
        ));
    }
    match exec::exec(&opts) {
        Ok(status) => Ok(status),
        Err(e) => {
            eprintln!("den: {}", den_runtime::run::one_line(&e));
            Ok(e.exit_status())
        }
    }
}
