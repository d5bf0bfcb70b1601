//! `den stats --no-stream`: docker's columns from the container's cgroup.

use std::time::Duration;

use den_tests::{wait_ok, Sandbox};

use super::img;

/// `50.3MiB` -> bytes.
fn mib(usage: &str) -> Option<f64> {
    let v = usage.split(" / ").next()?;
    let n = v.strip_suffix("MiB")?;
    n.parse::<f64>().ok().map(|m| m * 1024.0 * 1024.0)
}

#[test]
fn stats_shows_the_memory_a_container_allocated() {
    let sb = Sandbox::new();
    // 50 MB in the container's /dev/shm is charged to its memory cgroup.
    sb.den(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "fat",
        "--pids-limit",
        "50",
        img(),
        "sh",
        "-c",
        "dd if=/dev/zero of=/dev/shm/x bs=1M count=50 2>/dev/null; sleep 60",
    ])
    .ok();
    let line = wait_ok(Duration::from_secs(20), "50 MB in den stats", || {
        let out = sb
            .den(&["stats", "--no-stream", "--format", "json", "fat"])
            .ok();
        let v: serde_json::Value =
            serde_json::from_str(out.stdout.trim()).map_err(|e| e.to_string())?;
        let usage = v["MemUsage"].as_str().unwrap_or("").to_string();
        // Charged as dd writes: also wait for dd to end (sh then execs sleep).
        match mib(&usage) {
            Some(b) if b >= 50.0 * 1024.0 * 1024.0 && v["PIDs"] == "1" => Ok(v),
            _ => Err(format!("not yet: {usage}, PIDs {}", v["PIDs"])),
        }
    });
    assert_eq!(line["Name"], "fat");
    let table = sb.den(&["stats", "--no-stream"]).ok().stdout;
    let header = table.lines().next().unwrap_or("");
    for col in [
        "CONTAINER ID",
        "NAME",
        "CPU %",
        "MEM USAGE / LIMIT",
        "MEM %",
        "NET I/O",
        "BLOCK I/O",
        "PIDS",
    ] {
        assert!(header.contains(col), "{col} missing in\n{table}");
    }
    assert!(table.lines().any(|l| l.contains("fat")), "{table}");
    sb.den(&["rm", "-f", "fat"]).ok();
}
