//! Bad input to den-cni: each gets the CNI spec's error JSON with its code, a non-zero exit, and
//! leaves nothing behind (the sandbox's footprint is unchanged).

use std::fs;

use den_tests::{den_cni_conf, fixtures, with_ports, ContainerNs, Sandbox};
use serde_json::json;

#[test]
fn bad_input_gets_its_spec_code_and_leaves_nothing() {
    let sb = Sandbox::new();
    // den's lock and the network's record exist once a network does: the state to return to.
    sb.den(&[
        "network",
        "create",
        "--subnet",
        "10.88.0.0/16",
        "--bridge",
        "cni0",
        "denbr",
    ])
    .ok();
    let before = sb.footprint();
    let c = ContainerNs::new(&sb);
    let ns = c.path();
    let add = sb.den_cni("ADD", "bad", "eth0", Some(&ns));
    let good = den_cni_conf(sb.root(), "1.1.0");

    sb.cni_raw(&add, "{\"cniVersion\": ").error(6);
    let mut old = good.clone();
    old["cniVersion"] = "0.2.0".into();
    assert!(sb.cni(&add, &old).error(1).contains("0.2.0"));
    let no_netns = sb.den_cni("ADD", "bad", "eth0", None);
    assert!(sb.cni(&no_netns, &good).error(4).contains("CNI_NETNS"));
    let file = sb.scratch().join("not-a-netns");
    fs::write(&file, "").unwrap();
    let not_ns = sb.den_cni("ADD", "bad", "eth0", Some(&file));
    assert!(sb
        .cni(&not_ns, &good)
        .error(4)
        .contains("not a network namespace"));
    let long = sb.den_cni("ADD", "bad", "abcdefghijklmnop", Some(&ns));
    assert!(sb.cni(&long, &good).error(4).contains("longer than 15"));
    let mut clash = good.clone();
    clash["name"] = "clash".into();
    clash["bridge"] = "clash0".into();
    clash["ipam"]["ranges"] = json!([[{"subnet": "10.250.0.0/16"}]]);
    assert!(sb.cni(&add, &clash).error(7).contains("10.250.0.0/24"));
    let mut mtu = good.clone();
    mtu["mtu"] = 9000.into();
    assert!(sb.cni(&add, &mtu).error(2).contains("mtu"));
    let mut other_subnet = good.clone();
    other_subnet["ipam"]["ranges"] = json!([[{"subnet": "10.99.0.0/16"}]]);
    assert!(sb
        .cni(&add, &other_subnet)
        .error(7)
        .contains("10.88.0.0/16"));
    sb.assert_footprint(&before, "after rejected ADDs");

    // A host port published by another attachment, then by a den container.
    let c1 = ContainerNs::new(&sb);
    let ns1 = c1.path();
    let first = sb.den_cni("ADD", "first", "eth0", Some(&ns1));
    sb.cni(&first, &with_ports(good.clone(), &[(8080, 80)]))
        .ok();
    sb.run_detached(&[
        "--name",
        "web",
        "-p",
        "9090:80",
        fixtures().dir_arg(),
        "sleep",
        "300",
    ]);
    let published = sb.footprint();
    for port in [8080, 9090] {
        let msg = sb
            .cni(&add, &with_ports(good.clone(), &[(port, 80)]))
            .error(11);
        assert!(msg.contains(&port.to_string()), "{msg}");
        sb.assert_footprint(&published, &format!("after host port {port} was refused"));
    }

    // A full subnet: a /30 has one address besides its gateway.
    let mut tiny = good.clone();
    tiny["name"] = "tiny".into();
    tiny["bridge"] = "tiny0".into();
    tiny["ipam"]["ranges"] = json!([[{"subnet": "10.89.0.0/30"}]]);
    // The same container id and interface name on another network is another attachment.
    let c2 = ContainerNs::new(&sb);
    let ns2 = c2.path();
    sb.cni(&sb.den_cni("ADD", "first", "eth0", Some(&ns2)), &tiny)
        .ok();
    let full = sb.footprint();
    assert!(sb.cni(&add, &tiny).error(11).contains("10.89.0.0/30"));
    sb.assert_footprint(&full, "after a full subnet was refused");

    sb.den(&["rm", "-f", "web"]).ok();
    for conf in [&good, &tiny] {
        sb.cni(&sb.den_cni("DEL", "first", "eth0", None), conf).ok();
    }
    let links = sb.host("ip -o link").ok().stdout;
    assert!(!links.contains("veth"), "{links}");
}
