//! `den cp [-a] [-L] SRC DST`: CONTAINER:PATH on one side, a host path or `-` (a tar stream on
//! stdin or stdout) on the other.

use std::path::Path;

use anyhow::Result;
use den_runtime::volume::{self, CpRequest, End};

#[derive(clap::Args)]
pub struct Args {
    /// Archive mode: keep the owners (uid/gid) of what is copied.
    #[arg(short = 'a', long)]
    archive: bool,
    /// Follow a symlink at SRC itself.
    #[arg(short = 'L', long = "follow-link")]
    follow: bool,
    /// CONTAINER:PATH, a host path, or - (a tar stream on stdin).
    src: String,
    /// CONTAINER:PATH, a host path, or - (a tar stream on stdout).
    dst: String,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    let req = CpRequest {
        root,
        src: End::parse(&a.src),
        dst: End::parse(&a.dst),
        archive: a.archive,
        follow: a.follow,
    };
    volume::copy(&req)?;
    Ok(0)
}
