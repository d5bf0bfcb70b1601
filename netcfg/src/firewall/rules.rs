//! nft command text for den's table `ip den`. Pure rendering: no I/O, unit-testable without root.
//!
//! Everything per network or per container is a set/map ELEMENT, never a rule, so publishing a
//! port is O(1) for every packet and every change is a handful of elements. The rules are static;
//! [`ensure_network`] re-states them (flush chain + add rule, idempotent) in the same transaction
//! as the network's elements.
//!
//! The forward chain sees every forwarded packet, so its common paths are cheap: a packet that
//! leaves by an interface that is not a den bridge is decided by one hash lookup (`@bridges`), and
//! one into a network by a conntrack check; the interval lookups of `ip . ifname` in `@networks`
//! are left to new, unpublished connections (each costs a pipapo walk: with them on every packet,
//! iperf3 through a published port ran at 0.92x docker's). Rules 4-6 need not test that the
//! destination is in the bridge's subnet: for any packet that is not, the chain ends in accept
//! whichever of them matches.

use std::fmt::Write;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::ContainerRules;
use crate::ports::PortMapping;

/// The table, as nft names it.
pub const TABLE: &str = "ip den";
/// Map of `-p HOST_PORT:PORT` (all host addresses): proto . host port -> address . port.
pub const MAP_ALL: &str = "published";
/// Map of `-p HOST_IP:HOST_PORT:PORT`: host address . proto . host port -> address . port.
pub const MAP_ON: &str = "published_on";

/// nft limits comments to 128 bytes.
const COMMENT_MAX: usize = 128;

/// Table, maps, sets and chains (created if missing, existing elements untouched) and the static
/// rules (each chain flushed and re-stated, so running this twice leaves one copy).
const BASE: &str = r#"add table ip den { comment "den: container networking; managed by den, do not edit"; }
add map ip den published { type inet_proto . inet_service : ipv4_addr . inet_service; counter; comment "den: -p HOST_PORT:PORT on all host addresses"; }
add map ip den published_on { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; counter; comment "den: -p HOST_IP:HOST_PORT:PORT"; }
add set ip den networks { type ipv4_addr . ifname; flags interval; comment "den: each network's subnet . bridge"; }
add set ip den masq_nets { type ipv4_addr; flags interval; comment "den: subnets masqueraded when leaving by another interface"; }
add set ip den internal { type ifname; comment "den: bridges of --internal networks"; }
add set ip den bridges { type ifname; comment "den: every network's bridge"; }
add chain ip den prerouting { type nat hook prerouting priority dstnat; policy accept; }
add chain ip den output { type nat hook output priority -100; policy accept; }
add chain ip den postrouting { type nat hook postrouting priority srcnat; policy accept; }
add chain ip den forward { type filter hook forward priority filter; policy accept; }
add chain ip den localnet { type filter hook prerouting priority raw; policy accept; }
flush chain ip den localnet
add rule ip den localnet ip daddr 127.0.0.0/8 iifname != "lo" counter drop comment "den: 127.0.0.0/8 only from lo, not via route_localnet bridges to host 127.0.0.1 services (CVE-2020-8558)"
flush chain ip den prerouting
add rule ip den prerouting ip daddr 127.0.0.0/8 return comment "den: never DNAT loopback destinations arriving from outside (CVE-2020-8558)"
add rule ip den prerouting fib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @published_on comment "den: published ports on one host address"
add rule ip den prerouting fib daddr type local dnat ip to meta l4proto . th dport map @published comment "den: published ports on all host addresses"
flush chain ip den output
add rule ip den output fib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @published_on comment "den: published ports on one host address, from the host"
add rule ip den output fib daddr type local dnat ip to meta l4proto . th dport map @published comment "den: published ports on all host addresses, from the host"
flush chain ip den postrouting
add rule ip den postrouting ct status dnat ip saddr . oifname @networks masquerade comment "den: hairpin, a container reaching a published port on its own bridge"
add rule ip den postrouting ip saddr 127.0.0.0/8 ip daddr . oifname @networks masquerade comment "den: host 127.0.0.1:PORT to a container (route_localnet on the bridge)"
add rule ip den postrouting ip saddr @masq_nets ip saddr . oifname != @networks masquerade comment "den: a network's subnet leaving by another interface"
flush chain ip den forward
add rule ip den forward iifname @internal ip daddr . iifname != @networks drop comment "den: --internal, nothing leaves the network"
add rule ip den forward oifname @internal ip saddr . oifname != @networks drop comment "den: --internal, nothing enters the network"
add rule ip den forward oifname != @bridges accept comment "den: not routed into a network"
add rule ip den forward ct state established,related accept comment "den: replies into a network"
add rule ip den forward ct status dnat accept comment "den: published ports"
add rule ip den forward ip daddr . iifname @networks accept comment "den: within a network"
add rule ip den forward ip daddr . oifname @networks drop comment "den: anything else routed into a network: other networks (isolation) and the outside (moby#45610)"
"#;

/// One element of the published maps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    pub mapping: PortMapping,
    pub container_ip: Ipv4Addr,
    pub comment: String,
}

impl Element {
    /// For `-p` on 0.0.0.0 [`MAP_ALL`], otherwise [`MAP_ON`].
    pub fn map(&self) -> &'static str {
        if self.mapping.host_ip.is_unspecified() {
            MAP_ALL
        } else {
            MAP_ON
        }
    }

    pub fn key(&self) -> String {
        let m = &self.mapping;
        let proto = m.proto.as_str();
        if m.host_ip.is_unspecified() {
            format!("{proto} . {}", m.host_port)
        } else {
            format!("{} . {proto} . {}", m.host_ip, m.host_port)
        }
    }

    pub fn value(&self) -> String {
        format!("{} . {}", self.container_ip, self.mapping.container_port)
    }
}

/// Whether nft and the kernel take `name` as an interface name; den also keeps it to characters
/// that need no quoting.
pub fn valid_ifname(name: &str) -> bool {
    (1..=15).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// A comment nft accepts inside double quotes: printable ASCII without `"` and `\`, at most
/// 128 bytes.
pub fn comment(text: &str) -> String {
    let mut s: String = text
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() || c == ' ') && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    s.truncate(COMMENT_MAX);
    s
}

fn network_comment(network: &str, bridge: &str) -> String {
    comment(&format!("den: network {network} ({bridge})"))
}

/// `den: container NAME (ID12) -p SPEC`, the name shortened to fit nft's comment limit.
pub fn container_comment(name: &str, id: &str, m: &PortMapping) -> String {
    let id12: String = id.chars().take(12).collect();
    let tail = format!(" ({id12}) -p {}", m.to_spec_string());
    let head = "den: container ";
    let room = COMMENT_MAX.saturating_sub(head.len() + tail.len());
    let name: String = name.chars().take(room).collect();
    comment(&format!("{head}{name}{tail}"))
}

/// Base table and rules plus this network's elements, one transaction. `masquerade` false is an
/// `--internal` network: not masqueraded, and its bridge in the `internal` set, so nothing is forwarded
/// between it and any other interface.
///
/// `bridges` names the bridge of every network of the state root (this one's is added anyway): a
/// table made by an older den has rules that do without `@bridges`, so the first re-statement
/// must fill it for the networks whose bridges already exist, or their isolation rules would be
/// skipped.
pub fn ensure_network(
    network: &str,
    bridge: &str,
    subnet: Ipv4Net,
    masquerade: bool,
    bridges: &[&str],
) -> String {
    let subnet = subnet.trunc();
    let c = network_comment(network, bridge);
    let mut s = String::from(BASE);
    let _ = writeln!(
        s,
        r#"add element {TABLE} networks {{ {subnet} . "{bridge}" comment "{c}" }}"#
    );
    let mut names: Vec<&str> = bridges
        .iter()
        .copied()
        .filter(|b| valid_ifname(b))
        .collect();
    names.push(bridge);
    names.sort_unstable();
    names.dedup();
    let names: Vec<String> = names.iter().map(|b| format!(r#""{b}""#)).collect();
    let _ = writeln!(s, "add element {TABLE} bridges {{ {} }}", names.join(", "));
    let (masq, internal) = (subnet.to_string(), format!(r#""{bridge}""#));
    let (wanted, unwanted) = if masquerade {
        (("masq_nets", masq), ("internal", internal))
    } else {
        (("internal", internal), ("masq_nets", masq))
    };
    let _ = writeln!(
        s,
        r#"add element {TABLE} {} {{ {} comment "{c}" }}"#,
        wanted.0, wanted.1
    );
    absent(&mut s, unwanted.0, &unwanted.1);
    s
}

/// Removes the network's elements (add-then-delete, so it is idempotent); rules stay.
pub fn remove_network(bridge: &str, subnet: Ipv4Net) -> String {
    let subnet = subnet.trunc();
    // The one set a table made by an older den may lack (declaring it again is a no-op).
    let mut s = format!("{}\n", bridges_set());
    absent(&mut s, "networks", &format!(r#"{subnet} . "{bridge}""#));
    absent(&mut s, "masq_nets", &subnet.to_string());
    absent(&mut s, "internal", &format!(r#""{bridge}""#));
    absent(&mut s, "bridges", &format!(r#""{bridge}""#));
    s
}

/// BASE's declaration of the `bridges` set.
fn bridges_set() -> &'static str {
    BASE.lines()
        .find(|l| l.starts_with("add set ip den bridges "))
        .expect("BASE declares the bridges set")
}

/// add-then-delete: the element is absent afterwards whether or not it was there.
fn absent(s: &mut String, set: &str, elem: &str) {
    let _ = writeln!(s, "add element {TABLE} {set} {{ {elem} }}");
    let _ = writeln!(s, "delete element {TABLE} {set} {{ {elem} }}");
}

/// The published-map elements of a container.
pub fn container_elements(c: &ContainerRules<'_>) -> Vec<Element> {
    c.ports
        .iter()
        .map(|m| Element {
            mapping: m.clone(),
            container_ip: c.ip,
            comment: container_comment(c.name, c.id, m),
        })
        .collect()
}

/// One `add element` per element.
pub fn add_elements(elems: &[Element]) -> String {
    let mut s = String::new();
    for e in elems {
        let (map, key, value, c) = (e.map(), e.key(), e.value(), comment(&e.comment));
        let _ = writeln!(
            s,
            r#"add element {TABLE} {map} {{ {key} comment "{c}" : {value} }}"#
        );
    }
    s
}

/// One `delete element` per element (by key: nft ignores the value when deleting).
pub fn delete_elements(elems: &[Element]) -> String {
    let mut s = String::new();
    for e in elems {
        let _ = writeln!(s, "delete element {TABLE} {} {{ {} }}", e.map(), e.key());
    }
    s
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
