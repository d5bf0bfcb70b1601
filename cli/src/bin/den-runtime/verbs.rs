//! Each verb: parse what clap gave, call `den_runtime::oci`, print what runc prints.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use den_runtime::oci::{self, CreateOptions, OciStatus};

use crate::{CreateArgs, Verb};

pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\nspec: ",
    "1.0.2",
    "\nden: an OCI runtime on den's process code"
);

fn options(a: &CreateArgs) -> CreateOptions {
    CreateOptions {
        bundle: a.bundle.clone(),
        pid_file: a.pid_file.clone(),
        console_socket: a.console_socket.clone(),
        preserve_fds: a.preserve_fds,
    }
}

pub fn run(root: &Path, verb: Verb) -> Result<u8> {
    match verb {
        Verb::Create(a) => {
            oci::create(root, &a.id, &options(&a))?;
        }
        Verb::Start { id } => oci::start(root, &id)?,
        Verb::State { id } => {
            let r = oci::load(root, &id)?;
            let state = r.state_json(r.status(root));
            println!("{}", serde_json::to_string_pretty(&state)?);
        }
        Verb::Kill { all, id, signal } => oci::kill(root, &id, &signal, all)?,
        Verb::Delete { force, id } => oci::delete(root, &id, force)?,
        Verb::Run { create, detach } => {
            let o = options(&create);
            if detach {
                oci::create(root, &create.id, &o)?;
                oci::start(root, &create.id)?;
            } else {
                let status = oci::run(root, &create.id, &o)?;
                return Ok(status.clamp(0, 255) as u8);
            }
        }
        Verb::Pause { id } => oci::set_frozen(root, &id, true)?,
        Verb::Resume { id } => oci::set_frozen(root, &id, false)?,
        Verb::Exec(a) => return crate::exec::run(root, a),
        Verb::Spec { bundle, rootless } => {
            if rootless {
                bail!("--rootless: den-runtime runs as root only");
            }
            let path = bundle.join("config.json");
            if path.exists() {
                bail!("File {} exists. Remove it first", path.display());
            }
            let body = serde_json::to_string_pretty(&crate::defaults::spec())?;
            std::fs::write(&path, body).with_context(|| format!("writing {}", path.display()))?;
        }
        Verb::Features => {
            println!(
                "{}",
                serde_json::to_string_pretty(&crate::defaults::features())?
            );
        }
        Verb::List { format, quiet } => list(root, &format, quiet)?,
        Verb::Ps {
            format,
            id,
            ps_args,
        } => ps(root, &id, &format, &ps_args)?,
    }
    Ok(0)
}

fn list(root: &Path, format: &str, quiet: bool) -> Result<()> {
    let all = oci::list(root)?;
    if quiet {
        all.iter().for_each(|r| println!("{}", r.id));
        return Ok(());
    }
    match format {
        "json" => {
            let states: Vec<_> = all.iter().map(|r| r.state_json(r.status(root))).collect();
            println!("{}", serde_json::to_string(&states)?);
        }
        "table" => {
            println!(
                "{:<12} {:<10} {:<10} {:<40} {:<30} OWNER",
                "ID", "PID", "STATUS", "BUNDLE", "CREATED"
            );
            for r in &all {
                let status = r.status(root);
                let pid = if status == OciStatus::Stopped {
                    0
                } else {
                    r.pid
                };
                println!(
                    "{:<12} {:<10} {:<10} {:<40} {:<30} root",
                    r.id,
                    pid,
                    status,
                    r.bundle.display(),
                    r.created
                );
            }
        }
        other => bail!("invalid format option {other:?}: use table or json"),
    }
    Ok(())
}

/// runc's way: `ps ARGS` (default -ef), keeping the header and the lines whose PID column is
/// one of the container's.
fn ps(root: &Path, id: &str, format: &str, args: &[String]) -> Result<()> {
    let pids = oci::pids(root, id)?;
    match format {
        "json" => {
            println!("{}", serde_json::to_string(&pids)?);
            return Ok(());
        }
        "table" => {}
        other => bail!("invalid format option {other:?}: use table or json"),
    }
    let args: Vec<String> = match args.is_empty() {
        true => vec!["-ef".into()],
        false => args.to_vec(),
    };
    let out = Command::new("ps")
        .args(&args)
        .output()
        .context("running ps")?;
    if !out.status.success() {
        bail!(
            "ps {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .context("ps output has no PID column")?;
    println!("{header}");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            println!("{line}");
        }
    }
    Ok(())
}
