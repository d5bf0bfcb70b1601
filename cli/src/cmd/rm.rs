use std::path::Path;

use anyhow::Result;
use den_runtime::lifecycle;

#[derive(clap::Args)]
pub struct Args {
    /// Kill a running container first.
    #[arg(short = 'f', long)]
    force: bool,
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    let mut status = 0;
    for key in &a.containers {
        match lifecycle::remove(root, key, a.force) {
            Ok(name) => println!("{name}"),
            Err(e) => {
                eprintln!("den: {}", crate::report::one_line(crate::report::chain(&e)));
                status = 1;
            }
        }
    }
    Ok(status)
}
