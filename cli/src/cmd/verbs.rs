//! `den pause`, `unpause`, `wait`, `rename`, `container prune`.

use std::io::BufRead;
use std::path::Path;

use anyhow::Result;
use den_runtime::lifecycle;

#[derive(clap::Args)]
pub struct Containers {
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn pause(root: &Path, a: Containers) -> Result<i32> {
    Ok(super::each::each(&a.containers, |key| {
        lifecycle::pause(root, key)
    }))
}

pub fn unpause(root: &Path, a: Containers) -> Result<i32> {
    Ok(super::each::each(&a.containers, |key| {
        lifecycle::unpause(root, key)
    }))
}

/// `den wait`: each container's exit code once it stops; exit 1 if any could not be waited for.
pub fn wait(root: &Path, a: Containers) -> Result<i32> {
    let mut status = 0;
    for key in &a.containers {
        match lifecycle::wait(root, key) {
            Ok(code) => println!("{code}"),
            Err(e) => {
                eprintln!("den: {}", den_runtime::run::one_line(&e));
                status = 1;
            }
        }
    }
    Ok(status)
}

#[derive(clap::Args)]
pub struct RenameArgs {
    container: String,
    new_name: String,
}

pub fn rename(root: &Path, a: RenameArgs) -> Result<i32> {
    lifecycle::rename(root, &a.container, &a.new_name)?;
    Ok(0)
}

#[derive(clap::Subcommand)]
pub enum ContainerCommand {
    /// Remove all stopped containers.
    Prune {
        /// Do not ask for confirmation.
        #[arg(short = 'f', long)]
        force: bool,
    },
}

/// docker's question before a prune; true if the answer is y.
pub fn confirm(warning: &str) -> bool {
    eprint!("WARNING! {warning}\nAre you sure you want to continue? [y/N] ");
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    matches!(line.trim(), "y" | "Y" | "yes")
}

pub fn container(root: &Path, c: ContainerCommand) -> Result<i32> {
    match c {
        ContainerCommand::Prune { force } => {
            if !force && !confirm("This will remove all stopped containers.") {
                return Ok(0);
            }
            let (removed, failed) = lifecycle::prune(root)?;
            if !removed.is_empty() {
                println!("Deleted Containers:");
                removed.iter().for_each(|id| println!("{id}"));
            }
            match failed {
                Some(e) => Err(e.into()),
                None => Ok(0),
            }
        }
    }
}
