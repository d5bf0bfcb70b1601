//! `den volume create|ls|inspect|rm|prune`: volumes under `<root>/volumes/NAME/_data`.

use std::path::Path;

use anyhow::Result;
use den_runtime::state::rfc3339;
use den_runtime::volume::{Volume, VolumeStore};
use serde_json::{json, Value};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create a volume (named with 64 random hex digits if no name is given).
    Create {
        /// The volume's name (default: 64 random hex digits).
        name: Option<String>,
    },
    /// List volumes.
    #[command(visible_alias = "list")]
    Ls(super::listing::LsArgs),
    /// Show volumes as JSON.
    Inspect {
        /// A Go template over each volume, or `json`.
        #[arg(short = 'f', long)]
        format: Option<String>,
        /// Volumes, by name.
        #[arg(required = true)]
        volumes: Vec<String>,
    },
    /// Remove volumes (refused while a container uses one).
    #[command(visible_alias = "remove")]
    Rm {
        /// A missing volume is no error.
        #[arg(short = 'f', long)]
        force: bool,
        /// Volumes, by name.
        #[arg(required = true)]
        volumes: Vec<String>,
    },
    /// Remove the anonymous volumes no container uses (with -a, named ones too).
    Prune {
        /// Named volumes too, not only anonymous ones.
        #[arg(short = 'a', long)]
        all: bool,
        /// Accepted for docker's sake: den does not ask.
        #[arg(short = 'f', long)]
        force: bool,
    },
}

pub fn main(root: &Path, c: Command) -> Result<i32> {
    let store = VolumeStore::new(root);
    match c {
        Command::Create { name } => {
            // Without a name, a random one (a named volume all the same, as docker's).
            let name = name.unwrap_or_else(den_runtime::state::new_id);
            let (v, _) = store.create(Some(&name))?;
            println!("{}", v.name);
        }
        Command::Ls(a) => {
            let mut rows: Vec<Value> = Vec::new();
            for v in store.list()? {
                let mut row = ls_row(&v);
                // `--filter dangling=`: no container, running or not, mounts it.
                if a.filters_on("dangling") {
                    let unused = store.users(&v.name)?.is_empty();
                    row["Dangling"] = Value::String(unused.to_string());
                }
                rows.push(row);
            }
            return super::listing::print(&a, VOLUME_HEADER, VOLUME_TABLE, rows, "Name");
        }
        Command::Inspect { format, volumes } => {
            let out = volumes
                .iter()
                .map(|n| store.get(n).map(|v| inspect(&v)))
                .collect::<Result<Vec<_>, _>>()?;
            print!("{}", crate::format::objects(format.as_deref(), &out)?);
        }
        Command::Rm { force, volumes } => {
            let mut status = 0;
            for name in &volumes {
                match store.remove(name, force) {
                    Ok(()) => println!("{name}"),
                    Err(e) => {
                        eprintln!("den: {}", den_runtime::run::one_line(&e));
                        status = 125;
                    }
                }
            }
            return Ok(status);
        }
        Command::Prune { all, force: _ } => {
            let removed = store.prune(all)?;
            if !removed.is_empty() {
                println!("Deleted Volumes:");
                removed.iter().for_each(|n| println!("{n}"));
            }
        }
    }
    Ok(0)
}

const VOLUME_HEADER: &str = r#"{"Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE",
  "Mountpoint": "MOUNTPOINT", "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE",
  "Availability": "AVAILABILITY", "Group": "GROUP", "Status": "STATUS"}"#;
const VOLUME_TABLE: &str = "{{.Driver}}\t{{.Name}}";

/// One row of `volume ls`: docker's fields.
fn ls_row(v: &Volume) -> Value {
    let labels = if v.anonymous {
        "com.docker.volume.anonymous="
    } else {
        ""
    };
    json!({
        "Name": v.name, "Driver": "local", "Scope": "local",
        "Mountpoint": v.mountpoint, "Labels": labels, "Links": "N/A", "Size": "N/A",
        "Availability": "N/A", "Group": "N/A", "Status": "N/A",
        "Anonymous": v.anonymous,
    })
}

/// `den inspect`'s volume.
pub fn inspect_one(root: &Path, name: &str) -> Result<Value> {
    Ok(inspect(&VolumeStore::new(root).get(name)?))
}

/// docker's `volume inspect` keys.
fn inspect(v: &Volume) -> Value {
    let mut labels = serde_json::Map::new();
    if v.anonymous {
        labels.insert("com.docker.volume.anonymous".into(), json!(""));
    }
    json!({
        "CreatedAt": rfc3339(v.created),
        "Driver": "local",
        "Labels": labels,
        "Mountpoint": v.mountpoint,
        "Name": v.name,
        "Options": null,
        "Scope": "local",
    })
}
