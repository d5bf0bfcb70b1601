//! The whole nftables ruleset of the calling thread's netns, as `explain` and `trace` need it:
//! every base chain with its hook, priority and policy (den's and every other table's), every
//! rule with its handle, comment and text (as `nft -a list ruleset` prints it), and the elements
//! of den's sets. Read with libnftables: JSON for the structure, text for the rules' wording.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde_json::Value;

use crate::firewall::nft::{Nft, NftError};
use crate::firewall::rules::{Element, TABLE};
use crate::firewall::ListingError;

#[derive(Debug, thiserror::Error)]
pub enum RulesetError {
    #[error("listing the nftables ruleset")]
    Nft(#[source] NftError),
    #[error("reading the nftables ruleset")]
    Json(#[source] serde_json::Error),
    #[error("reading den's published maps")]
    Listing(#[source] ListingError),
}

/// A base or regular chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub family: String,
    pub table: String,
    pub name: String,
    /// `prerouting`, `forward`, ...; `None` for a regular (jump target) chain.
    pub hook: Option<String>,
    /// `nat`, `filter`, `route`.
    pub kind: Option<String>,
    pub prio: i64,
    pub policy: Option<String>,
}

impl Chain {
    /// `table ip den chain forward`.
    pub fn path(&self) -> String {
        format!("table {} {} chain {}", self.family, self.table, self.name)
    }

    pub fn is_den(&self) -> bool {
        format!("{} {}", self.family, self.table) == TABLE
    }
}

/// One rule, as the kernel holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub family: String,
    pub table: String,
    pub chain: String,
    pub handle: u64,
    pub comment: Option<String>,
    /// `nft -a` text of the rule, without the `# handle N` tail.
    pub text: String,
}

/// The ruleset at one moment.
#[derive(Debug, Clone, Default)]
pub struct Ruleset {
    pub chains: Vec<Chain>,
    pub rules: Vec<Rule>,
    /// Elements of den's `published` and `published_on` maps.
    pub published: Vec<Element>,
    /// den's `networks` set: subnet . bridge.
    pub networks: Vec<(Ipv4Net, String)>,
    /// den's `internal` set: bridges of `--internal` networks.
    pub internal: Vec<String>,
    /// den's `bridges` set: every network's bridge.
    pub bridges: Vec<String>,
    /// den's `masq_nets` set: subnets masqueraded when leaving by another interface.
    pub masq_nets: Vec<Ipv4Net>,
}

impl Ruleset {
    /// Reads the ruleset of the calling thread's network namespace.
    pub fn read() -> Result<Ruleset, RulesetError> {
        let mut nft = Nft::new().map_err(RulesetError::Nft)?;
        let json = nft.run_json("list ruleset").map_err(RulesetError::Nft)?;
        let text = nft
            .run_with_handles("list ruleset")
            .map_err(RulesetError::Nft)?;
        Ruleset::parse(&json, &text)
    }

    /// Builds the ruleset from `nft -j list ruleset` and `nft -a list ruleset` output.
    pub fn parse(json: &str, text: &str) -> Result<Ruleset, RulesetError> {
        let doc: Value = serde_json::from_str(json).map_err(RulesetError::Json)?;
        let texts = rule_texts(text);
        let mut rs = Ruleset {
            published: crate::firewall::listing::published_elements(json)
                .map_err(RulesetError::Listing)?,
            ..Ruleset::default()
        };
        let objects = doc.get("nftables").and_then(Value::as_array);
        for o in objects.into_iter().flatten() {
            if let Some(c) = o.get("chain") {
                rs.chains.push(Chain {
                    family: str_of(c, "family"),
                    table: str_of(c, "table"),
                    name: str_of(c, "name"),
                    hook: c.get("hook").and_then(Value::as_str).map(String::from),
                    kind: c.get("type").and_then(Value::as_str).map(String::from),
                    prio: c.get("prio").and_then(Value::as_i64).unwrap_or(0),
                    policy: c.get("policy").and_then(Value::as_str).map(String::from),
                });
            } else if let Some(r) = o.get("rule") {
                let (family, table) = (str_of(r, "family"), str_of(r, "table"));
                let handle = r.get("handle").and_then(Value::as_u64).unwrap_or(0);
                let key = (family.clone(), table.clone(), handle);
                rs.rules.push(Rule {
                    text: texts.get(&key).cloned().unwrap_or_default(),
                    family,
                    table,
                    chain: str_of(r, "chain"),
                    handle,
                    comment: r.get("comment").and_then(Value::as_str).map(String::from),
                });
            } else if let Some(s) = o.get("set") {
                if format!("{} {}", str_of(s, "family"), str_of(s, "table")) != TABLE {
                    continue;
                }
                let elems = s.get("elem").and_then(Value::as_array);
                let vals = elems
                    .into_iter()
                    .flatten()
                    .map(|e| e.get("elem").and_then(|x| x.get("val")).unwrap_or(e));
                match s.get("name").and_then(Value::as_str) {
                    Some("internal") => rs
                        .internal
                        .extend(vals.filter_map(|v| v.as_str().map(String::from))),
                    Some("bridges") => rs
                        .bridges
                        .extend(vals.filter_map(|v| v.as_str().map(String::from))),
                    Some("networks") => rs.networks.extend(vals.filter_map(network_elem)),
                    Some("masq_nets") => rs.masq_nets.extend(vals.filter_map(prefix_elem)),
                    _ => {}
                }
            }
        }
        Ok(rs)
    }

    /// Base chains on `hook` (of families that see IPv4: ip, inet), lowest priority first.
    pub fn chains_on(&self, hook: &str) -> Vec<&Chain> {
        let mut v: Vec<&Chain> = self
            .chains
            .iter()
            .filter(|c| {
                c.hook.as_deref() == Some(hook) && matches!(c.family.as_str(), "ip" | "inet")
            })
            .collect();
        v.sort_by_key(|c| c.prio);
        v
    }

    /// The rules of `chain`, in order.
    pub fn rules_of<'a>(&'a self, chain: &'a Chain) -> impl Iterator<Item = &'a Rule> + 'a {
        self.rules.iter().filter(move |r| {
            r.family == chain.family && r.table == chain.table && r.chain == chain.name
        })
    }

    /// den's rule in `chain` whose comment starts with `comment`.
    pub fn den_rule(&self, chain: &str, comment: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| {
            format!("{} {}", r.family, r.table) == TABLE
                && r.chain == chain
                && r.comment.as_deref().is_some_and(|c| c.starts_with(comment))
        })
    }

    /// The rule with `handle` in table `family table`.
    pub fn rule(&self, family: &str, table: &str, handle: u64) -> Option<&Rule> {
        self.rules
            .iter()
            .find(|r| r.family == family && r.table == table && r.handle == handle)
    }

    /// Whether den's table exists.
    pub fn has_den_table(&self) -> bool {
        self.chains.iter().any(Chain::is_den)
    }

    /// Whether `(ip . ifname)` is in den's `networks` set.
    pub fn in_networks(&self, ip: Ipv4Addr, ifname: &str) -> bool {
        self.networks
            .iter()
            .any(|(net, br)| net.contains(&ip) && br == ifname)
    }

    /// The den network (subnet, bridge) holding `ip`.
    pub fn network_of(&self, ip: Ipv4Addr) -> Option<&(Ipv4Net, String)> {
        self.networks.iter().find(|(net, _)| net.contains(&ip))
    }
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// `{"concat": [{"prefix": {"addr": "172.20.0.0", "len": 16}}, "den0"]}`.
fn network_elem(v: &Value) -> Option<(Ipv4Net, String)> {
    let [net, bridge] = v.get("concat")?.as_array()?.as_slice() else {
        return None;
    };
    Some((prefix_elem(net)?, bridge.as_str()?.to_string()))
}

/// `{"prefix": {"addr": "172.20.0.0", "len": 16}}`, or a plain address (a /32).
fn prefix_elem(v: &Value) -> Option<Ipv4Net> {
    if let Some(ip) = v.as_str() {
        return Some(Ipv4Net::from(ip.parse::<Ipv4Addr>().ok()?));
    }
    let prefix = v.get("prefix")?;
    let addr: Ipv4Addr = prefix.get("addr")?.as_str()?.parse().ok()?;
    let len = u8::try_from(prefix.get("len")?.as_u64()?).ok()?;
    Ipv4Net::new(addr, len).ok()
}

/// (family, table, handle) -> rule text, from `nft -a list ruleset`.
fn rule_texts(text: &str) -> HashMap<(String, String, u64), String> {
    let mut out = HashMap::new();
    let (mut family, mut table, mut in_chain) = (String::new(), String::new(), false);
    for line in text.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("table ") {
            let mut words = rest.split_whitespace();
            family = words.next().unwrap_or_default().to_string();
            table = words.next().unwrap_or_default().to_string();
            in_chain = false;
        } else if t.starts_with("chain ") {
            in_chain = true;
        } else if t.starts_with("map ") || t.starts_with("set ") || t.starts_with("flowtable ") {
            in_chain = false;
        } else if in_chain {
            if let Some((rule, handle)) = t.rsplit_once(" # handle ") {
                if let Ok(h) = handle.trim().parse() {
                    out.insert((family.clone(), table.clone(), h), rule.trim().to_string());
                }
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "ruleset_tests.rs"]
mod tests;
