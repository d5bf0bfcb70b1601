//! `den system prune [-a] [--volumes] [-f]`: what docker's removes, where den has it.

use std::path::Path;

use anyhow::Result;
use den_runtime::image::ImageStore;
use den_runtime::lifecycle;
use den_runtime::state::Store;
use den_runtime::volume::VolumeStore;

#[derive(clap::Args)]
pub struct Args {
    /// Also every image no container uses.
    #[arg(short = 'a', long)]
    all: bool,
    /// Also the anonymous volumes no container uses.
    #[arg(long)]
    volumes: bool,
    /// Do not ask for confirmation.
    #[arg(short = 'f', long)]
    force: bool,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    let Args {
        all,
        volumes,
        force,
    } = a;
    let mut what = vec!["all stopped containers"];
    if volumes {
        what.push("all anonymous volumes not used by at least one container");
    }
    what.push(if all {
        "all images without at least one container associated to them"
    } else {
        "all image layers no image uses"
    });
    let warning = format!("This will remove:\n  - {}", what.join("\n  - "));
    if !force && !super::verbs::confirm(&warning) {
        return Ok(0);
    }
    let (containers, failed) = lifecycle::prune(root)?;
    if !containers.is_empty() {
        println!("Deleted Containers:");
        containers.iter().for_each(|id| println!("{id}"));
    }
    if volumes {
        let removed = VolumeStore::new(root).prune(false)?;
        if !removed.is_empty() {
            println!("Deleted Volumes:");
            removed.iter().for_each(|n| println!("{n}"));
        }
    }
    let images = ImageStore::new(root);
    if all {
        let used: Vec<String> = Store::new(root)
            .list()?
            .into_iter()
            .flat_map(|c| [c.image, c.image_id])
            .collect();
        let unused: Vec<String> = images
            .list()?
            .into_iter()
            .filter(|i| !used.contains(&i.name) && !used.contains(&i.id))
            .map(|i| i.name)
            .collect();
        if !unused.is_empty() {
            println!("Deleted Images:");
        }
        for name in unused {
            println!("untagged: {}", images.remove(&name)?);
        }
    }
    let (_, bytes) = images.prune()?;
    println!("Total reclaimed space: {}", super::image::size(bytes));
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(0),
    }
}
