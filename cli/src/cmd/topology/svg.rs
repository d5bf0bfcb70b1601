//! An SVG drawn by den itself (no graphviz at run time): the outside as a cloud, the host as a
//! room holding its uplinks and bridges (switches), each namespace as a room below its bridge,
//! veth pairs as cables named at both ends (the host end on the cable, the far end inside the
//! room), published ports as doors. Rooms are laid out in a grid with structured cabling (a
//! trunk down from the switch, a lane above each row, a drop to each room), so 30 containers
//! stay readable.

use std::collections::BTreeSet;
use std::fmt::Write;

use den_netcfg::view::{Link, Namespace, Snapshot};

use super::{peer_ns, port_text, ports_into, v4_addresses};

const ROOM_W: i64 = 220;
const ROOM_H: i64 = 92;
const GAP_X: i64 = 24;
const ROW_H: i64 = ROOM_H + 44;
const MARGIN: i64 = 24;
const SWITCH_H: i64 = 40;

struct Canvas {
    body: String,
}

impl Canvas {
    fn rect(&mut self, x: i64, y: i64, w: i64, h: i64, class: &str) {
        let _ = writeln!(
            self.body,
            r#"<rect class="{class}" x="{x}" y="{y}" width="{w}" height="{h}" rx="6"/>"#
        );
    }

    fn line(&mut self, x1: i64, y1: i64, x2: i64, y2: i64, class: &str) {
        let _ = writeln!(
            self.body,
            r#"<line class="{class}" x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}"/>"#
        );
    }

    fn text(&mut self, x: i64, y: i64, class: &str, s: &str) {
        let _ = writeln!(
            self.body,
            r#"<text class="{class}" x="{x}" y="{y}">{}</text>"#,
            esc(s)
        );
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Characters that fit in `px` at the drawing's monospace size (~7 px a character).
fn fit(s: &str, px: i64) -> String {
    let max = usize::try_from(px / 7).unwrap_or(0).max(4);
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

/// A bridge and the namespaces behind its ports.
struct Group<'a> {
    bridge: &'a Link,
    rooms: Vec<(&'a Link, Option<&'a Namespace>)>,
    cols: i64,
}

pub fn render(snap: &Snapshot) -> String {
    let host = &snap.namespaces[0];
    let bridges: Vec<&Link> = host
        .links
        .iter()
        .filter(|l| l.kind.as_deref() == Some("bridge"))
        .collect();
    let uplinks: Vec<&Link> = host
        .links
        .iter()
        .filter(|l| l.name != "lo" && l.master.is_none() && l.kind.as_deref() != Some("bridge"))
        .collect();
    let mut placed = BTreeSet::from([snap.host]);
    // Six columns in all, shared among the bridges by how many ports each has (at least one).
    let ports_of = |b: &Link| {
        host.links
            .iter()
            .filter(|p| p.master.as_deref() == Some(b.name.as_str()))
            .count()
    };
    let total = bridges.iter().map(|b| ports_of(b)).sum::<usize>().max(1);
    let groups: Vec<Group> = bridges
        .iter()
        .map(|b| {
            let rooms: Vec<(&Link, Option<&Namespace>)> = host
                .links
                .iter()
                .filter(|p| p.master.as_deref() == Some(b.name.as_str()))
                .map(|p| (p, peer_ns(snap, p)))
                .collect();
            for ns in rooms.iter().filter_map(|r| r.1) {
                placed.insert(ns.inode);
            }
            let share = (6 * rooms.len()).div_ceil(total).max(1);
            let cols = i64::try_from(share.min(rooms.len().max(1))).unwrap_or(1);
            Group {
                bridge: b,
                rooms,
                cols,
            }
        })
        .collect();
    let outside: Vec<(&Link, Option<&Namespace>)> =
        uplinks.iter().map(|u| (*u, peer_ns(snap, u))).collect();
    for ns in outside.iter().filter_map(|o| o.1) {
        placed.insert(ns.inode);
    }
    let others: Vec<&Namespace> = snap
        .namespaces
        .iter()
        .filter(|n| !placed.contains(&n.inode))
        .collect();

    let group_w = |g: &Group| g.cols * (ROOM_W + GAP_X) + GAP_X;
    let groups_w: i64 = groups.iter().map(group_w).sum();
    let outside_w = i64::try_from(outside.len().max(1)).unwrap_or(1) * (ROOM_W + GAP_X);
    let others_w = i64::try_from(others.len().min(6)).unwrap_or(0) * (ROOM_W + GAP_X);
    let width = groups_w.max(outside_w).max(others_w).max(640) + 2 * MARGIN;
    let mut c = Canvas {
        body: String::new(),
    };

    // The outside: whatever each uplink leads to, as a cloud above the host.
    let top = MARGIN;
    for (i, (up, ns)) in outside.iter().enumerate() {
        let x = MARGIN + i64::try_from(i).unwrap_or(0) * (ROOM_W + GAP_X) + GAP_X;
        c.rect(x, top, ROOM_W, 56, "cloud");
        let what = ns.map_or_else(
            || "outside (the world)".to_string(),
            |n| format!("outside: {}", n.owner.label()),
        );
        c.text(x + 10, top + 20, "title", &fit(&what, ROOM_W - 16));
        if let Some(n) = ns {
            c.text(
                x + 10,
                top + 38,
                "small",
                &fit(&v4_addresses(n).join(" "), ROOM_W - 16),
            );
        }
        // The cable into the host room, named at the host end.
        c.line(x + ROOM_W / 2, top + 56, x + ROOM_W / 2, top + 100, "cable");
        let label = format!(
            "{} {}",
            up.name,
            up.addresses.first().map(String::as_str).unwrap_or("")
        );
        c.text(x + ROOM_W / 2 + 6, top + 84, "small", &fit(&label, ROOM_W));
    }

    // The host room with its switches.
    let host_y = top + 100;
    let host_h = 96;
    c.rect(MARGIN, host_y, width - 2 * MARGIN, host_h, "host");
    let default = host.routes.iter().find(|r| r.dst == "default");
    let head = format!(
        "host  net:[{}]{}",
        host.inode,
        default
            .map(|r| format!("  default via {}", r.gateway.as_deref().unwrap_or("-")))
            .unwrap_or_default()
    );
    c.text(MARGIN + 10, host_y + 20, "title", &head);
    if !host.shared_with.is_empty() {
        let also: Vec<String> = host.shared_with.iter().map(|o| o.label()).collect();
        c.text(
            MARGIN + 10,
            host_y + 36,
            "small",
            &format!("--network host: {}", also.join(", ")),
        );
    }
    let mut gx = MARGIN;
    let rows_top = host_y + host_h + 40;
    let mut bottom = rows_top;
    for g in &groups {
        let sw_x = gx + GAP_X;
        let sw_y = host_y + host_h - SWITCH_H - 10;
        c.rect(sw_x, sw_y, ROOM_W, SWITCH_H, "switch");
        let title = match snap.den_network(&g.bridge.name) {
            Some(n) => format!("{} · network {}", g.bridge.name, n.network),
            None => g.bridge.name.clone(),
        };
        c.text(sw_x + 8, sw_y + 16, "switchtext", &fit(&title, ROOM_W - 12));
        let addr = g.bridge.addresses.iter().find(|a| !a.contains(':'));
        c.text(
            sw_x + 8,
            sw_y + 32,
            "switchsmall",
            addr.map_or("no address", String::as_str),
        );
        // Trunk from the switch down the group's left edge.
        let trunk_x = gx + GAP_X / 2;
        let rows = (i64::try_from(g.rooms.len()).unwrap_or(0) + g.cols - 1) / g.cols;
        if rows > 0 {
            let last_lane = rows_top + (rows - 1) * ROW_H - 22;
            c.line(
                sw_x + 20,
                sw_y + SWITCH_H,
                sw_x + 20,
                host_y + host_h + 14,
                "cable",
            );
            c.line(
                trunk_x,
                host_y + host_h + 14,
                sw_x + 20,
                host_y + host_h + 14,
                "cable",
            );
            c.line(trunk_x, host_y + host_h + 14, trunk_x, last_lane, "cable");
        }
        for (i, (port, ns)) in g.rooms.iter().enumerate() {
            let i = i64::try_from(i).unwrap_or(0);
            let (col, row) = (i % g.cols, i / g.cols);
            let x = gx + GAP_X + col * (ROOM_W + GAP_X);
            let y = rows_top + row * ROW_H;
            let lane = y - 22;
            c.line(trunk_x, lane, x + 16, lane, "cable");
            c.line(x + 16, lane, x + 16, y, "cable");
            // The port's state only when it is not the normal one.
            let state = port
                .bridge_port
                .as_ref()
                .map(|p| p.state.as_str())
                .filter(|s| *s != "forwarding")
                .unwrap_or("");
            c.text(
                x + 22,
                y - 6,
                "small",
                &fit(&format!("{} {state}", port.name), ROOM_W - 24),
            );
            room(&mut c, snap, x, y, *ns, port);
            bottom = bottom.max(y + ROOM_H);
        }
        gx += group_w(g);
    }

    // Namespaces not behind a bridge: isolated, --network none, linked elsewhere.
    let mut y = bottom + 40;
    if !others.is_empty() {
        c.text(MARGIN, y, "title", "not on a bridge");
        y += 14;
        for (i, ns) in others.iter().enumerate() {
            let i = i64::try_from(i).unwrap_or(0);
            let x = MARGIN + (i % 6) * (ROOM_W + GAP_X);
            let ry = y + (i / 6) * (ROOM_H + GAP_X);
            loose_room(&mut c, x, ry, ns);
            bottom = ry + ROOM_H;
        }
    }
    let height = bottom + MARGIN + 20;
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">
<style>
text {{ font-family: "DejaVu Sans Mono", monospace; font-size: 11px; fill: #222; }}
.title {{ font-weight: bold; font-size: 12px; }}
.small {{ font-size: 10px; fill: #444; }}
.switchtext {{ fill: #fff; font-weight: bold; }}
.switchsmall {{ fill: #dde; font-size: 10px; }}
.doortext {{ font-size: 10px; fill: #fff; }}
.host {{ fill: #f3f6fb; stroke: #5a6f90; stroke-width: 2; }}
.room {{ fill: #fffdf5; stroke: #8a7a4a; stroke-width: 1.5; }}
.loose {{ fill: #f6f6f6; stroke: #999; stroke-dasharray: 4 3; }}
.cloud {{ fill: #eef8ee; stroke: #5a905a; stroke-width: 1.5; }}
.switch {{ fill: #2f4a6d; stroke: #1c2e45; }}
.door {{ fill: #c0602a; stroke: #7a3a16; }}
.cable {{ stroke: #3a7bd5; stroke-width: 2; fill: none; }}
</style>
<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>
"##
    );
    svg.push_str(&c.body);
    svg.push_str("</svg>\n");
    svg
}

/// A namespace behind a bridge port: its owner, its end of the cable, its doors.
fn room(c: &mut Canvas, snap: &Snapshot, x: i64, y: i64, ns: Option<&Namespace>, port: &Link) {
    c.rect(x, y, ROOM_W, ROOM_H, "room");
    let Some(ns) = ns else {
        c.text(x + 8, y + 18, "title", "unseen namespace");
        return;
    };
    let mut title = ns.owner.label();
    if !ns.shared_with.is_empty() {
        let also: Vec<String> = ns.shared_with.iter().map(|o| o.label()).collect();
        let _ = write!(title, " (+{})", also.join(", "));
    }
    c.text(x + 8, y + 18, "title", &fit(&title, ROOM_W - 16));
    let far = port.peer.as_ref().and_then(|p| ns.link(p.index));
    let addr = far
        .and_then(|l| l.addresses.iter().find(|a| !a.contains(':')))
        .map_or("", String::as_str);
    let name = far.map_or("-", |l| l.name.as_str());
    c.text(
        x + 8,
        y + 34,
        "",
        &fit(&format!("{name} {addr}"), ROOM_W - 16),
    );
    let mac = far.and_then(|l| l.mac.as_deref()).unwrap_or_default();
    c.text(x + 8, y + 48, "small", mac);
    if let (Some(p), Some(comm)) = (ns.pid, &ns.comm) {
        c.text(
            x + 8,
            y + 62,
            "small",
            &fit(&format!("pid {p} ({comm})"), ROOM_W - 16),
        );
    }
    c.text(x + 8, y + 76, "small", &format!("net:[{}]", ns.inode));
    // Doors on the bottom wall, from the right.
    for (i, p) in ports_into(snap, ns).iter().take(2).enumerate() {
        let dx = x + ROOM_W - 108 - i64::try_from(i).unwrap_or(0) * 110;
        let dy = y + ROOM_H - 9;
        c.rect(dx, dy, 104, 18, "door");
        let t = port_text(p);
        let short = t.split_once(':').map_or(t.as_str(), |(_, r)| r);
        c.text(dx + 5, dy + 13, "doortext", &fit(short, 100));
    }
}

fn loose_room(c: &mut Canvas, x: i64, y: i64, ns: &Namespace) {
    c.rect(x, y, ROOM_W, ROOM_H, "loose");
    c.text(x + 8, y + 18, "title", &fit(&ns.owner.label(), ROOM_W - 16));
    let links: Vec<String> = ns
        .links
        .iter()
        .filter(|l| l.name != "lo")
        .map(|l| l.name.clone())
        .collect();
    let what = if links.is_empty() {
        "lo only".to_string()
    } else {
        links.join(" ")
    };
    c.text(x + 8, y + 34, "", &fit(&what, ROOM_W - 16));
    c.text(x + 8, y + 48, "small", &format!("net:[{}]", ns.inode));
}
