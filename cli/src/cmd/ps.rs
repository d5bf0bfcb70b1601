use std::path::Path;

use anyhow::Result;
use den_runtime::lifecycle;
use den_runtime::state::{human_duration, now_secs, Container, Status, Store};
use serde_json::{json, Value};

#[derive(clap::Args)]
pub struct Args {
    /// Show all containers (default: running only).
    #[arg(short = 'a', long)]
    all: bool,
    /// `json` for one JSON object per line.
    #[arg(long)]
    format: Option<String>,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    let _ = super::gc::implicit(root);
    let all: Vec<Container> = Store::new(root)
        .list()?
        .iter()
        .map(lifecycle::observed)
        .collect();
    let shown: Vec<&Container> = all
        .iter()
        .filter(|c| a.all || c.status == Status::Running)
        .collect();
    if a.format.as_deref() == Some("json") {
        for c in shown {
            println!("{}", serde_json::to_string(&summary(c))?);
        }
        return Ok(0);
    }
    let mut rows = vec![[
        "CONTAINER ID",
        "NAME",
        "IMAGE",
        "COMMAND",
        "STATUS",
        "PORTS",
        "IP",
    ]
    .map(String::from)];
    for c in shown {
        // Like docker: the address and ports of a container that does not run are not shown.
        let net = c.network.as_ref().filter(|_| c.status == Status::Running);
        let ports: Vec<String> = net
            .iter()
            .flat_map(|n| &n.ports)
            .map(|p| p.to_string())
            .collect();
        rows.push([
            c.short_id().to_string(),
            c.name.clone(),
            clip(&c.image, 24),
            clip(&format!("\"{}\"", c.command.join(" ")), 24),
            status(c),
            ports.join(", "),
            net.map(|n| n.ip.to_string()).unwrap_or_default(),
        ]);
    }
    print_table(&rows);
    Ok(0)
}

/// Columns as wide as their widest cell, two spaces apart; the last one unpadded.
fn print_table<const N: usize>(rows: &[[String; N]]) {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 < N {
                line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            } else {
                line.push_str(cell);
            }
        }
        println!("{}", line.trim_end());
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
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

/// One line of `den ps --format json`.
pub fn summary(c: &Container) -> Value {
    json!({
        "ID": c.short_id(), "Names": c.name, "Image": c.image,
        "Command": c.command.join(" "), "Status": status(c),
        "State": c.status,
        "IP": c.network.as_ref().map(|n| n.ip.to_string()).unwrap_or_default(),
        "Ports": c.network.as_ref().map(|n| n.ports.iter().map(|p| p.to_string())
            .collect::<Vec<_>>().join(", ")).unwrap_or_default(),
    })
}
