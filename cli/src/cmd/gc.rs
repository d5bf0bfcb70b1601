use std::path::Path;

use anyhow::Result;
use den_runtime::gc::{self, GcReport};

/// Finish what killed den processes left: containers whose supervisor is gone (killed, then marked
/// exited or removed), and every veth, nft element, lease, name and temp file whose owner is gone.
/// One line per object removed.
#[derive(clap::Args)]
pub struct Args {}

pub fn main(root: &Path, _a: Args) -> Result<i32> {
    let report = gc::collect(root)?;
    for r in &report.removed {
        println!("{r}");
    }
    Ok(warn(&report))
}

/// What `den ps` does first, and `den run` when a start failed: collect silently if some container's
/// supervisor is gone; only failures are shown (as warnings: the command itself goes on). Returns
/// whether anything was removed.
pub fn implicit(root: &Path) -> bool {
    match gc::collect_stale(root) {
        Ok(report) => {
            warn(&report);
            !report.removed.is_empty()
        }
        Err(e) => {
            eprintln!("den: gc: {}", den_runtime::run::one_line(&e));
            false
        }
    }
}

fn warn(report: &GcReport) -> i32 {
    for e in &report.failed {
        eprintln!("den: gc: {}", den_runtime::run::one_line(e));
    }
    i32::from(!report.failed.is_empty())
}
