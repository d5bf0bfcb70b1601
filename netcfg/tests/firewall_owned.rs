//! Removing a container's elements by key, with no listing of den's table, in a throwaway netns.

#[path = "firewall/sandbox.rs"]
#[allow(dead_code)]
mod sandbox;

use std::process::Command;

use den_netcfg::firewall::{ContainerRules, Firewall};
use den_netcfg::ports::{PortMapping, Proto};
use sandbox::in_new_netns;

fn published() -> String {
    let out = Command::new("nft")
        .args(["list", "map", "ip", "den", "published"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn removing_owned_elements_by_key_and_again_when_they_are_gone() {
    in_new_netns(|| {
        let ports = [
            PortMapping {
                host_ip: "0.0.0.0".parse().unwrap(),
                host_port: 8080,
                container_port: 80,
                proto: Proto::Tcp,
            },
            PortMapping {
                host_ip: "0.0.0.0".parse().unwrap(),
                host_port: 8081,
                container_port: 81,
                proto: Proto::Udp,
            },
        ];
        let c = ContainerRules {
            id: "0123456789abcdef",
            name: "web",
            ip: "172.30.0.2".parse().unwrap(),
            ports: &ports,
        };
        let mut fw = Firewall::new().unwrap();
        fw.ensure_network(
            "bridge",
            "den0",
            "172.30.0.0/16".parse().unwrap(),
            true,
            &[],
        )
        .unwrap();
        fw.add_container(&c).unwrap();
        assert!(published().contains("8080"), "{}", published());
        fw.remove_owned(&c).unwrap();
        assert!(!published().contains("8080"), "{}", published());
        // All gone already (a racing teardown, a gc): not an error.
        fw.remove_owned(&c).unwrap();
        // One gone, one left: the fallback removes the one left.
        fw.add_container(&ContainerRules {
            ports: &ports[1..],
            ..c
        })
        .unwrap();
        fw.remove_owned(&c).unwrap();
        assert!(!published().contains("8081"), "{}", published());
    });
}
