use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Result;
use den_runtime::image::{ImageStore, ImageSummary};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Load an image (OCI layout dir, docker-save or OCI tar; stdin if no file is given) under
    /// the names the archive gives it, or --name.
    Load(LoadArgs),
    /// Save images to a tar archive (docker-save format, also an OCI layout; stdout if no -o).
    Save(SaveArgs),
    /// Pull an image from a registry (as `den pull`).
    Pull(super::pull::Args),
    /// Push an image to a registry (as `den push`).
    Push(super::push::Args),
    /// Give an image another name (as `den tag`).
    Tag {
        /// The image, by name or id.
        source: String,
        /// The new name: [HOST[:PORT]/]REPO[:TAG].
        target: String,
    },
    /// List images.
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Remove images.
    #[command(alias = "remove")]
    Rm(RmArgs),
    /// Remove the layers no image uses.
    Prune,
    /// Show images' details as JSON (docker's shape), or a Go template's rendering of each.
    Inspect {
        /// Images, by name or id.
        #[arg(required = true)]
        names: Vec<String>,
        /// A Go template over each image (`{{.Config.ExposedPorts}}`), or `json`.
        #[arg(short = 'f', long)]
        format: Option<String>,
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
    /// Full image ids (sha256:...).
    #[arg(long)]
    no_trunc: bool,
    /// Filter: dangling=true|false, reference=PATTERN (`*` wildcards), before=IMAGE, since=IMAGE.
    #[arg(short = 'f', long = "filter", value_name = "FILTER")]
    filter: Vec<String>,
    /// `table TEMPLATE`, a Go template over .Repository .Tag .Digest .ID .CreatedSince .CreatedAt
    /// .Size, or `json`.
    #[arg(long)]
    format: Option<String>,
}

#[derive(clap::Args)]
pub struct RmArgs {
    /// Remove even if a container uses it.
    #[arg(short, long)]
    force: bool,
    /// Images, by name or id.
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(clap::Args)]
pub struct LoadArgs {
    /// The archive: an OCI layout dir, a docker-save or OCI tar (default: stdin).
    source: Option<PathBuf>,
    /// The archive to read (as docker's -i).
    #[arg(short, long, conflicts_with = "source")]
    input: Option<PathBuf>,
    /// The name to give the image (default: the names the archive gives it).
    #[arg(long)]
    name: Option<String>,
}

#[derive(clap::Args)]
pub struct SaveArgs {
    /// Write to this file instead of stdout.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Images, by name or id.
    #[arg(required = true)]
    names: Vec<String>,
}

pub fn main(root: &Path, c: Command) -> Result<i32> {
    let store = ImageStore::new(root);
    match c {
        Command::Load(LoadArgs {
            source,
            input,
            name,
        }) => {
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
        Command::Save(SaveArgs { output, names }) => match output {
            Some(file) => store.save_to(&names, &file)?,
            None if std::io::stdout().is_terminal() => anyhow::bail!(
                "cowardly refusing to save to a terminal. Use the -o flag or redirect"
            ),
            None => store.save(&names, std::io::stdout().lock())?,
        },
        Command::Pull(a) => return super::pull::main(root, a),
        Command::Push(a) => return super::push::main(root, a),
        Command::Tag { source, target } => return tag(root, &source, &target),
        Command::Ls(a) => ls(&store, &a)?,
        Command::Rm(a) => return rm(root, &store, &a),
        Command::Inspect { names, format } => {
            let all = names
                .iter()
                .map(|n| store.inspect(n))
                .collect::<Result<Vec<_>, _>>()?;
            print!("{}", crate::format::objects(format.as_deref(), &all)?);
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

const HEADER: &str = r#"{"Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
  "ID": "IMAGE ID", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
  "Containers": "CONTAINERS", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE",
  "VirtualSize": "VIRTUAL SIZE", "Name": "NAME", "Layers": "LAYERS"}"#;

pub fn ls(store: &ImageStore, a: &LsArgs) -> Result<()> {
    let mut images = store.list()?;
    super::image_filter::retain(&mut images, &a.filter)?;
    if a.quiet {
        for i in &images {
            println!(
                "{}",
                if a.no_trunc {
                    i.id.as_str()
                } else {
                    short_id(&i.id)
                }
            );
        }
        return Ok(());
    }
    let table = if a.digests {
        "{{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    } else {
        "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    };
    let rows: Vec<serde_json::Value> = images.iter().map(|i| row(i, a.no_trunc)).collect();
    let header: serde_json::Value = serde_json::from_str(HEADER).expect("header is JSON");
    let f = crate::format::Format::parse(a.format.as_deref(), table);
    print!("{}", crate::format::list(&f, &header, &rows)?);
    Ok(())
}

/// One row: docker's `images --format` fields (text, as docker prints them), and den's Name and
/// Layers.
fn row(i: &ImageSummary, no_trunc: bool) -> serde_json::Value {
    let created = i
        .created
        .as_deref()
        .and_then(super::image_filter::parse_time);
    serde_json::json!({
        "Repository": i.repository,
        "Tag": i.tag.as_deref().unwrap_or("<none>"),
        "Digest": i.digest.as_deref().unwrap_or("<none>"),
        "ID": if no_trunc { i.id.as_str() } else { short_id(&i.id) },
        "CreatedAt": i.created.clone().unwrap_or_default(),
        "CreatedSince": created.map_or("N/A".to_string(), |t| format!("{} ago",
            den_runtime::state::human_duration(den_runtime::state::now_secs() - t))),
        "Size": size(i.size),
        "Containers": "N/A", "SharedSize": "N/A", "UniqueSize": "N/A",
        "VirtualSize": size(i.size),
        "Layers": i.layers,
        "Name": i.name,
    })
}

/// docker's `rmi`: each name in turn; a missing one is `Error: No such image: NAME` and exit 1
/// after the others (docker's "response from daemon" dropped: there is none).
pub fn rm(root: &Path, store: &ImageStore, a: &RmArgs) -> Result<i32> {
    let containers = den_runtime::state::Store::new(root).list()?;
    let mut status = 0;
    for name in &a.names {
        let id = match store.resolve_id(name) {
            Ok(id) => id,
            Err(den_runtime::image::ImageError::NoSuchName { .. }) => {
                eprintln!("Error: No such image: {name}");
                status = 1;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
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
    Ok(status)
}

/// docker's units: 4.86MB, 345kB.
pub fn size(bytes: u64) -> String {
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
