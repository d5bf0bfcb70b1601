//! den-cni driven by a CNI protocol driver of the tests' own: ADD, CHECK, DEL (twice), VERSION,
//! GC, STATUS with each result's JSON shape checked; traffic to and from an attachment; a
//! `den network create` network shared with the plugin; nothing left behind.

use std::path::Path;

use den_tests::{
    addr, assert_result_shape, den_cni_conf, http_get, serve_page, wait_ok, with_ports, with_prev,
    ContainerNs, PeerServer, Sandbox, START_TIMEOUT,
};
use serde_json::{json, Value};

const PAGE: &str = "hello-den-cni\n";

fn conf(sb: &Sandbox, version: &str) -> Value {
    den_cni_conf(sb.root(), version)
}

fn address(result: &Value) -> String {
    let cidr = result["ips"][0]["address"].as_str().expect("an address");
    cidr.split('/').next().unwrap().to_string()
}

#[test]
fn attachment_is_reachable_masqueraded_and_removed_without_trace() {
    let sb = Sandbox::new();
    let before = warmed(&sb);
    // One data model: the network den-cni attaches to is one `den network create` made.
    sb.den(&[
        "network",
        "create",
        "--subnet",
        "10.88.0.0/16",
        "--gateway",
        "10.88.0.1",
        "--bridge",
        "cni0",
        "denbr",
    ])
    .ok();
    let versions = sb
        .cni(
            &sb.den_cni("VERSION", "", "", None),
            &json!({"cniVersion": "1.1.0"}),
        )
        .ok();
    assert_eq!(
        versions,
        json!({"cniVersion": "1.1.0", "supportedVersions": ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]})
    );
    let c = ContainerNs::new(&sb);
    let ns = c.path();
    let add = sb.den_cni("ADD", "pod-one", "eth0", Some(&ns));
    let result = sb
        .cni(&add, &with_ports(conf(&sb, "1.1.0"), &[(8080, 80)]))
        .ok();
    assert_result_shape(&result, "1.1.0");
    let ip = address(&result);
    assert_eq!(result["ips"][0]["gateway"], "10.88.0.1");
    assert_eq!(result["interfaces"][0]["name"], "cni0");
    assert_eq!(result["interfaces"][2]["sandbox"], ns.to_str().unwrap());
    assert_eq!(result["ips"][0]["interface"], 2);
    let inside = sb
        .host(&format!("ip -n {} -o addr show eth0", c_name(&ns)))
        .ok();
    assert!(inside.stdout.contains(&format!("{ip}/16")), "{inside}");
    let leases = sb.leases("denbr");
    assert!(leases.contains_key(&ip), "{leases:?}");
    let map = sb.host("nft list map ip den published").ok();
    assert!(map.stdout.contains("den: container cni-pod-one"), "{map}");

    serve_page(&sb, &c.path(), PAGE);
    let page = wait_ok(START_TIMEOUT, "the published port from outside", || {
        http_get(&sb.out_ns_path(), addr("10.250.0.1:8080"))
    });
    assert_eq!(page, PAGE);
    sb.host(&format!(
        "nsenter --net={} busybox ping -c1 -W2 10.88.0.1",
        ns.display()
    ))
    .ok();
    sb.host(&format!("busybox ping -c1 -W2 {ip}")).ok();
    let peer = PeerServer::start(&sb.out_ns_path(), addr("10.250.0.2:9000"));
    let seen = http_get(&ns, addr("10.250.0.2:9000")).expect("outside from the attachment");
    assert_eq!(
        seen, "10.250.0.1",
        "MASQUERADE: the outside sees the host's address"
    );
    assert_eq!(peer.peers().len(), 1);

    let check = sb.den_cni("CHECK", "pod-one", "eth0", Some(&ns));
    assert_eq!(
        sb.cni(&check, &with_prev(conf(&sb, "1.1.0"), &result)).ok(),
        Value::Null
    );
    let del = sb.den_cni("DEL", "pod-one", "eth0", Some(&ns));
    assert_eq!(sb.cni(&del, &conf(&sb, "1.1.0")).ok(), Value::Null);
    // DEL is idempotent, also without a netns.
    sb.cni(
        &sb.den_cni("DEL", "pod-one", "eth0", None),
        &conf(&sb, "1.1.0"),
    )
    .ok();
    sb.cni(&check, &with_prev(conf(&sb, "1.1.0"), &result))
        .error(3);
    let gone = sb.host(&format!("ip -n {} -o link", c_name(&ns))).ok();
    assert!(!gone.stdout.contains("eth0"), "{gone}");
    sb.den(&["network", "rm", "denbr"]).ok();
    sb.assert_footprint(&before, "after DEL and den network rm");
}

/// den's table, lock and port records exist after a first attachment publishing a port: the state to return to.
fn warmed(sb: &Sandbox) -> den_tests::Footprint {
    let c = ContainerNs::new(sb);
    let ns = c.path();
    let published = with_ports(conf(sb, "1.1.0"), &[(18080, 80)]);
    sb.cni(&sb.den_cni("ADD", "warm", "eth0", Some(&ns)), &published)
        .ok();
    sb.cni(
        &sb.den_cni("DEL", "warm", "eth0", Some(&ns)),
        &conf(sb, "1.1.0"),
    )
    .ok();
    sb.den(&["network", "rm", "denbr"]).ok();
    sb.footprint()
}

fn c_name(ns: &Path) -> String {
    ns.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn every_version_gets_its_result_shape() {
    let sb = Sandbox::new();
    let nss: Vec<ContainerNs> = (0..5).map(|_| ContainerNs::new(&sb)).collect();
    for (i, v) in ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
        .iter()
        .enumerate()
    {
        let ns = nss[i].path();
        let ifname = format!("net{i}");
        let add = sb.den_cni("ADD", "multi", &ifname, Some(&ns));
        let mut asked = conf(&sb, v);
        // runtimeConfig.ips, as a runtime passes it for the `ips` capability.
        asked["capabilities"]["ips"] = true.into();
        asked["runtimeConfig"] = json!({"ips": [format!("10.88.5.{}/16", 10 + i)]});
        let result = sb.cni(&add, &asked).ok();
        assert_result_shape(&result, v);
        assert_eq!(address(&result), format!("10.88.5.{}", 10 + i));
        if i == 4 {
            // Not first in a chain: the earlier plugins' result comes back with ours added.
            let prev = json!({"cniVersion": v, "interfaces": [{"name": "earlier"}],
                              "ips": [{"address": "192.0.2.7/24", "interface": 0}], "dns": {}});
            let chained = with_prev(conf(&sb, v), &prev);
            let second = ContainerNs::new(&sb);
            let ns2 = second.path();
            let add2 = sb.den_cni("ADD", "chain", "eth0", Some(&ns2));
            let merged = sb.cni(&add2, &chained).ok();
            assert_result_shape(&merged, v);
            assert_eq!(merged["interfaces"][0]["name"], "earlier");
            assert_eq!(merged["ips"][0]["address"], "192.0.2.7/24");
            assert_eq!(merged["ips"][1]["interface"], 3, "{merged:#}");
            sb.cni(&sb.den_cni("DEL", "chain", "eth0", Some(&ns2)), &chained)
                .ok();
        }
        assert_eq!(result["interfaces"][2]["name"], ifname.as_str());
        let check = sb.den_cni("CHECK", "multi", &ifname, Some(&ns));
        let checked = sb.cni(&check, &with_prev(conf(&sb, v), &result));
        match v.starts_with("0.3") {
            true => {
                checked.error(1);
            }
            false => assert_eq!(checked.ok(), Value::Null),
        }
    }
    for (i, c) in nss.iter().enumerate() {
        let ns = c.path();
        let ifname = format!("net{i}");
        let links = sb.host(&format!("ip -n {} -o link", c_name(&ns))).ok();
        assert!(links.stdout.contains(&format!(" {ifname}@")), "{links}");
        sb.cni(
            &sb.den_cni("DEL", "multi", &ifname, Some(&ns)),
            &conf(&sb, "1.1.0"),
        )
        .ok();
    }
}

#[test]
fn gc_releases_only_attachments_not_listed_and_status_reports_ready() {
    let sb = Sandbox::new();
    let mut conf11 = conf(&sb, "1.1.0");
    let status = sb.den_cni("STATUS", "", "", None);
    assert_eq!(sb.cni(&status, &conf11).ok(), Value::Null);
    let nss: Vec<ContainerNs> = (0..3).map(|_| ContainerNs::new(&sb)).collect();
    let mut results = Vec::new();
    for (i, c) in nss.iter().enumerate() {
        let cid = format!("gc-{i}");
        let ns = c.path();
        results.push(
            sb.cni(&sb.den_cni("ADD", &cid, "eth0", Some(&ns)), &conf11)
                .ok(),
        );
    }
    conf11["cni.dev/valid-attachments"] = json!([
        {"containerID": "gc-0", "ifname": "eth0"},
        {"containerID": "gc-2", "ifname": "eth0"},
    ]);
    let gc = sb.den_cni("GC", "", "", None);
    let mut old = conf11.clone();
    old["cniVersion"] = "1.0.0".into();
    sb.cni(&gc, &old).error(1);
    assert_eq!(sb.cni(&gc, &conf11).ok(), Value::Null);
    for (i, (c, result)) in nss.iter().zip(&results).enumerate() {
        let cid = format!("gc-{i}");
        let ns = c.path();
        let veth = result["interfaces"][1]["name"].as_str().unwrap();
        let link = sb.host(&format!("ip link show {veth}"));
        let check = sb.cni(
            &sb.den_cni("CHECK", &cid, "eth0", Some(&ns)),
            &with_prev(conf(&sb, "1.1.0"), result),
        );
        if i == 1 {
            assert!(!link.success(), "gc left {veth}\n{link}");
            check.error(3);
        } else {
            link.ok();
            check.ok();
        }
    }
    let leases = sb.leases("denbr");
    assert!(!leases.contains_key(&address(&results[1])), "{leases:?}");
    assert!(leases.contains_key(&address(&results[2])), "{leases:?}");
    conf11["cni.dev/valid-attachments"] = json!([]);
    sb.cni(&gc, &conf11).ok();
    let links = sb.host("ip -o link").ok();
    assert!(!links.stdout.contains("veth"), "{links}");
}

#[test]
fn add_or_del_after_a_killed_add_leaves_nothing() {
    let sb = Sandbox::new();
    let before = warmed(&sb);
    let published = with_ports(conf(&sb, "1.1.0"), &[(8080, 80)]);
    for (point, then) in [
        ("after-lease", "ADD"),
        ("after-veth", "ADD"),
        ("after-firewall", "ADD"),
        ("after-firewall", "DEL"),
    ] {
        let c = ContainerNs::new(&sb);
        let ns = c.path();
        let mut killed = sb.den_cni("ADD", "crash", "eth0", Some(&ns));
        killed.fault = Some(point);
        let out = sb.cni(&killed, &published).output;
        assert_eq!(
            out.code(),
            128 + den_tests::SIGKILL,
            "killed at {point}\n{out}"
        );
        let again = sb.den_cni(then, "crash", "eth0", Some(&ns));
        sb.cni(&again, &published).ok();
        if then == "ADD" {
            sb.cni(&sb.den_cni("DEL", "crash", "eth0", Some(&ns)), &published)
                .ok();
        }
        sb.den(&["network", "rm", "denbr"]).ok();
        sb.assert_footprint(&before, &format!("after a kill at {point} and {then}"));
    }
}

/// den-cni first in a conflist, Debian's reference `portmap` after it with den-cni's result as
/// its prevResult: portmap's DNAT reaches the attachment through den's forward rules.
#[test]
fn reference_portmap_chained_after_den_cni() {
    let sb = Sandbox::new();
    let c = ContainerNs::new(&sb);
    let ns = c.path();
    let mut den = conf(&sb, "1.0.0");
    den.as_object_mut().unwrap().remove("capabilities");
    let add = sb.den_cni("ADD", "chained", "eth0", Some(&ns));
    let result = sb.cni(&add, &den).ok();
    assert_result_shape(&result, "1.0.0");
    let portmap = Path::new(den_tests::CNI_PATH).join("portmap");
    let pm_conf = with_prev(
        with_ports(
            json!({"cniVersion": "1.0.0", "name": "denbr", "type": "portmap",
                   "capabilities": {"portMappings": true}}),
            &[(8081, 80)],
        ),
        &result,
    );
    let call = |command| den_tests::CniCall {
        plugin: &portmap,
        command,
        container_id: "chained",
        ifname: "eth0",
        netns: Some(&ns),
        fault: None,
    };
    let chained = sb.cni(&call("ADD"), &pm_conf).ok();
    assert_eq!(
        chained["ips"], result["ips"],
        "portmap passes den-cni's result on"
    );
    serve_page(&sb, &c.path(), PAGE);
    let page = wait_ok(START_TIMEOUT, "portmap's host port from outside", || {
        http_get(&sb.out_ns_path(), addr("10.250.0.1:8081"))
    });
    assert_eq!(page, PAGE);
    sb.cni(&call("DEL"), &pm_conf).ok();
    sb.cni(
        &sb.den_cni("DEL", "chained", "eth0", Some(&ns)),
        &with_prev(den, &chained),
    )
    .ok();
    let nat = sb.host("iptables -t nat -S").ok().stdout;
    assert!(!nat.contains("8081"), "portmap left its DNAT\n{nat}");
    let links = sb.host("ip -o link").ok().stdout;
    assert!(!links.contains("veth"), "{links}");
}
