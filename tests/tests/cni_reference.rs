//! den-cni next to the behaviour it matches: the reference `bridge` + `host-local` + `portmap`
//! chain (Debian's containernetworking-plugins) in a second sandbox. Both must give the same
//! answers: the published port from outside, the gateway by ping, the source the outside sees.

use std::path::{Path, PathBuf};

use den_tests::{
    addr, den_cni_conf, http_get, serve_page, wait_ok, with_ports, with_prev, CniCall, ContainerNs,
    PeerServer, Sandbox, CNI_PATH, START_TIMEOUT,
};
use serde_json::{json, Value};

const PAGE: &str = "same-answers\n";

/// What a user would check of an attachment whose port 80 is published as host port 8080.
#[derive(Debug, PartialEq)]
struct Answers {
    page: String,
    gateway_ping: bool,
    host_ping: bool,
    source_seen_outside: String,
}

fn answers(sb: &Sandbox, ns: &Path, result: &Value) -> Answers {
    serve_page(sb, ns, PAGE);
    let page = wait_ok(START_TIMEOUT, "the published port from outside", || {
        http_get(&sb.out_ns_path(), addr("10.250.0.1:8080"))
    });
    let gw = result["ips"][0]["gateway"].as_str().expect("a gateway");
    let ip = result["ips"][0]["address"].as_str().expect("an address");
    let ip = ip.split('/').next().unwrap();
    let gateway_ping = sb
        .host(&format!(
            "nsenter --net={} busybox ping -c1 -W2 {gw}",
            ns.display()
        ))
        .success();
    let host_ping = sb.host(&format!("busybox ping -c1 -W2 {ip}")).success();
    let _peer = PeerServer::start(&sb.out_ns_path(), addr("10.250.0.2:9000"));
    let source_seen_outside = http_get(ns, addr("10.250.0.2:9000")).expect("outside");
    Answers {
        page,
        gateway_ping,
        host_ping,
        source_seen_outside,
    }
}

fn ref_call<'a>(plugin: &'a Path, command: &'a str, ns: &'a Path) -> CniCall<'a> {
    CniCall {
        plugin,
        command,
        container_id: "side",
        ifname: "eth0",
        netns: Some(ns),
        fault: None,
    }
}

fn plugin(name: &str) -> PathBuf {
    Path::new(CNI_PATH).join(name)
}

#[test]
fn den_cni_answers_as_the_reference_bridge_host_local_portmap_chain() {
    let den_sb = Sandbox::new();
    let c = ContainerNs::new(&den_sb);
    let den_ns = c.path();
    let conf = with_ports(den_cni_conf(den_sb.root(), "1.0.0"), &[(8080, 80)]);
    let add = den_sb.den_cni("ADD", "side", "eth0", Some(&den_ns));
    let den_result = den_sb.cni(&add, &conf).ok();
    let den = answers(&den_sb, &den_ns, &den_result);

    let ref_sb = Sandbox::new();
    let r = ContainerNs::new(&ref_sb);
    let ref_ns = r.path();
    let bridge_conf = json!({
        "cniVersion": "1.0.0", "name": "refbr", "type": "bridge", "bridge": "cni0",
        "isGateway": true, "ipMasq": true, "hairpinMode": true,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.88.0.0/16"}]],
                 "routes": [{"dst": "0.0.0.0/0"}], "dataDir": ref_sb.root()},
    });
    let (bridge, portmap) = (plugin("bridge"), plugin("portmap"));
    let call = |plugin, command| ref_call(plugin, command, &ref_ns);
    let ref_result = ref_sb.cni(&call(&bridge, "ADD"), &bridge_conf).ok();
    let pm_conf = with_prev(
        with_ports(
            json!({"cniVersion": "1.0.0", "name": "refbr", "type": "portmap",
                   "capabilities": {"portMappings": true}}),
            &[(8080, 80)],
        ),
        &ref_result,
    );
    ref_sb.cni(&call(&portmap, "ADD"), &pm_conf).ok();
    let reference = answers(&ref_sb, &ref_ns, &ref_result);

    assert_eq!(den, reference, "den-cni vs the reference chain");
    assert_eq!(den.page, PAGE);
    assert_eq!(den.source_seen_outside, "10.250.0.1");
    assert!(den.gateway_ping && den.host_ping, "{den:?}");

    ref_sb.cni(&call(&portmap, "DEL"), &pm_conf).ok();
    ref_sb
        .cni(&call(&bridge, "DEL"), &with_prev(bridge_conf, &ref_result))
        .ok();
    den_sb
        .cni(&den_sb.den_cni("DEL", "side", "eth0", Some(&den_ns)), &conf)
        .ok();
}
