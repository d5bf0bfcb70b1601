//! What the gc tests share: a warmed-up sandbox, den killed at a fault point, and checks that
//! do not themselves collect (`den ps` would).

use std::fs;
use std::time::Duration;

use den_tests::{den_bin, fixtures, wait_until, Footprint, Output, Sandbox};

/// The setup steps `den run` can be killed after, in order.
pub const POINTS: [&str; 6] = [
    "after-state",
    "after-clone",
    "after-lease",
    "after-veth",
    "after-firewall",
    "after-start",
];

pub fn img() -> &'static str {
    fixtures().dir_arg()
}

/// The state of a sandbox after one successful bridge run with a published port: den0, den's
/// table and the lease file exist (they are shared infrastructure, kept by design).
pub fn warmed_up() -> (Sandbox, Footprint) {
    let sb = Sandbox::new();
    sb.den(&["run", "--rm", "-p", "8080:80", img(), "true"])
        .ok();
    let before = sb.footprint();
    (sb, before)
}

/// `DEN_FAULT=POINT den run --name NAME [ARGS] -p 8080:80 IMG sleep 30`: den kills itself at
/// POINT (with `-d` in ARGS, the container's supervisor does, and `den run -d` says so).
pub fn run_killed_at(sb: &Sandbox, point: &str, name: &str, args: &str) -> Output {
    let script = format!(
        "DEN_FAULT={point} exec {den} --root {root} run --name {name} {args} -p 8080:80 {img} sleep 30",
        den = den_bin().display(),
        root = sb.root().display(),
        img = img(),
    );
    let out = sb.host(&script);
    if args.contains("-d") {
        let out = out.expect_code(125);
        assert!(out.stderr.contains("supervisor"), "{out}");
        out
    } else {
        out.expect_code(137)
    }
}

pub fn container_dirs(sb: &Sandbox) -> Vec<String> {
    fs::read_dir(sb.root().join("containers"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

pub fn published_map(sb: &Sandbox) -> String {
    sb.host("nft list map ip den published").ok().stdout
}

/// Proves the run left something (so the test can fail), without running `den ps` (which
/// would collect). Returns the container id.
pub fn assert_left_behind(sb: &Sandbox, point: &str) -> String {
    let dirs = container_dirs(sb);
    assert_eq!(
        dirs.len(),
        1,
        "{point}: expected one container dir: {dirs:?}"
    );
    let id = dirs[0].clone();
    let link = fs::symlink_metadata(sb.root().join("names/x"));
    assert!(link.is_ok(), "{point}: no name link");
    let at = POINTS.iter().position(|p| *p == point).unwrap();
    let leases = sb.leases("bridge");
    assert_eq!(
        leases.values().any(|o| *o == id),
        at >= 2,
        "{point}: lease of {id}:\n{leases:?}"
    );
    let map = published_map(sb);
    assert_eq!(
        map.contains(&id[..12]),
        at >= 4,
        "{point}: element of {id}:\n{map}"
    );
    assert_eq!(
        reserved_ports(sb).contains(&id),
        at >= 3,
        "{point}: host port"
    );
    id
}

/// den's host-port reservations (see [`Sandbox::reserved_ports`]).
pub fn reserved_ports(sb: &Sandbox) -> String {
    sb.reserved_ports()
}

/// `den gc`, then a second one that must find nothing left.
pub fn gc(sb: &Sandbox) -> String {
    let first = sb.den(&["gc"]).ok();
    let again = sb.den(&["gc"]).ok();
    assert_eq!(again.out(), "", "a second den gc still found work\n{again}");
    first.stdout
}

pub fn assert_no_processes(sb: &Sandbox, context: &str) {
    wait_until(Duration::from_secs(10), context, || sb.members().is_empty());
}
