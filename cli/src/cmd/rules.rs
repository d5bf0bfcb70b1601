//! `den rules [NAME]`: den's nftables rules and map elements, each with the container and `-p`
//! that made it and its packet/byte counters; for another engine's container, the rules of any
//! table that mention its address.

use std::net::Ipv4Addr;
use std::path::Path;

use anyhow::{bail, Result};
use den_netcfg::view::rules::{self, DenTable, Element, Rule};
use den_runtime::lifecycle;
use den_runtime::state::Store;
use serde_json::json;

#[derive(clap::Args)]
pub struct Args {
    /// Only what concerns this container: den's (name or id) or another engine's (id prefix).
    name: Option<String>,
    /// `json` for one JSON object.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    format: String,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    let table = rules::den_table()?;
    let Some(key) = a.name.as_deref() else {
        return print(&a.format, &table.rules, &table.elements, None);
    };
    if let Ok(c) = lifecycle::find(&Store::new(root), key) {
        let (rules, elements) = of_den(&table, &c.id);
        return print(&a.format, &rules, &elements, Some(&c.name));
    }
    // Another engine's container: what mentions its addresses.
    let snap = super::topology::snapshot(root, true)?;
    let Some(ns) = snap
        .namespaces
        .iter()
        .skip(1)
        .find(|n| n.owner.label().ends_with(key) || n.owner.to_string().contains(key))
    else {
        bail!("no such container: {key}");
    };
    let mut found: Vec<Rule> = Vec::new();
    for addr in super::topology::v4_addresses(ns) {
        let ip: Ipv4Addr = addr.split('/').next().unwrap_or_default().parse()?;
        for r in rules::mentioning(ip)? {
            if !found
                .iter()
                .any(|f| (&f.family, &f.table, f.handle) == (&r.family, &r.table, r.handle))
            {
                found.push(r);
            }
        }
    }
    print(&a.format, &found, &[], Some(&ns.owner.to_string()))
}

/// The elements a den container's id made, and the rules that use their sets and maps.
fn of_den(table: &DenTable, id: &str) -> (Vec<Rule>, Vec<Element>) {
    let id12: String = id.chars().take(12).collect();
    let elements: Vec<Element> = table
        .elements
        .iter()
        .filter(|e| e.comment.as_deref().and_then(den_netcfg::element_owner) == Some(id12.as_str()))
        .cloned()
        .collect();
    let rules = table
        .rules
        .iter()
        .filter(|r| {
            elements.iter().any(|e| {
                r.text.contains(&format!("@{} ", e.set)) || r.text.ends_with(&format!("@{}", e.set))
            })
        })
        .cloned()
        .collect();
    (rules, elements)
}

fn print(format: &str, rules: &[Rule], elements: &[Element], of: Option<&str>) -> Result<i32> {
    if format == "json" {
        let v = json!({"container": of, "rules": rules, "elements": elements});
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    if rules.is_empty() && elements.is_empty() {
        println!(
            "no rules{}",
            of.map(|o| format!(" for {o}")).unwrap_or_default()
        );
        return Ok(0);
    }
    let mut table = String::new();
    for r in rules {
        let head = format!("{} {} {}", r.family, r.table, r.chain);
        if head != table {
            println!("{head}");
            table = head;
        }
        println!("  {:>12}  {}", counters(r.packets, r.bytes), r.text);
    }
    let mut set = String::new();
    for e in elements {
        if e.set != set {
            println!("set/map {}", e.set);
            set.clone_from(&e.set);
        }
        let value = e
            .value
            .as_deref()
            .map(|v| format!(" : {v}"))
            .unwrap_or_default();
        let owner = e.comment.as_deref().map(made_by).unwrap_or_default();
        println!(
            "  {:>12}  {}{value}  {owner}",
            counters(e.packets, e.bytes),
            e.key
        );
    }
    Ok(0)
}

fn counters(packets: Option<u64>, bytes: Option<u64>) -> String {
    match (packets, bytes) {
        (Some(p), Some(b)) => format!("{p}p/{b}B"),
        _ => "-".into(),
    }
}

/// `den: container web (0123456789ab) -p 8080:80/tcp` -> `web (0123456789ab) -p 8080:80/tcp`.
fn made_by(comment: &str) -> String {
    comment
        .strip_prefix("den: container ")
        .or_else(|| comment.strip_prefix("den: "))
        .unwrap_or(comment)
        .to_string()
}
