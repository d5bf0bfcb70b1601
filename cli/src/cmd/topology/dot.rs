//! DOT for graphviz users: a cluster per namespace, a node per link (loopback left out), bridge
//! membership and veth pairs as edges, published ports as edge-less "door" nodes.

use std::fmt::Write;

use den_netcfg::view::{Namespace, Snapshot};

use super::{port_text, ports_into};

pub fn render(snap: &Snapshot) -> String {
    let mut out = String::from(
        "graph den {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n",
    );
    for ns in &snap.namespaces {
        cluster(&mut out, snap, ns);
    }
    for ns in &snap.namespaces {
        for l in ns.links.iter().filter(|l| l.name != "lo") {
            if let Some(m) = l
                .master
                .as_ref()
                .and_then(|m| ns.links.iter().find(|x| &x.name == m))
            {
                let _ = writeln!(
                    out,
                    "  {} -- {};",
                    id(ns.inode, l.index),
                    id(ns.inode, m.index)
                );
            }
            let Some((pn, pi)) = l.peer.as_ref().and_then(|p| Some((p.netns?, p.index))) else {
                continue;
            };
            if (ns.inode, l.index) < (pn, pi) {
                let _ = writeln!(
                    out,
                    "  {} -- {} [style=bold, label=\"veth\"];",
                    id(ns.inode, l.index),
                    id(pn, pi)
                );
            }
        }
    }
    out.push_str("}\n");
    out
}

fn cluster(out: &mut String, snap: &Snapshot, ns: &Namespace) {
    let _ = writeln!(out, "  subgraph cluster_{} {{", ns.inode);
    let _ = writeln!(
        out,
        "    label={};",
        quote(&format!("{}  net:[{}]", ns.owner, ns.inode))
    );
    for l in ns.links.iter().filter(|l| l.name != "lo") {
        let mut label = l.name.clone();
        if let Some(k) = &l.kind {
            let _ = write!(label, "\n{k}");
        }
        for a in l.addresses.iter().filter(|a| !a.contains(':')) {
            let _ = write!(label, "\n{a}");
        }
        let shape = if l.kind.as_deref() == Some("bridge") {
            "box3d"
        } else {
            "box"
        };
        let _ = writeln!(
            out,
            "    {} [label={}, shape={shape}];",
            id(ns.inode, l.index),
            quote(&label)
        );
    }
    for (n, p) in ports_into(snap, ns).iter().enumerate() {
        let _ = writeln!(
            out,
            "    door_{}_{n} [label={}, shape=cds];",
            ns.inode,
            quote(&format!("-p {}", port_text(p)))
        );
    }
    out.push_str("  }\n");
}

fn id(inode: u64, index: u32) -> String {
    format!("i{inode}_{index}")
}

fn quote(s: &str) -> String {
    format!(
        "\"{}\"",
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    )
}
