use std::path::Path;

use anyhow::Result;
use den_runtime::logs::{self, stamp, LogsOptions, Sinks};

#[derive(clap::Args)]
pub struct Args {
    /// Keep printing what the container writes until it exits.
    #[arg(short = 'f', long)]
    follow: bool,
    /// Only the last N lines.
    #[arg(short = 'n', long)]
    tail: Option<usize>,
    /// Show each line's time (RFC 3339, nanoseconds) before it.
    #[arg(short = 't', long)]
    timestamps: bool,
    /// Only lines since a time: RFC 3339, Unix seconds, or a duration back from now (10m).
    #[arg(long)]
    since: Option<String>,
    /// Only lines until a time (same forms as --since).
    #[arg(long)]
    until: Option<String>,
    container: String,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    let now = stamp::now();
    let time = |s: &Option<String>| {
        s.as_deref()
            .map(|s| stamp::parse_time(s, now).map_err(anyhow::Error::msg))
            .transpose()
    };
    let opts = LogsOptions {
        follow: a.follow,
        tail: a.tail,
        timestamps: a.timestamps,
        since: time(&a.since)?,
        until: time(&a.until)?,
    };
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    let mut sinks = Sinks {
        stdout: &mut out,
        stderr: &mut err,
    };
    match logs::logs(root, &a.container, &opts, &mut sinks) {
        // Whoever read our output (`| head`) has seen enough.
        Err(logs::LogsError::Write { source, .. })
            if source.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            Ok(0)
        }
        r => r.map(|()| 0).map_err(Into::into),
    }
}
