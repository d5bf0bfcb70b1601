//! The lease store's crash safety and the conversion of an older den's `leases.json`.

use std::fs;
use std::net::Ipv4Addr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;

use super::on_disk::TempRoot;
use crate::ipam::{self, IpamError};
use crate::lock::NetLock;

const GW: Ipv4Addr = Ipv4Addr::new(172, 20, 0, 1);

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn alloc(lock: &NetLock, root: &TempRoot, owner: &str) -> Result<Ipv4Addr, IpamError> {
    let subnet = "172.20.0.0/16".parse().unwrap();
    ipam::allocate(lock, root.path(), "bridge", subnet, GW, owner, None)
}

#[test]
fn an_older_leases_json_is_converted_with_its_leases_and_next_address() {
    let root = TempRoot::new();
    let dir = root.path().join("networks/bridge");
    fs::create_dir_all(&dir).unwrap();
    let old = r#"{"last": "172.20.0.7", "leases": {"172.20.0.2": "a", "172.20.0.7": "b"}}"#;
    fs::write(dir.join("leases.json"), old).unwrap();
    let lock = NetLock::acquire(root.path()).unwrap();
    let leases = ipam::leases(&lock, root.path(), "bridge").unwrap();
    assert_eq!(leases.get(&ip("172.20.0.2")).map(String::as_str), Some("a"));
    assert_eq!(leases.get(&ip("172.20.0.7")).map(String::as_str), Some("b"));
    assert!(!dir.join("leases.json").exists(), "the old file stays");
    // Sequential allocation goes on after the old file's last address.
    assert_eq!(alloc(&lock, &root, "c").unwrap(), ip("172.20.0.8"));
    // The converted leases are whole: their owners are known, and release works.
    assert!(matches!(
        alloc(&lock, &root, "b"),
        Err(IpamError::AlreadyLeased { .. })
    ));
    let released = ipam::release(&lock, root.path(), "bridge", "a").unwrap();
    assert_eq!(released, Some(ip("172.20.0.2")));
    assert_eq!(ipam::leases(&lock, root.path(), "bridge").unwrap().len(), 2);
}

#[test]
fn a_conversion_killed_halfway_is_done_again() {
    let root = TempRoot::new();
    let dir = root.path().join("networks/bridge");
    // What a den killed while converting leaves: its half-built store and the old file.
    fs::create_dir_all(dir.join("ipam.tmp/leases")).unwrap();
    symlink("x", dir.join("ipam.tmp/leases/172.20.0.9")).unwrap();
    fs::write(
        dir.join("leases.json"),
        r#"{"leases": {"172.20.0.2": "a"}}"#,
    )
    .unwrap();
    let lock = NetLock::acquire(root.path()).unwrap();
    let leases = ipam::leases(&lock, root.path(), "bridge").unwrap();
    assert_eq!(
        leases.into_iter().collect::<Vec<_>>(),
        [(ip("172.20.0.2"), "a".into())]
    );
    assert!(!dir.join("ipam.tmp").exists());
}

#[test]
fn an_index_entry_without_its_lease_counts_for_nothing_and_is_swept() {
    let root = TempRoot::new();
    let lock = NetLock::acquire(root.path()).unwrap();
    assert_eq!(alloc(&lock, &root, "a").unwrap(), ip("172.20.0.2"));
    // A den killed between the index entry and the lease (or between releasing the two).
    let owners = root.path().join("networks/bridge/ipam/owners");
    symlink("172.20.0.3", owners.join("b")).unwrap();
    symlink("172.20.0.2", owners.join("c")).unwrap();
    assert_eq!(
        ipam::release(&lock, root.path(), "bridge", "c").unwrap(),
        None
    );
    assert!(
        !owners.join("c").exists(),
        "release keeps a stale index entry"
    );
    assert_eq!(alloc(&lock, &root, "b").unwrap(), ip("172.20.0.3"));
    symlink("172.20.0.2", owners.join("d")).unwrap();
    let swept = ipam::sweep_stale(&lock, root.path(), "bridge").unwrap();
    assert_eq!(swept, [owners.join("d")]);
    let leases = ipam::leases(&lock, root.path(), "bridge").unwrap();
    assert_eq!(leases.len(), 2);
    assert!(ipam::sweep_stale(&lock, root.path(), "bridge")
        .unwrap()
        .is_empty());
}

#[test]
fn reads_of_a_network_with_no_leases_make_nothing() {
    let root = TempRoot::new();
    let lock = NetLock::acquire(root.path()).unwrap();
    assert!(ipam::leases(&lock, root.path(), "other")
        .unwrap()
        .is_empty());
    assert_eq!(ipam::holder(&lock, root.path(), "other", GW).unwrap(), None);
    assert_eq!(
        ipam::release(&lock, root.path(), "other", "a").unwrap(),
        None
    );
    assert!(!root.path().join("networks/other").exists());
}

#[test]
fn a_lease_costs_the_same_whatever_else_is_leased() {
    // Each allocation makes its two records and touches no other: with 300 leases, the next one
    // is made without reading the others. Proof: a record no listing can read (its value is not
    // UTF-8) does not stop it, where `leases` (which lists) fails on it.
    let root = TempRoot::new();
    let lock = NetLock::acquire(root.path()).unwrap();
    for n in 0..300 {
        alloc(&lock, &root, &format!("c{n}")).unwrap();
    }
    let leases = root.path().join("networks/bridge/ipam/leases");
    let bad = std::ffi::OsStr::from_bytes(b"\xff\xfe");
    symlink(bad, leases.join("172.20.9.9")).unwrap();
    assert!(ipam::leases(&lock, root.path(), "bridge").is_err());
    assert_eq!(
        alloc(&lock, &root, "next").unwrap(),
        Ipv4Addr::new(172, 20, 1, 46)
    );
    let released = ipam::release(&lock, root.path(), "bridge", "c7").unwrap();
    assert_eq!(released, Some(Ipv4Addr::new(172, 20, 0, 9)));
}
