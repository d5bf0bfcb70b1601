use std::path::Path;

use anyhow::Result;
use den_runtime::logs;

#[derive(clap::Args)]
pub struct Args {
    /// Keep printing what the container writes until it exits.
    #[arg(short = 'f', long)]
    follow: bool,
    /// Only the last N lines.
    #[arg(short = 'n', long)]
    tail: Option<usize>,
    container: String,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    let mut out = std::io::stdout().lock();
    match logs::logs(root, &a.container, a.follow, a.tail, &mut out) {
        // Whoever read our output (`| head`) has seen enough.
        Err(logs::LogsError::Write { source, .. })
            if source.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            Ok(0)
        }
        r => r.map(|()| 0).map_err(Into::into),
    }
}
