//! `den attach NAME`: follow a running container's output from now on, pass signals on, and exit
//! with its status (see `den_runtime::logs::attach`).

use std::path::Path;

use anyhow::Result;
use den_runtime::logs::{self, LogsError};

#[derive(clap::Args)]
pub struct Args {
    /// Pass the signals den gets on to the container's PID 1 (default true); false: a signal
    /// (Ctrl-C) ends den alone and the container runs on.
    #[arg(long, default_value_t = true, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = clap::ArgAction::Set)]
    sig_proxy: bool,
    /// Accepted as docker's: den never attaches stdin (a detached container has none open).
    #[arg(long)]
    no_stdin: bool,
    /// The container, by name or id (or a unique id prefix).
    container: String,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    let _ = a.no_stdin;
    match logs::attach(root, &a.container, a.sig_proxy) {
        Ok(status) => Ok(status),
        // docker's: a stopped or missing container is exit 1.
        Err(e @ (LogsError::NotRunning(_) | LogsError::State(_))) => {
            eprintln!("den: {}", den_runtime::run::one_line(&e));
            Ok(1)
        }
        Err(e) => Err(e.into()),
    }
}
