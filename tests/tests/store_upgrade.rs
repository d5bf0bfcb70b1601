//! A container started by an older den, whose lease was kept in `networks/bridge/leases.json` and
//! whose host port in `networks/ports.json`, survives the upgrade: the new den sees its address and
//! port as taken, and tears it down without leaving a record behind.

use std::fs;
use std::time::Duration;

use den_tests::{fixtures, Sandbox};
use serde_json::json;

/// Turn the sandbox's lease and port records back into the JSON files an older den wrote.
fn downgrade_records(sb: &Sandbox, id: &str, ip: &str) {
    let nets = sb.root().join("networks");
    let leases = json!({"last": ip, "leases": sb.leases("bridge")});
    fs::write(nets.join("bridge/leases.json"), leases.to_string()).unwrap();
    fs::remove_dir_all(nets.join("bridge/ipam")).unwrap();
    let mapping = json!({"host_ip": "0.0.0.0", "host_port": 9090, "container_port": 80,
                         "proto": "tcp"});
    let ports = json!({"ports": {"0.0.0.0:9090/tcp": {"mapping": mapping, "owner": id}}});
    fs::write(nets.join("ports.json"), ports.to_string()).unwrap();
    fs::remove_dir_all(nets.join(".ports")).unwrap();
}

#[test]
fn an_older_dens_lease_and_host_port_are_kept_then_released() {
    let sb = Sandbox::new();
    let img = fixtures().dir_arg();
    sb.den(&["run", "--rm", "-p", "8080:80", img, "true"]).ok();
    let before = sb.footprint();
    let old = sb.den_spawn(&[
        "run", "--rm", "--name", "old", "-p", "9090:80", img, "sleep", "60",
    ]);
    let info = sb.wait_running(&old, "old");
    let (id, ip) = (info.id().unwrap(), info.ip().unwrap());
    downgrade_records(&sb, &id, &ip);

    // The new den reads the old files: the port is taken, the address is not handed out.
    let out = sb.den(&["run", "--rm", "-p", "9090:80", img, "true"]);
    assert_eq!(out.code(), 125, "{out}");
    assert!(out.stderr.contains("already published"), "{out}");
    sb.den(&["run", "-d", "--name", "next", img, "sleep", "60"])
        .ok();
    let next = sb.inspect("next").ip().unwrap();
    assert_ne!(next, ip, "the old container's address was handed out again");
    // ... and has converted them under its lock.
    let nets = sb.root().join("networks");
    assert!(!nets.join("bridge/leases.json").exists());
    assert_eq!(sb.leases("bridge").get(&ip), Some(&id));
    sb.den(&["rm", "-f", "next"]).ok();

    // The old container's teardown (by the new den) releases both.
    sb.den(&["rm", "-f", "old"]).ok();
    old.wait(Duration::from_secs(20));
    assert!(sb.leases("bridge").is_empty(), "{:?}", sb.leases("bridge"));
    assert_eq!(sb.reserved_ports(), "");
    assert!(!nets.join("ports.json").exists());
    sb.assert_footprint(&before, "after the old container's removal");
}
