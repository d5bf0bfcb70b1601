//! IPAM on disk, in a temporary state root (inside the crate: leases and the lock are netcfg's own).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::ipam::{self, IpamError};
use crate::lock::NetLock;
use ipnet::Ipv4Net;

/// A state root under the temp dir, removed on drop.
pub(crate) struct TempRoot(PathBuf);

impl TempRoot {
    pub(crate) fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("den-ipam-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn net(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

const GW: Ipv4Addr = Ipv4Addr::new(172, 20, 0, 1);

fn alloc(
    root: &TempRoot,
    lock: &NetLock,
    owner: &str,
    wanted: Option<&str>,
) -> Result<Ipv4Addr, IpamError> {
    ipam::allocate(
        lock,
        root.path(),
        "bridge",
        net("172.20.0.0/16"),
        GW,
        owner,
        wanted.map(ip),
    )
}

#[test]
fn allocation_is_sequential_and_skips_network_and_gateway() {
    let root = TempRoot::new();
    let lock = NetLock::acquire(root.path()).unwrap();
    assert_eq!(alloc(&root, &lock, "a", None).unwrap(), ip("172.20.0.2"));
    assert_eq!(alloc(&root, &lock, "b", None).unwrap(), ip("172.20.0.3"));
    assert_eq!(alloc(&root, &lock, "c", None).unwrap(), ip("172.20.0.4"));
    let leases = ipam::leases(&lock, root.path(), "bridge").unwrap();
    let expected = [
        ("172.20.0.2", "a"),
        ("172.20.0.3", "b"),
        ("172.20.0.4", "c"),
    ];
    assert_eq!(
        leases,
        expected
            .iter()
            .map(|(a, o)| (ip(a), o.to_string()))
            .collect()
    );
    let record = root.path().join("networks/bridge/ipam/leases/172.20.0.2");
    assert_eq!(std::fs::read_link(record).unwrap().to_str(), Some("a"));
}

#[test]
fn a_gateway_in_the_middle_is_skipped_too() {
    let root = TempRoot::new();
    let lock = NetLock::acquire(root.path()).unwrap();
    let subnet = net("10.1.0.0/29");
    let gateway = ip("10.1.0.2");
    let mut got = Vec::new();
    for owner in ["a", "b", "c", "d", "e"] {
        got.push(ipam::allocate(&lock, root.path(), "n", subnet, gateway, owner, None).unwrap());
    }
    let expected: Vec<_> = ["10.1.0.1", "10.1.0.3", "10.1.0.4", "10.1.0.5", "10.1.0.6"]
        .map(ip)
        .into();
    assert_eq!(got, expected);
    let err = ipam::allocate(&lock, root.path(), "n", subnet, gateway, "f", None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "network n (10.1.0.0/29): no free address left"
    );
}

#[test]
fn wanted_addresses_are_checked() {
    let root = TempRoot::new();
    let lock = NetLock::acquire(root.path()).unwrap();
    assert_eq!(
        alloc(&root, &lock, "a", Some("172.20.5.5")).unwrap(),
        ip("172.20.5.5")
    );

    let err = alloc(&root, &lock, "b", Some("172.20.5.5")).unwrap_err();
    assert!(matches!(err, IpamError::InUse { .. }));
    assert_eq!(
        err.to_string(),
        "--ip 172.20.5.5 is already in use by container a"
    );

    let err = alloc(&root, &lock, "b", Some("10.0.0.5")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "--ip 10.0.0.5 is outside network bridge's subnet 172.20.0.0/16"
    );

    for (wanted, role) in [
        ("172.20.0.0", "network address"),
        ("172.20.0.1", "gateway"),
        ("172.20.255.255", "broadcast"),
    ] {
        let err = alloc(&root, &lock, "b", Some(wanted)).unwrap_err();
        assert!(matches!(err, IpamError::Reserved { .. }), "{err}");
        assert!(err.to_string().contains(role), "{err}");
    }
    // Nothing of the failed attempts was leased; the next sequential one is unaffected by the wanted one.
    assert_eq!(alloc(&root, &lock, "b", None).unwrap(), ip("172.20.0.2"));
    assert_eq!(ipam::leases(&lock, root.path(), "bridge").unwrap().len(), 2);
}

#[test]
fn an_owner_gets_one_lease_only() {
    let root = TempRoot::new();
    let lock = NetLock::acquire(root.path()).unwrap();
    let first = alloc(&root, &lock, "abc123", None).unwrap();
    let err = alloc(&root, &lock, "abc123", None).unwrap_err();
    assert!(
        matches!(err, IpamError::AlreadyLeased { address, .. } if address == first),
        "{err}"
    );
    assert!(err.to_string().contains("abc123"), "{err}");
    assert!(matches!(
        alloc(&root, &lock, "", None),
        Err(IpamError::InvalidOwner(_))
    ));
}

#[test]
fn a_full_slash_30_says_so() {
    let root = TempRoot::new();
    let lock = NetLock::acquire(root.path()).unwrap();
    let subnet = net("172.20.0.0/30");
    assert_eq!(
        ipam::allocate(&lock, root.path(), "bridge", subnet, GW, "a", None).unwrap(),
        ip("172.20.0.2")
    );
    let err = ipam::allocate(&lock, root.path(), "bridge", subnet, GW, "b", None).unwrap_err();
    assert!(matches!(err, IpamError::Exhausted { .. }));
    assert_eq!(
        err.to_string(),
        "network bridge (172.20.0.0/30): no free address left"
    );
    // Released, it is free again (the only one there is).
    assert_eq!(
        ipam::release(&lock, root.path(), "bridge", "a").unwrap(),
        Some(ip("172.20.0.2"))
    );
    assert_eq!(
        ipam::allocate(&lock, root.path(), "bridge", subnet, GW, "b", None).unwrap(),
        ip("172.20.0.2")
    );
}

#[test]
fn a_released_address_is_not_reused_at_once() {
    let root = TempRoot::new();
    let lock = NetLock::acquire(root.path()).unwrap();
    let a = alloc(&root, &lock, "a", None).unwrap();
    let b = alloc(&root, &lock, "b", None).unwrap();
    assert_eq!(
        ipam::release(&lock, root.path(), "bridge", "b").unwrap(),
        Some(b)
    );
    assert_eq!(
        ipam::release(&lock, root.path(), "bridge", "b").unwrap(),
        None
    );
    let c = alloc(&root, &lock, "c", None).unwrap();
    assert_eq!(c, ip("172.20.0.4"), "b's {b} must not come back at once");
    assert_eq!(
        ipam::release(&lock, root.path(), "bridge", "a").unwrap(),
        Some(a)
    );
    assert_eq!(
        ipam::leases(&lock, root.path(), "bridge")
            .unwrap()
            .into_keys()
            .collect::<Vec<_>>(),
        [c]
    );
}

#[test]
fn allocation_wraps_around_to_the_lowest_free() {
    let root = TempRoot::new();
    let lock = NetLock::acquire(root.path()).unwrap();
    let subnet = net("10.9.0.0/29"); // hosts .1 ..= .6, gateway .1
    let gateway = ip("10.9.0.1");
    let all: Vec<_> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|o| ipam::allocate(&lock, root.path(), "w", subnet, gateway, o, None).unwrap())
        .collect();
    assert_eq!(all.last(), Some(&ip("10.9.0.6")));
    ipam::release(&lock, root.path(), "w", "c").unwrap(); // .4
    ipam::release(&lock, root.path(), "w", "b").unwrap(); // .3
    assert_eq!(
        ipam::allocate(&lock, root.path(), "w", subnet, gateway, "f", None).unwrap(),
        ip("10.9.0.3")
    );
    assert_eq!(
        ipam::allocate(&lock, root.path(), "w", subnet, gateway, "g", None).unwrap(),
        ip("10.9.0.4")
    );
}

/// Sequential allocation on a /8 after 200 leases (the search visits one address per lease, not the
/// subnet: see `Hosts::next_free`; not timed here, the machine's disk sets the time).
#[test]
fn a_slash_8_allocates_sequentially_when_crowded() {
    let root = TempRoot::new();
    let lock = NetLock::acquire(root.path()).unwrap();
    let subnet = net("10.0.0.0/8");
    let gateway = ip("10.0.0.1");
    for n in 0..200 {
        ipam::allocate(
            &lock,
            root.path(),
            "big",
            subnet,
            gateway,
            &format!("c{n}"),
            None,
        )
        .unwrap();
    }
    // A wanted address at the very top does not move the sequential cursor.
    let top = ip("10.255.255.254");
    ipam::allocate(&lock, root.path(), "big", subnet, gateway, "top", Some(top)).unwrap();
    let next = ipam::allocate(&lock, root.path(), "big", subnet, gateway, "after", None).unwrap();
    assert_eq!(next, ip("10.0.0.202"));
}

#[test]
fn bad_names_and_foreign_locks_are_refused() {
    let root = TempRoot::new();
    let other = TempRoot::new();
    let lock = NetLock::acquire(root.path()).unwrap();
    for name in ["", ".", "..", "a/b"] {
        let err = ipam::leases(&lock, root.path(), name).unwrap_err();
        assert!(
            matches!(err, IpamError::InvalidNetworkName(_)),
            "{name:?}: {err}"
        );
    }
    let err = ipam::leases(&lock, other.path(), "bridge").unwrap_err();
    assert!(matches!(err, IpamError::WrongLock { .. }), "{err}");
    let err = ipam::allocate(
        &lock,
        root.path(),
        "bridge",
        net("172.20.0.0/16"),
        ip("10.0.0.1"),
        "a",
        None,
    );
    assert!(matches!(err, Err(IpamError::GatewayOutside { .. })));
}

#[test]
fn a_corrupt_lease_file_is_an_error_naming_it() {
    let root = TempRoot::new();
    let lock = NetLock::acquire(root.path()).unwrap();
    let dir = root.path().join("networks/bridge");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("leases.json"), "{not json").unwrap();
    let err = alloc(&root, &lock, "a", None).unwrap_err();
    assert!(matches!(
        err,
        IpamError::File(crate::jsonfile::JsonFileError::Parse { .. })
    ));
    assert!(err.to_string().contains("leases.json"), "{err}");
}

#[test]
fn parallel_allocations_under_the_lock_are_distinct() {
    let root = TempRoot::new();
    let path = root.path().to_owned();
    let threads: Vec<_> = (0..20)
        .map(|n| {
            let path = path.clone();
            std::thread::spawn(move || {
                let lock = NetLock::acquire(&path).unwrap();
                let subnet = net("172.20.0.0/16");
                ipam::allocate(&lock, &path, "bridge", subnet, GW, &format!("c{n}"), None).unwrap()
            })
        })
        .collect();
    let got: BTreeSet<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(got.len(), 20);
    let lock = NetLock::acquire(&path).unwrap();
    assert_eq!(ipam::leases(&lock, &path, "bridge").unwrap().len(), 20);
    let expected: BTreeSet<_> = (2..22).map(|n| Ipv4Addr::new(172, 20, 0, n)).collect();
    assert_eq!(got, expected);
}

#[test]
fn the_lock_is_exclusive_and_freed_on_drop() {
    let root = TempRoot::new();
    let lock = NetLock::acquire(root.path()).unwrap();
    let path = root.path().to_owned();
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let _second = NetLock::acquire(&path).unwrap();
        tx.send(()).unwrap();
    });
    assert!(
        rx.recv_timeout(std::time::Duration::from_millis(200))
            .is_err(),
        "second holder got in"
    );
    drop(lock);
    rx.recv_timeout(std::time::Duration::from_secs(5))
        .expect("second holder never got the lock");
    waiter.join().unwrap();
}
