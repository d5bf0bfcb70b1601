//! `den inspect` and `den network inspect` show the kernel's view beside den's record (netns
//! inode, host veth with its peer index and bridge port state) and say where they disagree.

use std::os::unix::fs::MetadataExt;

use den_tests::{fixtures, Sandbox};
use serde_json::Value;

const WEB: &str = "exec sleep 600";

fn kernel(sb: &Sandbox, name: &str) -> (Value, den_tests::Output) {
    let out = sb.den(&["inspect", name]).ok();
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    (v[0]["Kernel"].clone(), out)
}

#[test]
fn inspect_shows_the_kernels_view_and_says_when_it_disagrees() {
    let sb = Sandbox::new();
    sb.run_detached(&["--name", "web", fixtures().dir_arg(), "sh", "-c", WEB]);
    let info = sb.inspect("web");
    let (pid, veth) = (info.pid().unwrap(), info.host_veth().unwrap());
    let (k, out) = kernel(&sb, "web");
    assert!(out.stderr.is_empty(), "{out}");
    assert_eq!(k["Disagreements"], serde_json::json!([]), "{k:#}");
    let inode = std::fs::metadata(format!("/proc/{pid}/ns/net"))
        .unwrap()
        .ino();
    assert_eq!(k["NetnsInode"], inode, "{k:#}");
    assert_eq!(k["HostVeth"]["name"], veth.as_str());
    assert_eq!(k["HostVeth"]["master"], "den0");
    assert_eq!(k["HostVeth"]["bridge_port"]["state"], "forwarding");
    // The peer index is the container's eth0, as `ip -j link` inside says.
    let inside = sb
        .host(&format!(
            "nsenter --net=/proc/{pid}/ns/net ip -j link show eth0"
        ))
        .ok();
    let eth0: Value = serde_json::from_str(&inside.stdout).unwrap();
    assert_eq!(k["HostVeth"]["peer"]["index"], eth0[0]["ifindex"], "{k:#}");
    assert_eq!(k["ContainerEnd"]["peer"]["index"], eth0[0]["link_index"]);
    assert_eq!(k["ContainerEnd"]["mac"], eth0[0]["address"]);

    // A port on den0 that no den container owns: network inspect says so.
    sb.host("ip link add stray type veth peer name stray-p && ip link set stray master den0")
        .ok();
    let out = sb.den(&["network", "inspect", "bridge"]).ok();
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let ports: Vec<&str> = v[0]["Kernel"]["Ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        ports.contains(&"stray") && ports.contains(&veth.as_str()),
        "{ports:?}"
    );
    let d = v[0]["Kernel"]["Disagreements"].to_string();
    assert!(
        d.contains("stray is a port of den0 that no running den container"),
        "{d}"
    );
    assert!(out.stderr.contains("kernel disagrees"), "{out}");
    sb.host("ip link del stray").ok();

    // The record's veth removed behind den's back: inspect says the kernel no longer has it.
    sb.host(&format!("ip link del {veth}")).ok();
    let (k, out) = kernel(&sb, "web");
    let want = format!("den's record names host veth {veth}, the kernel has no such link");
    assert_eq!(k["Disagreements"][0], want.as_str(), "{k:#}");
    assert!(out.stderr.contains(&want), "{out}");
    sb.den(&["rm", "-f", "web"]).ok();
}
