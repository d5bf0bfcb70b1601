//! nftables as the kernel holds it, read through libnftables in the calling thread's namespace:
//! den's table (rules and set/map elements with their comments and counters) and, for any
//! address, the rules of every table that mention it (docker's iptables-nft rules included).
//!
//! Each rule's text is nft's own (`list ... ` with handles, matched to the JSON listing by
//! handle); counters and structure come from the JSON listing.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::Serialize;
use serde_json::Value;

use super::model::{DenNetwork, Published};
use crate::firewall::rules::{MAP_ALL, MAP_ON, TABLE};
use crate::firewall::{Nft, NftError};

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("list nftables: {0}")]
    Nft(#[source] NftError),
    #[error("nftables' JSON listing: {0}")]
    Json(#[source] serde_json::Error),
}

/// One rule.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    pub family: String,
    pub table: String,
    pub chain: String,
    pub handle: u64,
    /// nft's text of the rule, without its `# handle`.
    pub text: String,
    pub comment: Option<String>,
    /// From the rule's `counter` statement, if it has one.
    pub packets: Option<u64>,
    pub bytes: Option<u64>,
}

/// One element of a set or map.
#[derive(Debug, Clone, Serialize)]
pub struct Element {
    pub set: String,
    /// `tcp . 8080`, `172.17.0.0/16 . den0`.
    pub key: String,
    /// A map element's value: `172.17.0.2 . 80`.
    pub value: Option<String>,
    pub comment: Option<String>,
    pub packets: Option<u64>,
    pub bytes: Option<u64>,
}

/// den's table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DenTable {
    pub rules: Vec<Rule>,
    pub elements: Vec<Element>,
}

/// den's table (`ip den`) in the calling thread's namespace; empty if there is none.
pub fn den_table() -> Result<DenTable, RulesError> {
    den_listing(true)
}

/// den's set and map elements only (one listing fewer than [`den_table`]).
pub fn den_elements() -> Result<DenTable, RulesError> {
    den_listing(false)
}

fn den_listing(with_rules: bool) -> Result<DenTable, RulesError> {
    let Some(doc) = listing(&format!("list table {TABLE}"), with_rules)? else {
        return Ok(DenTable::default());
    };
    Ok(DenTable {
        rules: doc.rules.clone(),
        elements: elements(&doc.json),
    })
}

impl DenTable {
    /// The published-port elements with their counters.
    pub fn published(&self) -> Vec<Published> {
        self.elements.iter().filter_map(published_of).collect()
    }

    /// den's networks, from the `networks` set (`SUBNET . BRIDGE`, comment `den: network NAME
    /// (BRIDGE)`).
    pub fn networks(&self) -> Vec<DenNetwork> {
        self.elements
            .iter()
            .filter(|e| e.set == "networks")
            .filter_map(|e| {
                let (subnet, bridge) = e.key.split_once(" . ")?;
                let name = e.comment.as_deref()?.strip_prefix("den: network ")?;
                let name = name.strip_suffix(&format!(" ({bridge})"))?;
                Some(DenNetwork {
                    network: name.to_string(),
                    bridge: bridge.to_string(),
                    subnet: subnet.to_string(),
                })
            })
            .collect()
    }
}

/// Every rule of every table whose expressions mention `ip` (the address itself, or a prefix or
/// range holding it).
pub fn mentioning(ip: Ipv4Addr) -> Result<Vec<Rule>, RulesError> {
    let Some(doc) = listing("list ruleset", true)? else {
        return Ok(Vec::new());
    };
    let items = doc.json.get("nftables").and_then(Value::as_array);
    let hits: Vec<(String, String, u64)> = items
        .into_iter()
        .flatten()
        .filter_map(|o| o.get("rule"))
        .filter(|r| r.get("expr").is_some_and(|e| mentions(e, ip)))
        .filter_map(|r| Some((s(r, "family")?, s(r, "table")?, r.get("handle")?.as_u64()?)))
        .collect();
    Ok(doc
        .rules
        .into_iter()
        .filter(|r| hits.contains(&(r.family.clone(), r.table.clone(), r.handle)))
        .collect())
}

struct Listing {
    json: Value,
    rules: Vec<Rule>,
}

/// The JSON and (`with_rules`) the text-with-handles listing of `command`; `None` if the table
/// does not exist.
fn listing(command: &str, with_rules: bool) -> Result<Option<Listing>, RulesError> {
    let mut nft = Nft::new().map_err(RulesError::Nft)?;
    let json = match nft.run_json(command) {
        Ok(j) => j,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(RulesError::Nft(e)),
    };
    let json: Value = serde_json::from_str(&json).map_err(RulesError::Json)?;
    if !with_rules {
        return Ok(Some(Listing {
            json,
            rules: Vec::new(),
        }));
    }
    let text = nft.run_with_handles(command).map_err(RulesError::Nft)?;
    let texts = rule_texts(&text);
    let rules = json
        .get("nftables")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|o| o.get("rule"))
        .filter_map(|r| rule(r, &texts))
        .collect();
    Ok(Some(Listing { json, rules }))
}

fn s(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(String::from)
}

fn rule(r: &Value, texts: &HashMap<(String, String, u64), String>) -> Option<Rule> {
    let (family, table, handle) = (s(r, "family")?, s(r, "table")?, r.get("handle")?.as_u64()?);
    let counter = r
        .get("expr")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find_map(|e| e.get("counter"));
    let text = texts
        .get(&(family.clone(), table.clone(), handle))
        .cloned()
        .unwrap_or_default();
    Some(Rule {
        chain: s(r, "chain")?,
        comment: s(r, "comment"),
        packets: counter.and_then(|c| c.get("packets")?.as_u64()),
        bytes: counter.and_then(|c| c.get("bytes")?.as_u64()),
        family,
        table,
        handle,
        text,
    })
}

/// (family, table, handle) -> rule text, from nft's text listing with `# handle N` comments.
fn rule_texts(text: &str) -> HashMap<(String, String, u64), String> {
    let mut out = HashMap::new();
    let mut table: Option<(String, String)> = None;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("table ") {
            let mut words = rest.split_whitespace();
            table = words
                .next()
                .zip(words.next())
                .map(|(f, t)| (f.into(), t.into()));
            continue;
        }
        let header = [
            "chain ",
            "set ",
            "map ",
            "flowtable ",
            "counter ",
            "quota ",
            "ct ",
        ];
        if header.iter().any(|h| line.starts_with(h)) && line.contains('{') {
            continue;
        }
        let (Some((family, name)), Some((rule, handle))) = (&table, line.rsplit_once(" # handle "))
        else {
            continue;
        };
        if let Ok(h) = handle.trim().parse() {
            out.insert((family.clone(), name.clone(), h), rule.trim().to_string());
        }
    }
    out
}

/// Every element of every set and map in a listing.
fn elements(doc: &Value) -> Vec<Element> {
    let mut out = Vec::new();
    let items = doc.get("nftables").and_then(Value::as_array);
    for o in items.into_iter().flatten() {
        let Some(set) = o.get("map").or_else(|| o.get("set")) else {
            continue;
        };
        let name = s(set, "name").unwrap_or_default();
        for e in set
            .get("elem")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (key, value) = match e.as_array().map(Vec::as_slice) {
                Some([k, v]) if o.get("map").is_some() => (k, Some(v)),
                _ => (e, None),
            };
            let (val, meta) = match key.get("elem") {
                Some(m) => (m.get("val").unwrap_or(key), Some(m)),
                None => (key, None),
            };
            let counter = meta.and_then(|m| m.get("counter"));
            out.push(Element {
                set: name.clone(),
                key: expr_text(val),
                value: value.map(expr_text),
                comment: meta.and_then(|m| s(m, "comment")),
                packets: counter.and_then(|c| c.get("packets")?.as_u64()),
                bytes: counter.and_then(|c| c.get("bytes")?.as_u64()),
            });
        }
    }
    out
}

/// An element key or value as nft writes it.
fn expr_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items.iter().map(expr_text).collect::<Vec<_>>().join(", "),
        Value::Object(o) => {
            if let Some(parts) = o.get("concat").and_then(Value::as_array) {
                parts.iter().map(expr_text).collect::<Vec<_>>().join(" . ")
            } else if let Some(p) = o.get("prefix") {
                format!("{}/{}", expr_text(&p["addr"]), expr_text(&p["len"]))
            } else if let Some([a, b]) = o.get("range").and_then(Value::as_array).map(Vec::as_slice)
            {
                format!("{}-{}", expr_text(a), expr_text(b))
            } else {
                v.to_string()
            }
        }
        other => other.to_string(),
    }
}

fn published_of(e: &Element) -> Option<Published> {
    let key: Vec<&str> = e.key.split(" . ").collect();
    let (host_ip, proto, port) = match (e.set.as_str(), key.as_slice()) {
        (MAP_ALL, [proto, port]) => ("0.0.0.0", *proto, *port),
        (MAP_ON, [ip, proto, port]) => (*ip, *proto, *port),
        _ => return None,
    };
    let (cip, cport) = e.value.as_deref()?.split_once(" . ")?;
    Some(Published {
        proto: proto.to_string(),
        host_ip: host_ip.to_string(),
        host_port: port.parse().ok()?,
        container_ip: cip.to_string(),
        container_port: cport.parse().ok()?,
        comment: e.comment.clone().unwrap_or_default(),
        packets: e.packets,
        bytes: e.bytes,
    })
}

/// Does an expression tree mention `ip`?
fn mentions(v: &Value, ip: Ipv4Addr) -> bool {
    match v {
        Value::String(s) => {
            s.parse::<Ipv4Addr>().is_ok_and(|a| a == ip)
                || s.parse::<Ipv4Net>().is_ok_and(|n| n.contains(&ip))
        }
        Value::Array(items) => items.iter().any(|i| mentions(i, ip)),
        Value::Object(o) => {
            if let Some(p) = o.get("prefix") {
                let net = p["addr"].as_str().and_then(|a| a.parse::<Ipv4Addr>().ok());
                let len = p["len"].as_u64().and_then(|l| u8::try_from(l).ok());
                if let Some(n) = net.zip(len).and_then(|(a, l)| Ipv4Net::new(a, l).ok()) {
                    return n.contains(&ip);
                }
            }
            if let Some([a, b]) = o.get("range").and_then(Value::as_array).map(Vec::as_slice) {
                let (a, b) = (a.as_str(), b.as_str());
                let parse = |x: Option<&str>| x.and_then(|x| x.parse::<Ipv4Addr>().ok());
                if let (Some(a), Some(b)) = (parse(a), parse(b)) {
                    return a <= ip && ip <= b;
                }
            }
            o.values().any(|x| mentions(x, ip))
        }
        _ => false,
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
