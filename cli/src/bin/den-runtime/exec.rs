//! `exec`: runc's flags over the container's process (or a `--process` JSON).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use den_runtime::oci::{self, ExecOptions};
use oci_spec::runtime::{Capability, UserBuilder};

#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// An OCI process JSON to run (instead of ARGS and the flags below).
    #[arg(long, short = 'p')]
    process: Option<PathBuf>,
    #[arg(long, short = 'd')]
    detach: bool,
    #[arg(long)]
    pid_file: Option<PathBuf>,
    #[arg(long, short = 't')]
    tty: bool,
    #[arg(long)]
    console_socket: Option<PathBuf>,
    #[arg(long)]
    cwd: Option<PathBuf>,
    /// KEY=VALUE, added to the container's environment (repeatable).
    #[arg(long, short = 'e')]
    env: Vec<String>,
    /// UID[:GID].
    #[arg(long, short = 'u')]
    user: Option<String>,
    #[arg(long = "additional-gids", short = 'g')]
    additional_gids: Vec<u32>,
    /// A capability to add (CAP_NAME, repeatable).
    #[arg(long, short = 'c')]
    cap: Vec<String>,
    #[arg(long)]
    no_new_privs: bool,
    /// Only 0 (runc's default): den passes no fd above 2 to an exec'd process.
    #[arg(long, default_value_t = 0)]
    preserve_fds: u32,
    id: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

pub fn run(root: &Path, a: ExecArgs) -> Result<u8> {
    if a.preserve_fds > 0 {
        bail!(
            "exec --preserve-fds is not supported: den passes no fd above 2 to an exec'd process"
        );
    }
    let process = match &a.process {
        Some(path) => oci::read_process(path)?,
        None => {
            if a.args.is_empty() {
                bail!("exec needs a command (ARGS) or --process");
            }
            let mut p = oci::process_for(root, &a.id, a.args.clone())?;
            p.set_terminal(Some(a.tty));
            if let Some(cwd) = &a.cwd {
                p.set_cwd(cwd.clone());
            }
            let mut env = p.env().clone().unwrap_or_default();
            env.extend(a.env.iter().cloned());
            p.set_env(Some(env));
            if let Some(user) = &a.user {
                let (uid, gid) = match user.split_once(':') {
                    Some((u, g)) => (u.parse::<u32>(), g.parse::<u32>()),
                    None => (user.parse::<u32>(), Ok(0)),
                };
                let (Ok(uid), Ok(gid)) = (uid, gid) else {
                    bail!("invalid --user {user:?}: use UID[:GID]");
                };
                let mut b = UserBuilder::default().uid(uid).gid(gid);
                if !a.additional_gids.is_empty() {
                    b = b.additional_gids(a.additional_gids.clone());
                }
                p.set_user(b.build().context("building the user")?);
            }
            if !a.cap.is_empty() {
                let mut caps = p.capabilities().clone().unwrap_or_default();
                for name in &a.cap {
                    let cap: Capability = name
                        .parse()
                        .map_err(|_| anyhow::anyhow!("unknown capability {name:?}"))?;
                    let add = |s: &Option<oci_spec::runtime::Capabilities>| {
                        let mut s = s.clone().unwrap_or_default();
                        s.insert(cap);
                        Some(s)
                    };
                    caps.set_bounding(add(caps.bounding()));
                    caps.set_effective(add(caps.effective()));
                    caps.set_permitted(add(caps.permitted()));
                }
                p.set_capabilities(Some(caps));
            }
            if a.no_new_privs {
                p.set_no_new_privileges(Some(true));
            }
            p
        }
    };
    let o = ExecOptions {
        detach: a.detach,
        pid_file: a.pid_file.clone(),
        console_socket: a.console_socket.clone(),
    };
    let status = oci::exec(root, &a.id, &process, &o)?;
    Ok(status.clamp(0, 255) as u8)
}
