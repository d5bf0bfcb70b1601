//! The port allocator's store: conflicts by host address, release by owner, and the conversion of
//! an older den's `ports.json`.

use std::fs;

use crate::ipam::on_disk::TempRoot;
use crate::lock::NetLock;
use crate::portalloc::{self, PortAllocError};
use crate::ports::{PortMapping, Proto};

fn m(host_ip: &str, host_port: u16, container_port: u16, proto: Proto) -> PortMapping {
    PortMapping {
        host_ip: host_ip.parse().unwrap(),
        host_port,
        container_port,
        proto,
    }
}

#[test]
fn a_reserved_port_conflicts_by_protocol_and_overlapping_address() {
    let root = TempRoot::new();
    let lock = NetLock::acquire(root.path()).unwrap();
    let local = m("127.0.0.1", 8080, 80, Proto::Tcp);
    portalloc::reserve(&lock, "a", std::slice::from_ref(&local)).unwrap();
    let probe = |ip, proto| portalloc::conflicting(root.path(), &m(ip, 8080, 0, proto)).unwrap();
    assert_eq!(probe("0.0.0.0", Proto::Tcp), Some(local.clone()));
    assert_eq!(probe("127.0.0.1", Proto::Tcp), Some(local.clone()));
    assert_eq!(probe("127.0.0.2", Proto::Tcp), None);
    assert_eq!(probe("127.0.0.1", Proto::Udp), None);
    let all = m("0.0.0.0", 8081, 81, Proto::Tcp);
    portalloc::reserve(&lock, "b", std::slice::from_ref(&all)).unwrap();
    let other = portalloc::conflicting(root.path(), &m("10.0.0.1", 8081, 0, Proto::Tcp));
    assert_eq!(other.unwrap(), Some(all.clone()));
    // The same record twice is refused, and a failed reserve leaves none of its records.
    let fresh = m("0.0.0.0", 9000, 90, Proto::Udp);
    let err = portalloc::reserve(&lock, "c", &[fresh.clone(), local.clone()]).unwrap_err();
    assert!(matches!(err, PortAllocError::Reserved(_)), "{err}");
    assert_eq!(portalloc::conflicting(root.path(), &fresh).unwrap(), None);
    let mut got: Vec<_> = portalloc::published(root.path()).unwrap();
    got.sort_by_key(|r| r.mapping.host_port);
    let owners: Vec<_> = got.iter().map(|r| r.owner.as_str()).collect();
    assert_eq!(owners, ["a", "b"]);
}

#[test]
fn release_frees_only_what_the_owner_holds() {
    let root = TempRoot::new();
    let lock = NetLock::acquire(root.path()).unwrap();
    let (p1, p2) = (
        m("0.0.0.0", 8080, 80, Proto::Tcp),
        m("0.0.0.0", 53, 53, Proto::Udp),
    );
    portalloc::reserve(&lock, "a", &[p1.clone(), p2.clone()]).unwrap();
    assert!(portalloc::release(&lock, "b", std::slice::from_ref(&p1))
        .unwrap()
        .is_empty());
    assert_eq!(
        portalloc::release(&lock, "a", std::slice::from_ref(&p1)).unwrap(),
        vec![p1.clone()]
    );
    assert_eq!(portalloc::conflicting(root.path(), &p1).unwrap(), None);
    assert!(!root.path().join("networks/.ports/tcp/8080").exists());
    assert_eq!(portalloc::conflicting(root.path(), &p2).unwrap(), Some(p2));
}

#[test]
fn an_older_ports_json_is_read_then_converted_under_the_lock() {
    let root = TempRoot::new();
    let dir = root.path().join("networks");
    fs::create_dir_all(&dir).unwrap();
    let old = r#"{"ports": {"0.0.0.0:8080/tcp": {"mapping": {"host_ip": "0.0.0.0",
        "host_port": 8080, "container_port": 80, "proto": "tcp"}, "owner": "a"}}}"#;
    fs::write(dir.join("ports.json"), old).unwrap();
    let p = m("0.0.0.0", 8080, 80, Proto::Tcp);
    // Without the lock: read as it is.
    assert_eq!(
        portalloc::conflicting(root.path(), &p).unwrap(),
        Some(p.clone())
    );
    let lock = NetLock::acquire(root.path()).unwrap();
    assert_eq!(portalloc::sweep_stale(&lock).unwrap(), None);
    assert!(!dir.join("ports.json").exists());
    let all = portalloc::published(root.path()).unwrap();
    assert_eq!(
        (all[0].mapping.clone(), all[0].owner.as_str()),
        (p.clone(), "a")
    );
    assert_eq!(
        portalloc::release(&lock, "a", std::slice::from_ref(&p)).unwrap(),
        [p]
    );
}
