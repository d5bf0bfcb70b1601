//! Trace events as lines: a header per packet (numbered by the kernel's trace id), then one line
//! per rule or policy it met, with the hook, the table and chain, the rule's handle and text as
//! `nft -a` prints it, and the verdict.

use std::collections::HashMap;

use super::events::Event;
use super::TraceError;
use crate::explain::Ruleset;

/// Whether an event was printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Yes,
    /// One of the trace table's own events.
    Skipped,
    /// The first event of a packet beyond the bound: stop.
    Overflow,
}

pub struct Tracer<'r> {
    rs: &'r mut Ruleset,
    /// The trace table's name: its own events are not shown.
    own: String,
    /// Packet number by the kernel's trace id (the latest packet seen with it).
    ids: HashMap<u32, usize>,
    /// Packet number by [`Event::identity`].
    seen: HashMap<Vec<u8>, usize>,
    /// The packet as last printed, per packet number, to show what NAT changed.
    last: HashMap<usize, String>,
    reread: bool,
    pub events: usize,
    pub max: usize,
}

impl<'r> Tracer<'r> {
    pub fn new(rs: &'r mut Ruleset, own: String, max: usize) -> Tracer<'r> {
        Tracer {
            rs,
            own,
            ids: HashMap::new(),
            seen: HashMap::new(),
            last: HashMap::new(),
            reread: false,
            events: 0,
            max,
        }
    }

    pub fn packets(&self) -> usize {
        self.seen
            .len()
            .max(self.ids.values().max().copied().unwrap_or(0))
    }

    pub fn show(&mut self, e: &Event, say: &mut dyn FnMut(&str)) -> Result<Shown, TraceError> {
        let family = family(e.family);
        let known = match e.identity() {
            Some(key) => self.seen.get(&key).copied(),
            None => self.ids.get(&e.id).copied(),
        };
        let n = match known {
            Some(n) => n,
            None if self.packets() >= self.max => return Ok(Shown::Overflow),
            None => {
                let n = self.packets() + 1;
                if let Some(key) = e.identity() {
                    self.seen.insert(key, n);
                }
                let ifs = [("in", e.iif), ("out", e.oif)]
                    .iter()
                    .filter_map(|(w, i)| i.map(|i| format!(" {w} {}", ifname(i))))
                    .collect::<String>();
                let what = e.packet().unwrap_or_else(|| format!("{family} packet"));
                say(&format!("\npacket {n}: {what}{ifs}"));
                self.last.insert(n, what);
                n
            }
        };
        self.ids.insert(e.id, n);
        if e.table == self.own {
            return Ok(Shown::Skipped);
        }
        self.events += 1;
        if let Some(now) = e.packet() {
            if self.last.get(&n) != Some(&now) {
                say(&format!("  [{n}] now {now}"));
                self.last.insert(n, now);
            }
        }
        let hook = self.hook(family, &e.table, &e.chain);
        let place = format!("table {family} {} chain {}", e.table, e.chain);
        let line = match (e.kind, e.handle) {
            (3, Some(h)) => {
                let text = self.rule_text(family, &e.table, h)?;
                format!("rule handle {h}: {text} -> {}", e.verdict_text())
            }
            (1, _) => format!("policy {}", e.verdict_text()),
            (_, None) if e.verdict == Some(-1) => "no rule matched, end of chain".to_string(),
            (2, _) => format!("return ({})", e.verdict_text()),
            _ => e.verdict_text(),
        };
        say(&format!("  [{n}] {hook:<11} {place}: {line}"));
        Ok(Shown::Yes)
    }

    fn hook(&self, family: &str, table: &str, chain: &str) -> String {
        self.rs
            .chains
            .iter()
            .find(|c| c.family == family && c.table == table && c.name == chain)
            .and_then(|c| c.hook.clone())
            .unwrap_or_else(|| "(jump)".into())
    }

    /// The rule's text, re-reading the ruleset once if the rule is newer than our copy.
    fn rule_text(&mut self, family: &str, table: &str, handle: u64) -> Result<String, TraceError> {
        if self.rs.rule(family, table, handle).is_none() && !self.reread {
            *self.rs = Ruleset::read()?;
            self.reread = true;
        }
        Ok(self
            .rs
            .rule(family, table, handle)
            .map_or_else(|| "(a rule removed since)".into(), |r| r.text.clone()))
    }
}

/// nfproto numbers as nft names them.
fn family(f: u8) -> &'static str {
    match f {
        1 => "inet",
        2 => "ip",
        3 => "arp",
        5 => "netdev",
        7 => "bridge",
        10 => "ip6",
        _ => "unknown",
    }
}

fn ifname(index: u32) -> String {
    nix::net::if_::if_indextoname(index)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|_| format!("if{index}"))
}
