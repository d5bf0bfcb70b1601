use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Result;
use den_runtime::image::{ImageStore, ImageSummary};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Load an image (OCI layout dir, docker-save or OCI tar; stdin if no file is given) under
    /// the names the archive gives it, or --name.
    Load {
        source: Option<PathBuf>,
        /// The archive to read (as docker's -i).
        #[arg(short, long, conflicts_with = "source")]
        input: Option<PathBuf>,
        #[arg(long)]
        name: Option<String>,
    },
    /// Save images to a tar archive (docker-save format, also an OCI layout; stdout if no -o).
    Save {
        /// Write to this file instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// List images.
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Remove images.
    #[command(alias = "remove")]
    Rm(RmArgs),
    /// Remove the layers no image uses.
    Prune,
    /// Show images' details as JSON (docker's shape).
    Inspect {
        #[arg(required = true)]
        names: Vec<String>,
    },
}

#[derive(clap::Args)]
pub struct LsArgs {
    /// Only image ids.
    #[arg(short, long)]
    quiet: bool,
    /// Show the registry digests.
    #[arg(long)]
    digests: bool,
    /// `json`: one JSON object per image.
    #[arg(long)]
    format: Option<String>,
}

#[derive(clap::Args)]
pub struct RmArgs {
    /// Remove even if a container uses it.
    #[arg(short, long)]
    force: bool,
    #[arg(required = true)]
    names: Vec<String>,
}

pub fn main(root: &Path, c: Command) -> Result<i32> {
    let store = ImageStore::new(root);
    match c {
        Command::Load {
            source,
            input,
            name,
        } => {
            let loaded = match source.or(input) {
                Some(path) => store.load(&path, name.as_deref())?,
                None => store.load_from(std::io::stdin().lock(), name.as_deref())?,
            };
            for one in loaded {
                for n in one.names {
                    println!("Loaded image: {n} ({})", one.image.id);
                }
            }
        }
        Command::Save { output, names } => match output {
            Some(file) => store.save_to(&names, &file)?,
            None if std::io::stdout().is_terminal() => anyhow::bail!(
                "cowardly refusing to save to a terminal. Use the -o flag or redirect"
            ),
            None => store.save(&names, std::io::stdout().lock())?,
        },
        Command::Ls(a) => ls(&store, &a)?,
        Command::Rm(a) => rm(root, &store, &a)?,
        Command::Inspect { names } => {
            let all = names
                .iter()
                .map(|n| store.inspect(n))
                .collect::<Result<Vec<_>, _>>()?;
            println!("{}", serde_json::to_string_pretty(&all)?);
        }
        Command::Prune => {
            let (removed, bytes) = store.prune()?;
            for layer in &removed {
                println!("deleted: {layer}");
            }
            println!("Total reclaimed space: {}", size(bytes));
        }
    }
    Ok(0)
}

pub fn tag(root: &Path, source: &str, target: &str) -> Result<i32> {
    ImageStore::new(root).tag(source, target)?;
    Ok(0)
}

fn short_id(id: &str) -> &str {
    let id = id.trim_start_matches("sha256:");
    &id[..id.len().min(12)]
}

pub fn ls(store: &ImageStore, a: &LsArgs) -> Result<()> {
    let images = store.list()?;
    if a.quiet {
        for i in &images {
            println!("{}", short_id(&i.id));
        }
        return Ok(());
    }
    if let Some(format) = &a.format {
        anyhow::ensure!(format == "json", "--format {format}: den knows only json");
        for i in &images {
            println!("{}", json(i));
        }
        return Ok(());
    }
    let digest_col = |s: &str| {
        if a.digests {
            format!("{s:<72}  ")
        } else {
            String::new()
        }
    };
    println!(
        "{:<40}  {:<12}  {}{:<12}  {:<20}  SIZE",
        "REPOSITORY",
        "TAG",
        digest_col("DIGEST"),
        "IMAGE ID",
        "CREATED"
    );
    for i in &images {
        println!(
            "{:<40}  {:<12}  {}{:<12}  {:<20}  {}",
            i.repository,
            i.tag.as_deref().unwrap_or("<none>"),
            digest_col(i.digest.as_deref().unwrap_or("<none>")),
            short_id(&i.id),
            i.created.as_deref().unwrap_or("N/A"),
            size(i.size)
        );
    }
    Ok(())
}

fn json(i: &ImageSummary) -> serde_json::Value {
    serde_json::json!({
        "Repository": i.repository,
        "Tag": i.tag.as_deref().unwrap_or("<none>"),
        "Digest": i.digest.as_deref().unwrap_or("<none>"),
        "ID": i.id,
        "CreatedAt": i.created,
        "Size": i.size,
        "Layers": i.layers,
        "Name": i.name,
    })
}

pub fn rm(root: &Path, store: &ImageStore, a: &RmArgs) -> Result<()> {
    let containers = den_runtime::state::Store::new(root).list()?;
    for name in &a.names {
        let id = store.resolve_id(name)?;
        if let Some(user) = containers.iter().find(|c| c.image_id == id) {
            if !a.force {
                anyhow::bail!(
                    "conflict: unable to remove image \"{name}\" (must force): container {} is using it",
                    &user.id[..user.id.len().min(12)]
                );
            }
        }
        let removed = store.remove(name)?;
        println!("Untagged: {removed}");
    }
    Ok(())
}

/// docker's units: 4.86MB, 345kB.
fn size(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.3}GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.3}MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.3}kB", b / 1e3)
    } else {
        format!("{bytes}B")
    }
}
