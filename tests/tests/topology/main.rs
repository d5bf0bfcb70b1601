//! Seeing what was built: `den topology`, `den veth`, `den ns` and `den rules`, checked against
//! the kernel (`ip -j link` / `ip -j addr` inside each namespace) with two den networks, a
//! `container:` container, a `--network host` one, a `--network none` one, a netns made by hand
//! with a veth onto den0, and a process in a netns of its own (`unshare -n`).

mod formats;
mod kernel;

use den_tests::{addr, fixtures, http_get, netns, wait_ok, Sandbox, HOST_ADDR, START_TIMEOUT};
use kernel::{fdb_matches, kernel, matches_kernel};
use serde_json::Value;

fn img() -> &'static str {
    fixtures().dir_arg()
}

const WEB: &str = "mkdir -p /w && echo hi > /w/index.html && exec httpd -f -p 80 -h /w";

/// A netns made with `ip netns add`, deleted on drop.
pub(crate) struct HandMade(pub(crate) String);

impl Drop for HandMade {
    fn drop(&mut self) {
        let _ = netns::delete(&self.0);
    }
}

/// The whole setup: returns the hand-made netns guard and the `unshare -n` process's pid.
pub(crate) fn build(sb: &Sandbox) -> (HandMade, den_tests::Proc) {
    sb.den(&["network", "create", "--subnet", "10.77.0.0/24", "lab"])
        .ok();
    sb.run_detached(&["--name", "web", "-p", "8080:80", img(), "sh", "-c", WEB]);
    sb.run_detached(&["--name", "db", "--network", "lab", img(), "sleep", "600"]);
    sb.run_detached(&[
        "--name",
        "side",
        "--network",
        "container:web",
        img(),
        "sleep",
        "600",
    ]);
    sb.run_detached(&[
        "--name",
        "hostnet",
        "--network",
        "host",
        img(),
        "sleep",
        "600",
    ]);
    sb.run_detached(&[
        "--name",
        "quiet",
        "--network",
        "none",
        img(),
        "sleep",
        "600",
    ]);
    let hand = HandMade(format!("{}-hand", sb.name()));
    netns::add(&hand.0).unwrap();
    let script = format!(
        "link add vhand type veth peer name eth0 netns {n}\nlink set vhand master den0\n\
         link set vhand up\n",
        n = hand.0
    );
    netns::batch(sb.host_ns(), &script).unwrap();
    netns::batch(
        &hand.0,
        "addr add 172.17.0.250/16 dev eth0\nlink set eth0 up\n",
    )
    .unwrap();
    let loner = sb.host_spawn("exec unshare -n sleep 600");
    (hand, loner)
}

pub(crate) fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e} in {text}"))
}

fn namespace_of(topo: &Value, pred: impl Fn(&Value) -> bool) -> &Value {
    topo["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| pred(n))
        .unwrap_or_else(|| panic!("no such namespace in {topo:#}"))
}

fn den_owner(name: &str) -> impl Fn(&Value) -> bool + '_ {
    move |n: &Value| n["owner"]["kind"] == "den" && n["owner"]["name"] == name
}

fn pid_of(sb: &Sandbox, name: &str) -> u32 {
    sb.inspect(name).pid().unwrap()
}

#[test]
fn topology_and_veth_match_the_kernel_in_every_namespace() {
    let sb = Sandbox::new();
    let (hand, loner) = build(&sb);
    // Links come up and addresses settle (IPv6 link-local) just after a start: compare the whole
    // picture until den and ip agree, reporting the last difference if they never do.
    let enter_hand = format!("--net={}", netns::path(&hand.0).display());
    let topo = wait_ok(
        START_TIMEOUT,
        "den topology to match ip -j link/addr",
        || {
            let topo = json(&sb.den(&["topology", "--format", "json"]).ok().stdout);
            let host = &topo["namespaces"][0];
            let (l, a) = kernel(&sb, &format!("--net={}", sb.host_ns_path().display()));
            matches_kernel(host, &l, &a)?;
            fdb_matches(host, &json(&sb.host("bridge -j fdb show").ok().stdout))?;
            for name in ["web", "db", "quiet"] {
                let ns = namespace_of(&topo, den_owner(name));
                let (l, a) = kernel(&sb, &format!("--net=/proc/{}/ns/net", pid_of(&sb, name)));
                matches_kernel(ns, &l, &a)?;
            }
            let hand_ns = namespace_of(&topo, |n| n["netns_names"][0] == hand.0.as_str());
            let (l, a) = kernel(&sb, &enter_hand);
            matches_kernel(hand_ns, &l, &a)?;
            Ok::<Value, String>(topo)
        },
    );
    assert_eq!(topo["schema"], 1);
    let host = &topo["namespaces"][0];
    assert_eq!(host["owner"]["kind"], "host");
    let shared: Vec<&Value> = host["shared_with"].as_array().unwrap().iter().collect();
    assert!(shared.iter().any(|o| o["name"] == "hostnet"), "{host}");
    let web = namespace_of(&topo, den_owner("web"));
    let side = &web["shared_with"];
    assert!(
        side.as_array().unwrap().iter().any(|o| o["name"] == "side"),
        "{web}"
    );
    let hand_ns = namespace_of(&topo, |n| n["netns_names"][0] == hand.0.as_str());
    assert_eq!(hand_ns["owner"]["kind"], "netns");
    let lone = namespace_of(&topo, |n| n["pid"] == loner.pid());
    assert_eq!(lone["owner"]["kind"], "process", "{lone}");
    assert_eq!(lone["owner"]["comm"], "sleep", "{lone}");

    // Each host veth's peer is the eth0 of the namespace that holds it.
    let links = host["links"].as_array().unwrap();
    for (owner, ns, bridge) in [
        ("web", web, "den0"),
        ("db", namespace_of(&topo, den_owner("db")), "br-"),
        ("hand", hand_ns, "den0"),
    ] {
        let veth = links
            .iter()
            .find(|l| l["peer"]["netns"] == ns["inode"])
            .unwrap_or_else(|| panic!("no host veth leads to {owner}"));
        assert!(
            veth["master"].as_str().unwrap().starts_with(bridge),
            "{veth}"
        );
        assert_eq!(veth["bridge_port"]["state"], "forwarding", "{veth}");
        assert_eq!(veth["peer"]["name"], "eth0", "{veth}");
        let eth0 = ns["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == "eth0")
            .unwrap();
        assert_eq!(eth0["index"], veth["peer"]["index"]);
        assert_eq!(eth0["peer"]["index"], veth["index"]);
        assert_eq!(eth0["peer"]["netns"], host["inode"]);
    }

    // den veth: seed 002's sentence for each, with its bridge.
    let out = sb.den(&["veth"]).ok().stdout;
    let web_veth = sb.inspect("web").host_veth().unwrap();
    let index = links
        .iter()
        .find(|l| l["name"] == web_veth.as_str())
        .unwrap()["index"]
        .clone();
    let line = out.lines().find(|l| l.starts_with(&web_veth)).expect(&out);
    let id = sb.inspect("web").id().unwrap();
    let want = format!(
        "is paired with eth0@if{index} in den container web ({})",
        &id[..12]
    );
    assert!(line.contains(&want), "{line}\nwant: {want}");
    assert!(line.ends_with("bridge den0"), "{line}");
    let line = out.lines().find(|l| l.starts_with("vhand ")).expect(&out);
    assert!(line.contains(&format!("in netns {}", hand.0)), "{line}");
    assert!(line.ends_with("bridge den0"), "{line}");

    // The text tree names every container and the loner.
    let text = sb.den(&["topology"]).ok().stdout;
    for want in [
        "web",
        "db",
        "side",
        "hostnet",
        hand.0.as_str(),
        "-p 0.0.0.0:8080->80/tcp",
    ] {
        assert!(text.contains(want), "{want} missing in\n{text}");
    }
    assert!(
        text.contains(&format!("pid {} (sleep)", loner.pid())),
        "{text}"
    );
}

fn ns_matrix(sb: &Sandbox, a: &str, b: &str) -> Value {
    json(&sb.den(&["ns", a, b, "--format", "json"]).ok().stdout)
}

fn shared(m: &Value, kind: &str) -> bool {
    let kinds = m["namespaces"].as_array().unwrap();
    kinds.iter().find(|k| k["kind"] == kind).unwrap()["shared"] == true
}

#[test]
fn ns_shows_what_each_network_mode_shares() {
    let sb = Sandbox::new();
    let (_hand, loner) = build(&sb);
    // bridge: nothing but the user/cgroup/time namespaces (den makes none of those).
    let m = ns_matrix(&sb, "web", "host");
    for kind in ["pid", "net", "mnt", "uts", "ipc"] {
        assert!(!shared(&m, kind), "web and host share {kind}: {m}");
    }
    assert_eq!(m["a"]["pid_inside"], 1, "{m}");
    assert_eq!(m["a"]["pid"], pid_of(&sb, "web"), "{m}");
    // --network host: the network is the host's, the PID namespace is not.
    let m = ns_matrix(&sb, "hostnet", "host");
    assert!(
        shared(&m, "net") && !shared(&m, "pid") && !shared(&m, "mnt"),
        "{m}"
    );
    // --network none: its own network.
    let m = ns_matrix(&sb, "quiet", "host");
    assert!(!shared(&m, "net"), "{m}");
    // container:web: web's network, its own PID namespace.
    let m = ns_matrix(&sb, "side", "web");
    assert!(shared(&m, "net") && !shared(&m, "pid"), "{m}");
    // A bare PID works too; the text form says the verdict per kind.
    let text = sb
        .den(&["ns", &loner.pid().to_string(), "host"])
        .ok()
        .stdout;
    let net = text.lines().find(|l| l.starts_with("net ")).expect(&text);
    assert!(net.ends_with("separate"), "{text}");
    let pid = text.lines().find(|l| l.starts_with("pid ")).expect(&text);
    assert!(pid.ends_with("shared"), "{text}");
}

#[test]
fn rules_count_the_connections_through_a_published_port() {
    let sb = Sandbox::new();
    sb.run_detached(&["--name", "web", "-p", "8080:80", img(), "sh", "-c", WEB]);
    let packets = |sb: &Sandbox| -> u64 {
        let v = json(&sb.den(&["rules", "web", "--format", "json"]).ok().stdout);
        let els = v["elements"].as_array().unwrap();
        let e = els
            .iter()
            .find(|e| e["key"] == "tcp . 8080")
            .unwrap_or_else(|| panic!("no element for -p 8080:80 in {v:#}"));
        assert!(e["comment"].as_str().unwrap().contains("web"), "{e}");
        e["packets"].as_u64().unwrap()
    };
    let out = sb.out_ns_path();
    wait_ok(START_TIMEOUT, "web through 8080", || {
        http_get(&out, addr(&format!("{HOST_ADDR}:8080")))
    });
    let before = packets(&sb);
    for _ in 0..3 {
        http_get(&out, addr(&format!("{HOST_ADDR}:8080"))).unwrap();
    }
    let after = packets(&sb);
    assert!(after >= before + 3, "counter went from {before} to {after}");
    let text = sb.den(&["rules", "web"]).ok().stdout;
    assert!(text.contains("web ("), "{text}");
    assert!(text.contains("-p 8080:80/tcp"), "{text}");
    assert!(text.contains("@published"), "{text}");
}

#[test]
fn a_table_from_before_counters_is_upgraded_keeping_its_elements() {
    let sb = Sandbox::new();
    // den's maps as they were declared before they carried counters, with one element.
    let old = r#"add table ip den
add map ip den published { type inet_proto . inet_service : ipv4_addr . inet_service; }
add map ip den published_on { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }
add chain ip den prerouting { type nat hook prerouting priority dstnat; policy accept; }
add chain ip den output { type nat hook output priority -100; policy accept; }
add rule ip den prerouting fib daddr type local dnat ip to meta l4proto . th dport map @published
add element ip den published { tcp . 9999 comment "den: container old (0123456789ab) -p 9999:80/tcp" : 172.20.0.99 . 80 }
"#;
    sb.host(&format!("nft -f - <<'EOF'\n{old}EOF")).ok();
    sb.run_detached(&["--name", "web", "-p", "8080:80", img(), "sh", "-c", WEB]);
    let v = json(&sb.den(&["rules", "--format", "json"]).ok().stdout);
    let els = v["elements"].as_array().unwrap();
    let kept = els
        .iter()
        .find(|e| e["key"] == "tcp . 9999")
        .expect("the old element");
    assert!(
        kept["comment"]
            .as_str()
            .unwrap()
            .contains("old (0123456789ab)"),
        "{kept}"
    );
    assert_eq!(kept["value"], "172.20.0.99 . 80");
    for e in [
        kept,
        els.iter()
            .find(|e| e["key"] == "tcp . 8080")
            .expect("web's"),
    ] {
        assert_eq!(e["packets"], 0, "no counter on {e}");
    }
    let rules = v["rules"].as_array().unwrap();
    let dnat = rules
        .iter()
        .filter(|r| r["text"].as_str().unwrap().contains("@published "))
        .count();
    assert_eq!(dnat, 2, "the DNAT rules exactly once each: {rules:?}");
}
