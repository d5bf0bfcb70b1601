use std::path::Path;

use anyhow::Result;
use den_runtime::state::{human_duration, now_secs, Container, Status, Store};

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
    super::gc::implicit(root);
    let all = Store::new(root).list()?;
    let shown: Vec<&Container> = all
        .iter()
        .filter(|c| a.all || c.status == Status::Running)
        .collect();
    if a.format.as_deref() == Some("json") {
        for c in shown {
            println!("{}", serde_json::to_string(&super::inspect::summary(c))?);
        }
        return Ok(0);
    }
    println!(
        "{:<12}  {:<20}  {:<20}  {:<20}  {:<24}  {:<15}  PORTS",
        "CONTAINER ID", "NAME", "IMAGE", "COMMAND", "STATUS", "IP"
    );
    for c in shown {
        let ip = c
            .network
            .as_ref()
            .map(|n| n.ip.to_string())
            .unwrap_or_default();
        let ports = c
            .network
            .as_ref()
            .map(|n| {
                n.ports
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        println!(
            "{:<12}  {:<20}  {:<20}  {:<20}  {:<24}  {:<15}  {}",
            c.short_id(),
            clip(&c.name, 20),
            clip(&c.image, 20),
            clip(&format!("\"{}\"", c.command.join(" ")), 20),
            status(c),
            ip,
            ports
        );
    }
    Ok(0)
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// docker's STATUS column: `Up 3 seconds`, `Exited (0) 5 minutes ago`, `Created`.
pub fn status(c: &Container) -> String {
    let now = now_secs();
    match c.status {
        Status::Created => "Created".into(),
        Status::Running => format!("Up {}", human_duration(now - c.started_at.unwrap_or(now))),
        Status::Exited => format!(
            "Exited ({}) {} ago",
            c.exit_code.unwrap_or(0),
            human_duration(now - c.finished_at.unwrap_or(now))
        ),
    }
}
