//! `den stats [--no-stream] [--format TEMPLATE|json] [NAME...]`: docker's columns from each running
//! container's cgroup and interfaces. CPU % is over the sampling interval (docker's: CPU time
//! delta over wall time, 100% per CPU).

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use den_runtime::cgroups::stats::{sample, Sample};
use den_runtime::cgroups::Planned;
use den_runtime::lifecycle;
use den_runtime::state::{Container, Status, Store};
use serde_json::json;

use crate::format::Format;

#[derive(clap::Args)]
pub struct Args {
    /// Print one sample and exit.
    #[arg(long)]
    no_stream: bool,
    /// `table TEMPLATE`, a Go template over .ID .Name .CPUPerc .MemUsage .MemPerc .NetIO
    /// .BlockIO .PIDs, or `json` (one object per container and line).
    #[arg(long)]
    format: Option<String>,
    /// Containers (default: every running one).
    containers: Vec<String>,
}

/// How far apart the two samples of `--no-stream` are (docker waits for its daemon's 1 s tick).
const NO_STREAM_INTERVAL: Duration = Duration::from_millis(50);
const STREAM_INTERVAL: Duration = Duration::from_secs(1);

struct Target {
    c: Container,
    cgroup: Planned,
    pid: i32,
}

fn targets(root: &Path, names: &[String]) -> Result<Vec<Target>> {
    let store = Store::new(root);
    let all: Vec<Container> = if names.is_empty() {
        store.list()?.iter().map(lifecycle::observed).collect()
    } else {
        names
            .iter()
            .map(|n| lifecycle::find(&store, n))
            .collect::<Result<_, _>>()?
    };
    Ok(all
        .into_iter()
        .filter(|c| c.status == Status::Running)
        .filter_map(|c| {
            let cgroup = Planned::load(&store.dir(&c.id))?;
            let pid = c.pid?;
            Some(Target { c, cgroup, pid })
        })
        .collect())
}

/// docker's binary units for memory (`1.5MiB`), decimal ones for I/O (`1.2kB`).
fn size(v: u64, binary: bool) -> String {
    let (base, units): (f64, [&str; 5]) = if binary {
        (1024.0, ["B", "KiB", "MiB", "GiB", "TiB"])
    } else {
        (1000.0, ["B", "kB", "MB", "GB", "TB"])
    };
    let mut x = v as f64;
    let mut i = 0;
    while x >= base && i < units.len() - 1 {
        x /= base;
        i += 1;
    }
    // Go's %.4g: four significant digits, trailing zeros dropped.
    let whole = if x < 1.0 {
        1
    } else {
        x.log10().floor() as usize + 1
    };
    let decimals = 4usize.saturating_sub(whole);
    let text = format!("{x:.decimals$}");
    let text = match text.contains('.') {
        true => text.trim_end_matches('0').trim_end_matches('.').to_string(),
        false => text,
    };
    format!("{text}{}", units[i])
}

struct Row {
    id: String,
    name: String,
    cpu: String,
    mem: String,
    mem_perc: String,
    net: String,
    block: String,
    pids: String,
}

fn row(t: &Target, prev: Option<&Sample>, now: &Sample, wall: Duration) -> Row {
    let cpu = prev.map_or(0.0, |p| {
        now.cpu_ns.saturating_sub(p.cpu_ns) as f64 / wall.as_nanos().max(1) as f64 * 100.0
    });
    let mem_perc = match now.mem_limit {
        0 => 0.0,
        l => now.mem_usage as f64 / l as f64 * 100.0,
    };
    Row {
        id: t.c.short_id().to_string(),
        name: t.c.name.clone(),
        cpu: format!("{cpu:.2}%"),
        mem: format!(
            "{} / {}",
            size(now.mem_usage, true),
            size(now.mem_limit, true)
        ),
        mem_perc: format!("{mem_perc:.2}%"),
        net: format!("{} / {}", size(now.net_rx, false), size(now.net_tx, false)),
        block: format!(
            "{} / {}",
            size(now.blk_read, false),
            size(now.blk_write, false)
        ),
        pids: now.pids.to_string(),
    }
}

const HEADER: &str = r#"{"ID": "CONTAINER ID", "Container": "CONTAINER", "Name": "NAME",
  "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
  "BlockIO": "BLOCK I/O", "PIDs": "PIDS"}"#;
const TABLE: &str = "{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

fn print(rows: &[Row], format: &Format) -> Result<()> {
    let values: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            json!({"BlockIO": r.block, "CPUPerc": r.cpu, "Container": r.id, "ID": r.id,
                "MemPerc": r.mem_perc, "MemUsage": r.mem, "Name": r.name, "NetIO": r.net,
                "PIDs": r.pids})
        })
        .collect();
    let header: serde_json::Value = serde_json::from_str(HEADER).expect("header is JSON");
    print!("{}", crate::format::list(format, &header, &values)?);
    Ok(())
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    let format = Format::parse(a.format.as_deref(), TABLE);
    // A table is redrawn in place; templates and json lines follow one another.
    let redraw = matches!(format, Format::Table(_));
    let mut prev: HashMap<String, Sample> = HashMap::new();
    let mut at = Instant::now();
    let mut first = true;
    loop {
        let list = targets(root, &a.containers)?;
        if first {
            // CPU % needs two samples.
            prev = list
                .iter()
                .map(|t| (t.c.id.clone(), sample(&t.cgroup, t.pid)))
                .collect();
            at = Instant::now();
            std::thread::sleep(NO_STREAM_INTERVAL);
            first = false;
        }
        let wall = at.elapsed();
        let now: Vec<(&Target, Sample)> =
            list.iter().map(|t| (t, sample(&t.cgroup, t.pid))).collect();
        at = Instant::now();
        let rows: Vec<Row> = now
            .iter()
            .map(|(t, s)| row(t, prev.get(&t.c.id), s, wall))
            .collect();
        if !a.no_stream && redraw {
            print!("\x1b[2J\x1b[H");
        }
        print(&rows, &format)?;
        if a.no_stream {
            return Ok(0);
        }
        prev = now.into_iter().map(|(t, s)| (t.c.id.clone(), s)).collect();
        std::thread::sleep(STREAM_INTERVAL);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_in_dockers_units() {
        assert_eq!(super::size(0, true), "0B");
        assert_eq!(super::size(50 * 1024 * 1024, true), "50MiB");
        assert_eq!(super::size(1536, true), "1.5KiB");
        assert_eq!(super::size(1234, false), "1.234kB");
    }
}
