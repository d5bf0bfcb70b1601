//! `den ns A [B|host]`: the namespace matrix of two processes — each kind's inode on both sides,
//! shared or not — and the PID of each side inside its PID namespace and on the host.

use std::path::Path;

use anyhow::{bail, Result};
use den_netcfg::view::nsset::{self, NsSet, KINDS};
use den_netcfg::view::Owner;
use den_runtime::lifecycle;
use den_runtime::state::{Status, Store};
use serde_json::json;

#[derive(clap::Args)]
pub struct Args {
    /// A den container (name or id), another engine's container (id prefix, podman name), a PID,
    /// or `host` (den's own namespaces).
    a: String,
    /// The other side (default: host).
    #[arg(default_value = "host")]
    b: String,
    /// `json` for one JSON object.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    format: String,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    let (la, sa) = side(root, &a.a)?;
    let (lb, sb) = side(root, &a.b)?;
    if a.format == "json" {
        let kinds: Vec<_> = KINDS
            .iter()
            .map(|k| {
                let (x, y) = (sa.inode(k), sb.inode(k));
                json!({"kind": k, "a": x, "b": y, "shared": x.is_some() && x == y})
            })
            .collect();
        let one = |l: &str, s: &NsSet| json!({"label": l, "pid": s.pid, "pid_inside": s.pid_inside, "comm": s.comm});
        let v = json!({"a": one(&la, &sa), "b": one(&lb, &sb), "namespaces": kinds});
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    let show = |k: &str, i: Option<u64>| i.map_or("-".to_string(), |i| format!("{k}:[{i}]"));
    let pid = |s: &NsSet| match s.pid_inside {
        Some(inside) if inside != s.pid => {
            format!("{inside} inside, {} on the host ({})", s.pid, s.comm)
        }
        _ => format!("{} ({})", s.pid, s.comm),
    };
    let mut rows: Vec<[String; 4]> = vec![["".into(), la, lb, "".into()]];
    for k in KINDS {
        let (x, y) = (sa.inode(k), sb.inode(k));
        let verdict = if x.is_some() && x == y {
            "shared"
        } else {
            "separate"
        };
        rows.push([k.into(), show(k, x), show(k, y), verdict.into()]);
    }
    rows.push(["PID".into(), pid(&sa), pid(&sb), "".into()]);
    let w = |c: usize| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0);
    let (w0, w1, w2) = (w(0), w(1), w(2));
    for [k, x, y, v] in &rows {
        println!(
            "{}",
            format!("{k:<w0$}  {x:<w1$}  {y:<w2$}  {v}").trim_end()
        );
    }
    Ok(0)
}

/// A label and the namespaces of the process a name stands for.
fn side(root: &Path, key: &str) -> Result<(String, NsSet)> {
    if key == "host" {
        return Ok(("host".into(), nsset::own()?));
    }
    if let Ok(c) = lifecycle::find(&Store::new(root), key) {
        let Some(pid) = c.pid.filter(|_| c.status == Status::Running) else {
            bail!("container {} is not running", c.name);
        };
        return Ok((c.name.clone(), nsset::of_pid(u32::try_from(pid)?)?));
    }
    if let Ok(pid) = key.parse::<u32>() {
        return Ok((format!("pid {pid}"), nsset::of_pid(pid)?));
    }
    // Another engine's container: the namespace whose owner it is, by its first process.
    let snap = super::topology::snapshot(root, true)?;
    let found = snap.namespaces.iter().find(|n| match &n.owner {
        Owner::Containerd { id, .. } => id.starts_with(key),
        Owner::Docker { id, name } | Owner::Podman { id, name } => {
            id.starts_with(key) || name.as_deref() == Some(key)
        }
        Owner::Netns { name } => name == key,
        _ => false,
    });
    match found.and_then(|n| Some((n.owner.label(), n.pid?))) {
        Some((label, pid)) => Ok((label, nsset::of_pid(pid)?)),
        None => bail!("no container, process or engine container {key:?}"),
    }
}
