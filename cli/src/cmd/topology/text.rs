//! The text tree: the host's links (bridges with their ports), each veth's far end with that
//! namespace's interfaces, default route and published ports, then the namespaces not linked.

use std::collections::BTreeSet;
use std::fmt::Write;

use den_netcfg::view::{Link, Namespace, Snapshot};

use super::{peer_ns, peer_text, port_text, ports_into};

pub fn render(snap: &Snapshot) -> String {
    let mut out = String::new();
    let mut shown = BTreeSet::from([snap.host]);
    let host = &snap.namespaces[0];
    let _ = writeln!(out, "host  net:[{}]  (den runs here)", host.inode);
    for o in &host.shared_with {
        let _ = writeln!(out, "│   also here: {o} (--network host)");
    }
    let routes: Vec<String> = host.routes.iter().map(route_text).collect();
    if !routes.is_empty() {
        let _ = writeln!(out, "│   routes: {}", routes.join(" · "));
    }
    let top: Vec<&Link> = host.links.iter().filter(|l| l.master.is_none()).collect();
    for (i, link) in top.iter().enumerate() {
        let last = i + 1 == top.len();
        let (branch, cont) = if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        let _ = writeln!(out, "{branch}{}", link_line(snap, link));
        let ports: Vec<&Link> = host
            .links
            .iter()
            .filter(|p| p.master.as_deref() == Some(link.name.as_str()))
            .collect();
        if ports.is_empty() {
            far_end(&mut out, snap, link, &format!("{cont}    "), &mut shown);
        }
        for (j, port) in ports.iter().enumerate() {
            let last = j + 1 == ports.len();
            let (b, c) = if last {
                ("└── ", "    ")
            } else {
                ("├── ", "│   ")
            };
            let _ = writeln!(out, "{cont}{b}{}", link_line(snap, port));
            far_end(&mut out, snap, port, &format!("{cont}{c}    "), &mut shown);
        }
    }
    let rest: Vec<&Namespace> = snap
        .namespaces
        .iter()
        .filter(|n| !shown.contains(&n.inode))
        .collect();
    if !rest.is_empty() {
        let _ = writeln!(out, "not linked to the host:");
    }
    for ns in rest {
        let _ = writeln!(out, "  {}  net:[{}]", ns.owner, ns.inode);
        details(&mut out, snap, ns, "      ");
    }
    if snap.hidden > 0 {
        let _ = writeln!(
            out,
            "({} more namespaces linked elsewhere; --all shows them)",
            snap.hidden
        );
    }
    out
}

/// `den0  bridge  172.17.0.1/16  UP` or `veth..  forwarding hairpin  ↔ eth0@if7 in web`.
fn link_line(snap: &Snapshot, l: &Link) -> String {
    let mut s = l.name.clone();
    if let Some(k) = l.kind.as_ref().filter(|_| l.bridge_port.is_none()) {
        let _ = write!(s, "  {k}");
    }
    for a in l.addresses.iter().filter(|a| !a.starts_with("fe80:")) {
        let _ = write!(s, "  {a}");
    }
    if !l.up {
        s.push_str("  DOWN");
    }
    if let Some(n) = snap.den_network(&l.name) {
        let _ = write!(s, "  (den network {})", n.network);
    }
    if let Some(p) = &l.bridge_port {
        if p.state != "forwarding" {
            let _ = write!(s, "  {}", p.state);
        }
        if p.hairpin {
            s.push_str("  hairpin");
        }
    }
    if let Some(p) = peer_text(snap, l) {
        let _ = write!(s, "  ↔ {p}");
    }
    if let Some(ns) = peer_ns(snap, l) {
        let _ = write!(s, "  net:[{}]", ns.inode);
    }
    let learned: Vec<&str> = l
        .fdb
        .iter()
        .filter(|e| !e.permanent)
        .map(|e| e.mac.as_str())
        .collect();
    if !learned.is_empty() {
        let _ = write!(s, "  learned {}", learned.join(" "));
    }
    s
}

/// The namespace at the other end of `l`, once.
fn far_end(out: &mut String, snap: &Snapshot, l: &Link, indent: &str, shown: &mut BTreeSet<u64>) {
    let Some(ns) = peer_ns(snap, l) else { return };
    if !shown.insert(ns.inode) {
        let _ = writeln!(out, "{indent}(shown above)");
        return;
    }
    details(out, snap, ns, indent);
}

/// A namespace on one line: interfaces (addresses, MAC), default route, first process, inode,
/// published ports, who else lives there.
fn details(out: &mut String, snap: &Snapshot, ns: &Namespace, indent: &str) {
    let mut parts: Vec<String> = Vec::new();
    let links: Vec<&Link> = ns.links.iter().filter(|l| l.name != "lo").collect();
    if links.is_empty() {
        parts.push("lo only".into());
    }
    for l in links {
        let mut s = l.name.clone();
        for a in l.addresses.iter().filter(|a| !a.starts_with("fe80:")) {
            let _ = write!(s, " {a}");
        }
        let _ = write!(s, " {}", l.mac.as_deref().unwrap_or("-"));
        if !l.up {
            s.push_str(" DOWN");
        }
        parts.push(s);
    }
    if let Some(g) = ns.routes.iter().find(|r| r.dst == "default") {
        parts.push(format!("gw {}", g.gateway.as_deref().unwrap_or("-")));
    }
    if let (Some(pid), Some(comm)) = (ns.pid, ns.comm.as_ref().filter(|c| !c.is_empty())) {
        let more = match ns.processes {
            0 | 1 => String::new(),
            n => format!(" +{}", n - 1),
        };
        parts.push(format!("pid {pid} ({comm}){more}"));
    }
    for n in &ns.netns_names {
        parts.push(format!("/run/netns/{n}"));
    }
    for p in ports_into(snap, ns) {
        let count = p
            .packets
            .map(|n| format!(" ({n} pkts)"))
            .unwrap_or_default();
        parts.push(format!("-p {}{count}", port_text(p)));
    }
    for o in &ns.shared_with {
        parts.push(format!("also {o} (container:)"));
    }
    let _ = writeln!(out, "{indent}{}", parts.join(" · "));
}

fn route_text(r: &den_netcfg::view::Route) -> String {
    let mut s = r.dst.clone();
    if let Some(g) = &r.gateway {
        let _ = write!(s, " via {g}");
    }
    if let Some(d) = &r.dev {
        let _ = write!(s, " dev {d}");
    }
    s
}
