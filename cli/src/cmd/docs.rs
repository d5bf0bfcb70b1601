//! `den completion bash|zsh|fish` (clap_complete) and `den man DIR` (clap_mangen): both from the
//! same clap definitions as the parser.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::CommandFactory;

#[derive(clap::Args)]
pub struct CompletionArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    shell: clap_complete::Shell,
}

#[derive(clap::Args)]
pub struct ManArgs {
    /// The directory to write den.1 and den-VERB.1 (den-network-create.1 ...) into.
    dir: PathBuf,
}

pub fn completion(a: CompletionArgs) -> Result<i32> {
    let mut cmd = crate::Cli::command();
    clap_complete::generate(a.shell, &mut cmd, "den", &mut std::io::stdout());
    Ok(0)
}

pub fn man(a: ManArgs) -> Result<i32> {
    std::fs::create_dir_all(&a.dir).with_context(|| format!("creating {}", a.dir.display()))?;
    // One page per command, named as clap displays it: den.1, den-run.1, den-network-create.1.
    clap_mangen::generate_to(crate::Cli::command(), &a.dir)
        .with_context(|| format!("writing man pages into {}", a.dir.display()))?;
    println!("{}", a.dir.display());
    Ok(0)
}
