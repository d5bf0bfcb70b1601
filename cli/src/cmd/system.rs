//! `den version`, `den info` and `den system df|info|prune|events`: docker's reports, from the runtime's
//! host info and den's stores; `--format` templates over docker's keys.

use std::path::Path;

use anyhow::Result;
use den_runtime::hostinfo::{self, disk_usage};
use den_runtime::image::ImageStore;
use den_runtime::lifecycle;
use den_runtime::state::{Status, Store};
use den_runtime::volume::{MountKind, VolumeStore};
use serde_json::{json, Value};

use super::image::size;
use crate::format::{self, Format};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Show disk usage: images, containers, volumes.
    Df(FormatArgs),
    /// Display system-wide information (as `den info`).
    Info(FormatArgs),
    /// Remove stopped containers, unused layers and (-a) every image no container uses,
    /// (--volumes) anonymous volumes no container uses.
    Prune(super::prune::Args),
    /// Past and live events (as `den events`).
    Events(super::events::Args),
}

#[derive(clap::Args)]
pub struct FormatArgs {
    /// A Go template (e.g. '{{.KernelVersion}}'), `table TEMPLATE` (df), or `json`.
    #[arg(short = 'f', long)]
    format: Option<String>,
}

pub fn main(root: &Path, c: Command) -> Result<i32> {
    match c {
        Command::Df(a) => df(root, a),
        Command::Info(a) => info(root, a),
        Command::Prune(a) => super::prune::main(root, a),
        Command::Events(a) => super::events::main(root, a),
    }
}

/// docker's `amd64`/`arm64` for Rust's architecture names.
fn goarch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// `den version`: the client is the runtime (no daemon); `.Server` holds the runtime's details
/// so docker's `{{.Server.Version}}` works.
pub fn version(root: &Path, a: FormatArgs) -> Result<i32> {
    let h = hostinfo::host();
    let v = env!("CARGO_PKG_VERSION");
    let doc = json!({
        "Client": {"Version": v, "Os": "linux", "Arch": goarch(), "Context": "default"},
        "Server": {"Platform": {"Name": "den (daemonless: this same binary)"}, "Version": v,
                   "KernelVersion": h.kernel_version, "Os": "linux", "Arch": goarch(),
                   "CgroupVersion": h.cgroup_version, "CgroupDriver": h.cgroup_driver,
                   "RootDir": root.display().to_string()},
    });
    if a.format.is_some() {
        print!("{}", format::objects(a.format.as_deref(), &[doc])?);
        return Ok(0);
    }
    let s = &doc["Server"];
    println!("Client:\n Version:           {v}\n OS/Arch:           linux/{}\n Context:           default\n", goarch());
    println!(
        "Server: {}",
        s["Platform"]["Name"].as_str().unwrap_or_default()
    );
    println!(" Version:           {v}");
    println!(" Kernel Version:    {}", h.kernel_version);
    println!(" OS/Arch:           linux/{}", goarch());
    println!(" Cgroup Version:    {}", h.cgroup_version);
    println!(" Cgroup Driver:     {}", h.cgroup_driver);
    println!(" Root Dir:          {}", root.display());
    Ok(0)
}

/// docker's `units.BytesSize`: 3.844GiB.
fn binary_size(b: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    format!("{}{}", (v * 1000.0).round() / 1000.0, units[i])
}

/// `den info`: docker's keys (Containers, Images, Driver, CgroupVersion, KernelVersion, ...) and
/// den's networks.
pub fn info(root: &Path, a: FormatArgs) -> Result<i32> {
    let h = hostinfo::host();
    let containers: Vec<_> = Store::new(root)
        .list()?
        .iter()
        .map(lifecycle::observed)
        .collect();
    let running = containers
        .iter()
        .filter(|c| c.status == Status::Running)
        .count();
    let images = ImageStore::new(root).list()?.len();
    let networks: Vec<Value> = den_netcfg::network::list(root)?
        .iter()
        .map(|n| json!({"Name": n.name, "Subnet": n.subnet.to_string(), "Bridge": n.bridge}))
        .collect();
    let mut doc = serde_json::to_value(&h)?;
    let extra = json!({
        "Containers": containers.len(), "ContainersRunning": running, "ContainersPaused": 0,
        "ContainersStopped": containers.len() - running, "Images": images,
        "Driver": "overlay", "LoggingDriver": "json-file",
        "ServerVersion": env!("CARGO_PKG_VERSION"), "DockerRootDir": root.display().to_string(),
        "Networks": networks,
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        doc[k] = v.clone();
    }
    if a.format.is_some() {
        print!("{}", format::objects(a.format.as_deref(), &[doc])?);
        return Ok(0);
    }
    let names: Vec<&str> = networks.iter().filter_map(|n| n["Name"].as_str()).collect();
    println!(
        "Client:\n Version:    {}\n Context:    default\n",
        env!("CARGO_PKG_VERSION")
    );
    println!("Server: den (no daemon: this report is read from the state root)");
    println!(" Containers: {}", containers.len());
    println!(
        "  Running: {running}\n  Paused: 0\n  Stopped: {}",
        containers.len() - running
    );
    println!(" Images: {images}");
    println!(" Server Version: {}", env!("CARGO_PKG_VERSION"));
    println!(" Storage Driver: overlay");
    println!(" Logging Driver: json-file");
    println!(" Cgroup Driver: {}", h.cgroup_driver);
    println!(" Cgroup Version: {}", h.cgroup_version);
    println!(" Cgroup Parent: {}", h.cgroup_parent);
    println!(" Networks: {}", names.join(" "));
    println!(" Kernel Version: {}", h.kernel_version);
    println!(" Operating System: {}", h.operating_system);
    println!(" OSType: {}", h.os_type);
    println!(" Architecture: {}", h.architecture);
    println!(" CPUs: {}", h.ncpu);
    println!(" Total Memory: {}", binary_size(h.mem_total));
    println!(" Name: {}", h.name);
    println!(" Den Root Dir: {}", root.display());
    Ok(0)
}

const DF_HEADER: &str = r#"{"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE",
  "Size": "SIZE", "Reclaimable": "RECLAIMABLE"}"#;
const DF_TABLE: &str = "{{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";

fn df_row(kind: &str, total: usize, active: usize, bytes: u64, reclaim: u64, pct: bool) -> Value {
    let mut r = size(reclaim);
    if pct && bytes > 0 {
        r = format!("{r} ({}%)", reclaim * 100 / bytes);
    }
    json!({"Type": kind, "TotalCount": total.to_string(), "Active": active.to_string(),
           "Size": size(bytes), "Reclaimable": r})
}

/// `den system df`: images (active: used by a container), containers (active: running; size:
/// their writable layers) and local volumes (active: mounted by a container).
fn df(root: &Path, a: FormatArgs) -> Result<i32> {
    let store = Store::new(root);
    let containers: Vec<_> = store.list()?.iter().map(lifecycle::observed).collect();
    let images = ImageStore::new(root).list()?;
    let used_images: Vec<&den_runtime::image::ImageSummary> = images
        .iter()
        .filter(|i| containers.iter().any(|c| c.image_id == i.id))
        .collect();
    let image_bytes: u64 = images.iter().map(|i| i.size).sum();
    let used_bytes: u64 = used_images.iter().map(|i| i.size).sum();
    let sizes: Vec<(bool, u64)> = containers
        .iter()
        .map(|c| {
            (
                c.status == Status::Running,
                disk_usage(&store.dir(&c.id).join("upper")),
            )
        })
        .collect();
    let ctr_bytes: u64 = sizes.iter().map(|(_, b)| b).sum();
    let idle_bytes: u64 = sizes.iter().filter(|(r, _)| !r).map(|(_, b)| b).sum();
    let volumes = VolumeStore::new(root).list()?;
    let in_use: Vec<String> = containers
        .iter()
        .flat_map(|c| den_runtime::volume::mounts_of(&store.dir(&c.id)).mounts)
        .filter(|m| m.kind == MountKind::Volume)
        .map(|m| m.name)
        .collect();
    let vsizes: Vec<(bool, u64)> = volumes
        .iter()
        .map(|v| (in_use.contains(&v.name), disk_usage(&v.mountpoint)))
        .collect();
    let vol_bytes: u64 = vsizes.iter().map(|(_, b)| b).sum();
    let unused_vol: u64 = vsizes.iter().filter(|(u, _)| !u).map(|(_, b)| b).sum();
    let rows = [
        df_row(
            "Images",
            images.len(),
            used_images.len(),
            image_bytes,
            image_bytes - used_bytes,
            true,
        ),
        df_row(
            "Containers",
            containers.len(),
            sizes.iter().filter(|(r, _)| *r).count(),
            ctr_bytes,
            idle_bytes,
            true,
        ),
        df_row(
            "Local Volumes",
            volumes.len(),
            vsizes.iter().filter(|(u, _)| *u).count(),
            vol_bytes,
            unused_vol,
            true,
        ),
        df_row("Build Cache", 0, 0, 0, 0, false),
    ];
    let header: Value = serde_json::from_str(DF_HEADER).expect("header is JSON");
    let f = Format::parse(a.format.as_deref(), DF_TABLE);
    print!("{}", format::list(&f, &header, &rows)?);
    Ok(0)
}
