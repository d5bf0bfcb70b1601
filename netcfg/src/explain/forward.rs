//! Which of den's own rules decides a packet on a hook. den's rules are static and carry fixed
//! comments (see `firewall::rules`); which one matches depends only on the set elements read from
//! the kernel, so the verdict here is the kernel's, evaluated in the chain's order.

use std::net::Ipv4Addr;

use super::ruleset::{Rule, Ruleset};

/// The packet as a hook sees it.
#[derive(Debug, Clone)]
pub struct Packet<'a> {
    pub saddr: Ipv4Addr,
    pub daddr: Ipv4Addr,
    pub iif: &'a str,
    pub oif: &'a str,
    /// Its connection was DNATed (`ct status dnat`).
    pub dnat: bool,
    /// A reply of a known connection (`ct state established`).
    pub established: bool,
}

/// What den's chain does with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<'r> {
    Accept(&'r Rule),
    Drop(&'r Rule),
    Masquerade(&'r Rule),
    /// No rule of den's matches: the chain's policy (accept) lets it through.
    NoRule,
    /// den's table or this rule is missing: named by its comment.
    Missing(&'static str),
}

/// One rule of den's chain: its comment's start, whether it matches, what it does.
type Check<'r> = (&'static str, bool, fn(&'r Rule) -> Verdict<'r>);

/// den's `forward` chain, rule by rule.
pub fn forward<'r>(rs: &'r Ruleset, p: &Packet<'_>) -> Verdict<'r> {
    let internal = |ifname: &str| rs.internal.iter().any(|b| b == ifname);
    let checks: [Check<'r>; 7] = [
        (
            "den: --internal, nothing leaves the network",
            internal(p.iif) && !rs.in_networks(p.daddr, p.iif),
            Verdict::Drop,
        ),
        (
            "den: --internal, nothing enters the network",
            internal(p.oif) && !rs.in_networks(p.saddr, p.oif),
            Verdict::Drop,
        ),
        (
            "den: not routed into a network",
            !rs.bridges.iter().any(|b| b == p.oif),
            Verdict::Accept,
        ),
        (
            "den: replies into a network",
            p.established,
            Verdict::Accept,
        ),
        ("den: published ports", p.dnat, Verdict::Accept),
        (
            "den: within a network",
            rs.in_networks(p.daddr, p.iif),
            Verdict::Accept,
        ),
        (
            "den: anything else routed into a network",
            rs.in_networks(p.daddr, p.oif),
            Verdict::Drop,
        ),
    ];
    decide(rs, "forward", &checks)
}

/// den's `postrouting` chain (new connections only: replies are un-NATed by conntrack).
pub fn postrouting<'r>(rs: &'r Ruleset, p: &Packet<'_>) -> Verdict<'r> {
    let masq_net = rs.masq_nets.iter().any(|n| n.contains(&p.saddr));
    let checks: [Check<'r>; 3] = [
        (
            "den: hairpin",
            p.dnat && rs.in_networks(p.saddr, p.oif),
            Verdict::Masquerade,
        ),
        (
            "den: host 127.0.0.1:PORT",
            p.saddr.is_loopback() && rs.in_networks(p.daddr, p.oif),
            Verdict::Masquerade,
        ),
        (
            "den: a network's subnet leaving by another interface",
            masq_net && !rs.in_networks(p.saddr, p.oif),
            Verdict::Masquerade,
        ),
    ];
    decide(rs, "postrouting", &checks)
}

fn decide<'r>(rs: &'r Ruleset, chain: &str, checks: &[Check<'r>]) -> Verdict<'r> {
    for (comment, matches, verdict) in checks {
        match rs.den_rule(chain, comment) {
            None => return Verdict::Missing(comment),
            Some(rule) if *matches => return verdict(rule),
            Some(_) => {}
        }
    }
    Verdict::NoRule
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(internal: bool) -> Ruleset {
        let mut rs = Ruleset::parse(
            include_str!("testdata/ruleset.json"),
            include_str!("testdata/ruleset.txt"),
        )
        .unwrap();
        rs.networks
            .push(("172.21.0.0/16".parse().unwrap(), "br-b".into()));
        rs.bridges.push("br-b".into());
        if internal {
            rs.internal.push("den0".into());
        }
        rs
    }

    fn pkt<'a>(s: &str, d: &str, iif: &'a str, oif: &'a str, dnat: bool) -> Packet<'a> {
        Packet {
            saddr: s.parse().unwrap(),
            daddr: d.parse().unwrap(),
            iif,
            oif,
            dnat,
            established: false,
        }
    }

    fn handle(v: Verdict<'_>) -> (String, u64) {
        match v {
            Verdict::Accept(r) => ("accept".into(), r.handle),
            Verdict::Drop(r) => ("drop".into(), r.handle),
            Verdict::Masquerade(r) => ("masquerade".into(), r.handle),
            other => (format!("{other:?}"), 0),
        }
    }

    #[test]
    fn published_port_from_outside_is_accepted_by_the_dnat_rule() {
        let p = pkt("10.250.0.2", "172.20.0.2", "dt-up", "den0", true);
        assert_eq!(handle(forward(&rs(false), &p)), ("accept".into(), 25));
    }

    #[test]
    fn unpublished_traffic_from_outside_and_other_networks_is_dropped() {
        let p = pkt("10.250.0.2", "172.20.0.2", "dt-up", "den0", false);
        assert_eq!(handle(forward(&rs(false), &p)), ("drop".into(), 27));
        let p = pkt("172.21.0.2", "172.20.0.2", "br-b", "den0", false);
        assert_eq!(handle(forward(&rs(false), &p)), ("drop".into(), 27));
    }

    #[test]
    fn internal_network_drops_before_any_accept() {
        let p = pkt("10.250.0.2", "172.20.0.2", "dt-up", "den0", true);
        assert_eq!(handle(forward(&rs(true), &p)), ("drop".into(), 22));
        let p = pkt("172.20.0.2", "10.250.0.2", "den0", "dt-up", false);
        assert_eq!(handle(forward(&rs(true), &p)), ("drop".into(), 21));
    }

    #[test]
    fn leaving_the_network_passes_forward_and_is_masqueraded() {
        let p = pkt("172.20.0.2", "10.250.0.2", "den0", "dt-up", false);
        assert_eq!(handle(forward(&rs(false), &p)), ("accept".into(), 23));
        assert_eq!(
            handle(postrouting(&rs(false), &p)),
            ("masquerade".into(), 20)
        );
        let p = pkt("172.20.0.2", "172.20.0.3", "den0", "den0", false);
        assert_eq!(postrouting(&rs(false), &p), Verdict::NoRule);
    }

    #[test]
    fn a_missing_rule_is_named() {
        let mut rs = rs(false);
        rs.rules.retain(|r| r.handle != 25);
        let p = pkt("10.250.0.2", "172.20.0.2", "dt-up", "den0", true);
        assert_eq!(forward(&rs, &p), Verdict::Missing("den: published ports"));
    }
}
