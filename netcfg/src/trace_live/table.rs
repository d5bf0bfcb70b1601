//! The trace rule: one nftables table per `den trace` run, `ip den_trace_<PID>`, whose base chains
//! (at priority -350, before conntrack and raw) set `meta nftrace` on the container's packets.
//! Its comment names the container and the tracing den process (pid and start time), so `den gc`
//! removes the tables of traces whose den is gone ([`sweep`]).

use std::fmt::Write;
use std::net::Ipv4Addr;

use serde_json::Value;

use crate::firewall::nft::{Nft, NftError};
use crate::firewall::rules::comment;
use crate::ports::PortMapping;

/// Tables of `den trace` start with this.
pub const PREFIX: &str = "den_trace_";

/// Which packets to mark.
#[derive(Debug, Clone)]
pub struct Scope<'a> {
    pub container_id: &'a str,
    pub container_name: &'a str,
    pub ip: Ipv4Addr,
    /// The container's published ports (their host side is matched before DNAT).
    pub published: &'a [PortMapping],
    /// Only this port: a container port, or a published host port.
    pub port: Option<u16>,
}

/// `den_trace_<pid>`.
pub fn table_name(pid: u32) -> String {
    format!("{PREFIX}{pid}")
}

/// The comment naming the owner: `den: trace of container NAME (ID12) by den pid P start S`.
fn owner_comment(s: &Scope<'_>, pid: u32, start: u64) -> String {
    let id12: String = s.container_id.chars().take(12).collect();
    comment(&format!(
        "den: trace of container {} ({id12}) by den pid {pid} start {start}",
        s.container_name
    ))
}

/// The nft text that creates the table, one transaction.
pub fn render_add(s: &Scope<'_>, pid: u32, start: u64) -> String {
    let t = table_name(pid);
    let c = owner_comment(s, pid, start);
    let mut out = format!("add table ip {t} {{ comment \"{c}\"; }}\n");
    let (dport, sport) = match s.port {
        Some(p) => (format!(" th dport {p}"), format!(" th sport {p}")),
        None => (String::new(), String::new()),
    };
    let l4 = if s.port.is_some() {
        " meta l4proto { tcp, udp }"
    } else {
        ""
    };
    for (chain, hook) in [("pre", "prerouting"), ("out", "output")] {
        let _ = writeln!(
            out,
            "add chain ip {t} {chain} {{ type filter hook {hook} priority -350; policy accept; }}"
        );
        let _ = writeln!(
            out,
            "add rule ip {t} {chain} ip daddr {}{l4}{dport} meta nftrace set 1",
            s.ip
        );
        let _ = writeln!(
            out,
            "add rule ip {t} {chain} ip saddr {}{l4}{sport} meta nftrace set 1",
            s.ip
        );
        for m in s.published {
            if s.port
                .is_some_and(|p| p != m.host_port && p != m.container_port)
            {
                continue;
            }
            let on = if m.host_ip.is_unspecified() {
                "fib daddr type local".to_string()
            } else {
                format!("ip daddr {}", m.host_ip)
            };
            let _ = writeln!(
                out,
                "add rule ip {t} {chain} {on} meta l4proto {} th dport {} meta nftrace set 1",
                m.proto, m.host_port
            );
        }
    }
    out
}

/// Adds the table (from the calling thread's netns).
pub fn add(s: &Scope<'_>, pid: u32, start: u64) -> Result<(), NftError> {
    Nft::new()?.run(&render_add(s, pid, start)).map(|_| ())
}

/// Deletes table `den_trace_<pid>`; already gone is fine.
pub fn delete(pid: u32) -> Result<(), NftError> {
    match Nft::new()?.run(&format!("delete table ip {}", table_name(pid))) {
        Err(e) if !e.is_not_found() => Err(e),
        _ => Ok(()),
    }
}

/// (table, pid, start) of each trace table in `nft -j list tables` output.
fn owners(json: &str) -> Vec<(String, u32, u64)> {
    let doc: Value = serde_json::from_str(json).unwrap_or(Value::Null);
    let tables = doc
        .get("nftables")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    tables
        .filter_map(|o| o.get("table"))
        .filter_map(|t| {
            let name = t.get("name")?.as_str()?;
            let pid: u32 = name.strip_prefix(PREFIX)?.parse().ok()?;
            let c = t.get("comment").and_then(Value::as_str).unwrap_or_default();
            let start = c
                .rsplit_once(" start ")
                .and_then(|(_, s)| s.parse().ok())
                .unwrap_or(0);
            Some((name.to_string(), pid, start))
        })
        .collect()
}

/// Start time (field 22 of /proc/PID/stat) of a live process.
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(") ")?.1;
    after.split_whitespace().nth(19)?.parse().ok()
}

/// Deletes every trace table whose den process is gone (or is another process now); returns
/// the names removed.
pub fn sweep() -> Result<Vec<String>, NftError> {
    let mut nft = Nft::new()?;
    let json = nft.run_json("list tables")?;
    let mut removed = Vec::new();
    for (table, pid, start) in owners(&json) {
        if start_time(pid).is_some_and(|s| s == start) {
            continue;
        }
        match nft.run(&format!("delete table ip {table}")) {
            Err(e) if !e.is_not_found() => return Err(e),
            _ => removed.push(table),
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::Proto;

    fn scope(port: Option<u16>, published: &[PortMapping]) -> Scope<'_> {
        Scope {
            container_id: "8fce65314b96ea5e",
            container_name: "web",
            ip: "172.20.0.2".parse().unwrap(),
            published,
            port,
        }
    }

    #[test]
    fn marks_the_containers_packets_and_its_published_ports_before_dnat() {
        let p = [PortMapping {
            host_ip: "0.0.0.0".parse().unwrap(),
            host_port: 8080,
            container_port: 80,
            proto: Proto::Tcp,
        }];
        let text = render_add(&scope(None, &p), 42, 777);
        assert!(text.starts_with("add table ip den_trace_42 { comment \"den: trace of container web (8fce65314b96) by den pid 42 start 777\"; }"), "{text}");
        assert!(text.contains("add chain ip den_trace_42 pre { type filter hook prerouting priority -350; policy accept; }"));
        assert!(
            text.contains("add rule ip den_trace_42 pre ip daddr 172.20.0.2 meta nftrace set 1")
        );
        assert!(text.contains("add rule ip den_trace_42 out fib daddr type local meta l4proto tcp th dport 8080 meta nftrace set 1"));
        let only = render_add(&scope(Some(9999), &p), 42, 777);
        assert!(!only.contains("8080"), "{only}");
        assert!(only.contains("ip saddr 172.20.0.2 meta l4proto { tcp, udp } th sport 9999"));
    }

    #[test]
    fn owners_come_from_name_and_comment() {
        let json = r#"{"nftables": [{"table": {"family": "ip", "name": "den", "handle": 1}},
            {"table": {"family": "ip", "name": "den_trace_42", "handle": 2, "comment": "den: trace of container web (abc) by den pid 42 start 777"}}]}"#;
        assert_eq!(owners(json), [("den_trace_42".to_string(), 42, 777)]);
    }

    #[test]
    fn this_process_has_a_start_time() {
        assert!(start_time(std::process::id()).is_some());
    }
}
