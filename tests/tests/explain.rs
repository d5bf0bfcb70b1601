//! `den explain`: every hop of a packet's path read from the kernel, with the real rule handles
//! and routes; a missing hop said plainly, and the walk stopping there.

use den_tests::{
    addr, assert_rejected, fixtures, http_get, wait_ok, Output, Proc, Sandbox, OUT_ADDR,
    START_TIMEOUT,
};

const WEB: &str =
    "mkdir -p /w && echo hi > /w/index.html && echo ready && exec httpd -f -p 80 -h /w";

fn img() -> &'static str {
    fixtures().dir_arg()
}

/// `den run --rm --name NAME [--network NET] -p PUBLISH IMG sh -c CMD`, waited for.
fn start(sb: &Sandbox, name: &str, net: &str, publish: &str, cmd: &str) -> Proc {
    let den = sb.den_spawn(&[
        "run",
        "--rm",
        "--name",
        name,
        "--network",
        net,
        "-p",
        publish,
        img(),
        "sh",
        "-c",
        cmd,
    ]);
    sb.wait_running(&den, name);
    if cmd.contains("echo ready") {
        den.wait_stdout("ready", START_TIMEOUT);
    }
    den
}

/// The handle of den's rule in `chain` whose comment is `comment`, from `nft -a`.
fn handle(sb: &Sandbox, chain: &str, comment: &str) -> String {
    let out = sb.host(&format!("nft -a list chain ip den {chain}")).ok();
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains(&format!("comment \"{comment}\"")))
        .unwrap_or_else(|| panic!("no rule {comment:?} in\n{out}"));
    line.rsplit("# handle ").next().unwrap().trim().to_string()
}

/// The line of hop `stage` in `den explain` output (`N. MARK STAGE ...`).
fn hop<'a>(out: &'a Output, stage: &str) -> &'a str {
    out.stdout
        .lines()
        .find(|l| {
            l.split_whitespace()
                .skip(2)
                .collect::<Vec<_>>()
                .join(" ")
                .starts_with(stage)
        })
        .unwrap_or_else(|| panic!("no hop {stage:?}\n{out}"))
}

#[test]
fn published_port_lists_every_hop_with_the_kernels_handles_and_routes() {
    let sb = Sandbox::new();
    start(&sb, "web", "bridge", "8080:80", WEB);
    let out = sb.den(&["explain", "web", "8080"]).ok();
    let s = &out.stdout;
    for stage in [
        "arrives",
        "nat prerouting",
        "routing",
        "filter forward",
        "bridge",
        "bridge port",
        "container",
        "conntrack",
    ] {
        assert!(
            hop(&out, stage).contains(" ok "),
            "hop {stage} not ok\n{out}"
        );
    }
    let dnat = handle(
        &sb,
        "prerouting",
        "den: published ports on all host addresses",
    );
    assert!(
        s.contains(&format!(
            "chain prerouting handle {dnat}: fib daddr type local dnat"
        )),
        "{out}"
    );
    assert!(s.contains("element: map published { tcp . 8080 : 172.20.0.2 . 80 } comment \"den: container web ("), "{out}");
    let fwd = handle(&sb, "forward", "den: published ports");
    assert!(
        s.contains(&format!(
            "chain forward handle {fwd}: ct status dnat accept"
        )),
        "{out}"
    );
    // The route the kernel answers, as `ip route get` prints it.
    let route = sb
        .host("ip route get fibmatch 172.20.0.2 from 10.250.0.2 iif dt-up")
        .ok();
    let prefix = route.out().split_whitespace().next().unwrap().to_string();
    assert!(
        s.contains(&format!(
            "ip route get 172.20.0.2 from {OUT_ADDR} iif dt-up: {prefix} dev den0"
        )),
        "{out}\n{route}"
    );
    // The container's own veth, in forwarding state, and the fdb entry for its MAC.
    let veth = sb.inspect("web").0["HostVeth"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        s.contains(&format!("link: {veth} index")) && s.contains("bridge_slave state forwarding"),
        "{out}"
    );
    assert!(s.contains("held by httpd"), "{out}");
    // And the explanation is right: the path works.
    wait_ok(START_TIMEOUT, "GET through 8080", || {
        http_get(&sb.out_ns_path(), addr("10.250.0.1:8080"))
    });
}

#[test]
fn a_dnat_element_deleted_by_hand_is_the_missing_hop() {
    let sb = Sandbox::new();
    start(&sb, "web", "bridge", "8080:80", WEB);
    sb.host("nft delete element ip den published '{ tcp . 8080 }'")
        .ok();
    let out = sb.den(&["explain", "web", "8080"]).expect_code(1);
    let line = hop(&out, "nat prerouting");
    assert!(
        line.contains("STOP") && line.contains("no DNAT element for tcp port 8080"),
        "{out}"
    );
    assert!(
        out.stdout.contains("den's record of web says -p 8080:80"),
        "{out}"
    );
    assert!(
        !out.stdout.contains(" routing "),
        "the walk went on past the missing hop\n{out}"
    );
}

#[test]
fn an_internal_network_is_the_forward_drop() {
    let sb = Sandbox::new();
    sb.den(&["network", "create", "--internal", "backend"]).ok();
    // den refuses -p on an --internal network (netavark never forwards ports into one).
    let den = sb.den_spawn(&[
        "run",
        "--rm",
        "--name",
        "db",
        "--network",
        "backend",
        img(),
        "sh",
        "-c",
        WEB,
    ]);
    sb.wait_running(&den, "db");
    den.wait_stdout("ready", START_TIMEOUT);
    let out = sb.den(&["explain", "db", "8081"]).expect_code(1);
    let line = hop(&out, "nat prerouting");
    assert!(
        line.contains("STOP") && line.contains("no DNAT element"),
        "{out}"
    );
    assert!(
        out.stdout.contains("--internal network backend")
            && out
                .stdout
                .contains("den: --internal, nothing enters the network"),
        "{out}"
    );
    // The rule it names is in the kernel's forward chain.
    handle(
        &sb,
        "forward",
        "den: --internal, nothing enters the network",
    );
    // The way out says so too: no default route inside.
    let out = sb.den(&["explain", "db", "--to", OUT_ADDR]).expect_code(1);
    assert!(
        hop(&out, "container").contains("no route to 10.250.0.2"),
        "{out}"
    );
}

#[test]
fn nothing_listening_in_the_container_is_said_plainly() {
    let sb = Sandbox::new();
    start(&sb, "idle", "bridge", "8082:80", "exec sleep 60");
    let out = sb.den(&["explain", "idle", "8082"]).expect_code(1);
    let line = hop(&out, "container");
    assert!(
        line.contains("STOP") && line.contains("nothing listens on tcp port 80"),
        "{out}"
    );
    assert!(!out.stdout.contains("the reply's way back"), "{out}");
}

#[test]
fn another_containers_port_is_not_this_ones() {
    let sb = Sandbox::new();
    start(&sb, "web", "bridge", "8080:80", WEB);
    start(&sb, "other", "bridge", "9090:80", WEB);
    let out = sb.den(&["explain", "other", "8080"]).expect_code(1);
    assert!(
        hop(&out, "nat prerouting").contains("published by another container"),
        "{out}"
    );
}

#[test]
fn the_way_out_is_masqueraded_and_comes_back_through_conntrack() {
    let sb = Sandbox::new();
    start(&sb, "web", "bridge", "8080:80", WEB);
    let out = sb
        .den(&["explain", "web", "--to", &format!("{OUT_ADDR}:80")])
        .ok();
    let masq = handle(
        &sb,
        "postrouting",
        "den: a network's subnet leaving by another interface",
    );
    let line = hop(&out, "nat postrouting");
    assert!(
        line.contains("MASQUERADE") && line.contains("becomes 10.250.0.1"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains(&format!("chain postrouting handle {masq}:")),
        "{out}"
    );
    let back = handle(&sb, "forward", "den: replies into a network");
    assert!(
        out.stdout.contains(&format!(
            "chain forward handle {back}: ct state established,related accept"
        )),
        "{out}"
    );
    assert!(
        out.stdout.contains("default via 172.20.0.1 dev eth0"),
        "{out}"
    );
}

#[test]
fn bad_questions_are_one_line_naming_the_culprit() {
    let sb = Sandbox::new();
    start(&sb, "web", "bridge", "8080:80", WEB);
    assert_rejected(&sb.den(&["explain", "web", "0"]), &["\"0\""]);
    assert_rejected(&sb.den(&["explain", "web", "80/sctp"]), &["sctp"]);
    assert_rejected(
        &sb.den(&["explain", "web", "--to", "nowhere"]),
        &["nowhere"],
    );
    assert_rejected(&sb.den(&["explain", "ghost", "80"]), &["ghost"]);
    assert_rejected(&sb.den(&["explain", "web"]), &["--to", "PORT", "port"]);
    let none = sb.den_spawn(&[
        "run",
        "--rm",
        "--name",
        "lone",
        "--network",
        "none",
        img(),
        "sleep",
        "60",
    ]);
    sb.wait_running(&none, "lone");
    assert_rejected(&sb.den(&["explain", "lone", "80"]), &["lone"]);
}
