//! `den ps`: docker's columns (CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, PORTS, NAMES), flags
//! (-a, -q, -l, -n, -s, --no-trunc, --filter) and `--format` templates over docker's row fields.

mod filter;

pub use filter::FilterError;

use std::path::Path;

use anyhow::Result;
use den_runtime::lifecycle;
use den_runtime::state::{human_duration, now_secs, Container, Status, Store};
use serde_json::{json, Value};

use crate::format::{self, Format};

#[derive(clap::Args)]
pub struct Args {
    /// Show all containers (default: running only).
    #[arg(short = 'a', long)]
    all: bool,
    /// Only container ids.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Only the latest created container (any state).
    #[arg(short = 'l', long)]
    latest: bool,
    /// Only the N latest created containers (any state).
    #[arg(short = 'n', long = "last", value_name = "N")]
    last: Option<usize>,
    /// Show each container's size: its writable layer (and with the image, virtual).
    #[arg(short = 's', long)]
    size: bool,
    /// Do not truncate ids and commands.
    #[arg(long)]
    no_trunc: bool,
    /// Filter: status=, name=, label=KEY[=VALUE], ancestor=, network=, id=, exited=, before=,
    /// since=, health=starting|healthy|unhealthy|none, volume=NAME|DEST, publish=PORT[/PROTO],
    /// expose=PORT[/PROTO] (ranges START-END too), is-task=.
    #[arg(short = 'f', long = "filter", value_name = "FILTER")]
    filter: Vec<String>,
    /// `table TEMPLATE`, a Go template over .ID .Image .Command .CreatedAt .RunningFor .Ports
    /// .State .Status .Size .Names .Labels .Networks .Mounts, or `json`.
    #[arg(long)]
    format: Option<String>,
}

const HEADER: &str = r#"{"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND",
  "CreatedAt": "CREATED AT", "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE",
  "Status": "STATUS", "Size": "SIZE", "Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS",
  "Networks": "NETWORKS", "LocalVolumes": "LOCAL VOLUMES", "IP": "IP"}"#;

const DEFAULT: &str =
    "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

pub fn main(root: &Path, a: Args) -> Result<i32> {
    let _ = super::gc::implicit(root);
    let store = Store::new(root);
    let mut all: Vec<Container> = store.list()?.iter().map(lifecycle::observed).collect();
    let filters = filter::Filters::parse(&a.filter)?;
    // Newest first, as docker lists them; within one second of `created`, by when the container's
    // dir was made.
    all.sort_by_cached_key(|c| {
        let made = std::fs::metadata(store.dir(&c.id)).and_then(|m| m.created().or(m.modified()));
        std::cmp::Reverse((c.created, made.ok()))
    });
    filters.check_refs(&all)?;
    let mut shown: Vec<&Container> = all
        .iter()
        .filter(|c| {
            filters.has_status()
                || a.all
                || a.latest
                || a.last.is_some()
                || c.status == Status::Running
        })
        .filter(|c| filters.matches(c, &all, &store))
        .collect();
    if a.latest {
        shown.truncate(1);
    } else if let Some(n) = a.last {
        shown.truncate(n);
    }
    if a.quiet {
        for c in shown {
            println!("{}", if a.no_trunc { &c.id } else { c.short_id() });
        }
        return Ok(0);
    }
    let default = if a.size {
        format!("{DEFAULT}\t{{{{.Size}}}}")
    } else {
        DEFAULT.to_string()
    };
    let format = Format::parse(a.format.as_deref(), &default);
    let rows: Vec<Value> = shown
        .iter()
        .map(|c| row(c, &store, a.no_trunc, a.size))
        .collect();
    let header: Value = serde_json::from_str(HEADER).expect("header is JSON");
    print!("{}", format::list(&format, &header, &rows)?);
    Ok(0)
}

/// docker's STATUS column: `Up 3 seconds`, `Exited (0) 5 minutes ago`, `Created`; for `c` as
/// observed (`lifecycle::observed`). An exit nobody recorded (yet) shows as `Exited (?)`.
pub fn status(c: &Container) -> String {
    let now = now_secs();
    match c.status {
        Status::Created => "Created".into(),
        Status::Running => format!(
            "Up {}{}{}",
            human_duration(now - c.started_at.unwrap_or(now)),
            c.health_note(),
            if c.life.paused { " (Paused)" } else { "" }
        ),
        Status::Exited if lifecycle::is_restarting(c) => format!(
            "Restarting ({}) {} ago",
            c.exit_code.unwrap_or(0),
            human_duration(now - c.finished_at.unwrap_or(now))
        ),
        Status::Exited => format!(
            "Exited ({}) {} ago",
            c.exit_code.map_or("?".to_string(), |e| e.to_string()),
            human_duration(now - c.finished_at.unwrap_or(now))
        ),
    }
}

fn quote_command(c: &Container, no_trunc: bool) -> String {
    let cmd = c.command.join(" ");
    let cmd = if no_trunc { cmd } else { ellipsis(&cmd, 20) };
    format!("{cmd:?}")
}

/// docker's `ellipsis.Ellipsis`: at most `n` characters, the last one `…` when cut.
fn ellipsis(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// One row: docker's `ps --format` fields, all text as docker prints them, plus den's IP.
pub fn row(c: &Container, store: &Store, no_trunc: bool, size: bool) -> Value {
    // Like docker: the address and ports of a container that does not run are not shown.
    let net = c.network.as_ref().filter(|_| c.status == Status::Running);
    let ports: Vec<String> = net
        .iter()
        .flat_map(|n| &n.ports)
        .map(|p| {
            format!(
                "{}:{}->{}/{}",
                p.host_ip, p.host_port, p.container_port, p.proto
            )
        })
        .collect();
    let labels: Vec<String> = c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let now = now_secs();
    let networks = match &c.network {
        Some(n) => n.network.clone(),
        None => c.network_mode.clone(),
    };
    let mounts = den_runtime::volume::mounts_of(&store.dir(&c.id));
    let mount_names: Vec<String> = mounts
        .mounts
        .iter()
        .map(|m| {
            if m.name.is_empty() {
                m.source.display().to_string()
            } else {
                m.name.clone()
            }
        })
        .collect();
    json!({
        "ID": if no_trunc { c.id.as_str() } else { c.short_id() },
        "Image": c.image,
        "Command": quote_command(c, no_trunc),
        "CreatedAt": created_at(c.created),
        "RunningFor": format!("{} ago", human_duration(now - c.created)),
        "Ports": ports.join(", "),
        "State": c.status,
        "Status": status(c),
        "Size": if size { size_of(store, c) } else { String::new() },
        "Names": c.name,
        "Labels": labels.join(","),
        "Mounts": mount_names.join(","),
        "Networks": networks,
        "LocalVolumes": mounts.mounts.iter().filter(|m| m.kind == den_runtime::volume::MountKind::Volume).count().to_string(),
        "IP": net.map(|n| n.ip.to_string()).unwrap_or_default(),
    })
}

/// Go's `time.Time.String()` for a Unix time, in UTC: `2026-11-23 16:15:27 +0000 UTC`.
fn created_at(t: i64) -> String {
    let s = den_runtime::state::rfc3339(t);
    format!("{} {} +0000 UTC", &s[..10], &s[11..19])
}

/// `-s`: the container's writable layer, and with its image's layers (docker's "virtual").
fn size_of(store: &Store, c: &Container) -> String {
    let rw = den_runtime::hostinfo::disk_usage(&store.dir(&c.id).join("upper"));
    let image = den_runtime::image::ImageStore::new(store.root())
        .list()
        .ok()
        .and_then(|l| l.into_iter().find(|i| i.id == c.image_id).map(|i| i.size))
        .unwrap_or(0);
    format!(
        "{} (virtual {})",
        super::image::size(rw),
        super::image::size(rw + image)
    )
}
