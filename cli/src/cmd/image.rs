use std::path::{Path, PathBuf};

use anyhow::Result;
use den_runtime::image::ImageStore;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Load an image (OCI layout dir, docker-save or OCI tar) under a name.
    Load {
        source: PathBuf,
        #[arg(long)]
        name: String,
    },
    /// List loaded images.
    Ls,
    /// Remove a loaded image.
    Rm { name: String },
}

pub fn main(root: &Path, c: Command) -> Result<i32> {
    let store = ImageStore::new(root);
    match c {
        Command::Load { source, name } => {
            let img = store.load(&source, &name)?;
            println!("Loaded image {name} ({})", img.id);
        }
        Command::Ls => {
            println!("{:<24}  {:<19}  {:<7}  CREATED", "NAME", "ID", "LAYERS");
            for i in store.list()? {
                let id = i.id.trim_start_matches("sha256:");
                println!(
                    "{:<24}  {:<19}  {:<7}  {}",
                    i.name,
                    &id[..id.len().min(12)],
                    i.layers,
                    i.created.unwrap_or_default()
                );
            }
        }
        Command::Rm { name } => {
            store.remove(&name)?;
            println!("Untagged: {name}");
        }
    }
    Ok(0)
}
