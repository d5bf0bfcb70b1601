//! User-defined networks — create/ls/inspect/rm, `--network NAME`, isolation between
//! networks and from den0, `--internal`, and name resolution between members.

use std::path::PathBuf;
use std::time::Duration;

use den_tests::{
    addr, assert_rejected, fixtures, http_get, link_names, udp_request, Footprint, Inspect, Output,
    PeerServer, Proc, Sandbox, UdpEcho, HOST_ADDR, OUT_ADDR, SIGKILL, START_TIMEOUT,
};
use serde_json::Value;

const EXIT_TIMEOUT: Duration = Duration::from_secs(20);
const PAGE: &str = "hello-den\n";
/// A web server on port 80 inside the container, serving [`PAGE`].
const WEB: &str = "mkdir -p /var/www && echo hello-den > /var/www/index.html && echo ready \
                   && exec httpd -f -p 80 -h /var/www";

fn img() -> &'static str {
    fixtures().dir_arg()
}

/// `den network create ARGS...`; returns the id it prints.
fn create(sb: &Sandbox, args: &[&str]) -> String {
    let out = sb.den(&[&["network", "create"][..], args].concat()).ok();
    out.stdout.trim().to_string()
}

/// `den run --rm --name NAME --network NET IMG sh -c WEB`, up and serving.
fn start_web(sb: &Sandbox, net: &str, name: &str) -> (Proc, Inspect) {
    let den = sb.den_spawn(&[
        "run",
        "--rm",
        "--name",
        name,
        "--network",
        net,
        img(),
        "sh",
        "-c",
        WEB,
    ]);
    let info = sb.wait_running(&den, name);
    den.wait_stdout("ready", START_TIMEOUT);
    (den, info)
}

/// Kills the container's PID 1 and waits for its `den run` to tear it down.
fn stop(sb: &Sandbox, den: &Proc, info: &Inspect) {
    sb.kill_member(info.pid().unwrap(), SIGKILL);
    den.wait(EXIT_TIMEOUT);
}

/// A shell script that tries `http://T/` for every target at once and prints `reached T` or
/// `blocked T` for each.
fn reach(targets: &[&str]) -> String {
    let mut s = String::new();
    for t in targets {
        s.push_str(&format!(
            "(if timeout 3 wget -qO- http://{t}/ >/dev/null 2>&1; then echo reached {t}; \
             else echo blocked {t}; fi) & "
        ));
    }
    s + "wait"
}

/// Starts `den run --rm --network NET IMG sh -c SCRIPT` in the background.
fn probe(sb: &Sandbox, net: &str, script: &str) -> Proc {
    sb.den_spawn(&["run", "--rm", "--network", net, img(), "sh", "-c", script])
}

#[track_caller]
fn assert_reach(out: &Output, reached: &[&str], blocked: &[&str]) {
    let lines: Vec<&str> = out.stdout.lines().collect();
    for t in reached {
        let want = format!("reached {t}");
        assert!(lines.contains(&want.as_str()), "{want}\n{out}");
    }
    for t in blocked {
        let want = format!("blocked {t}");
        assert!(lines.contains(&want.as_str()), "{want}\n{out}");
    }
}

fn netns_of(info: &Inspect) -> PathBuf {
    PathBuf::from(format!("/proc/{}/ns/net", info.pid().unwrap()))
}

fn network_inspect(sb: &Sandbox, name: &str) -> Value {
    let out = sb.den(&["network", "inspect", name]).ok();
    let v: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{out}"));
    v.get(0)
        .cloned()
        .unwrap_or_else(|| panic!("no object\n{out}"))
}

fn field(v: &Value, path: &[&str]) -> String {
    let mut v = v;
    for k in path {
        v = &v[k];
    }
    v.as_str()
        .unwrap_or_else(|| panic!("{path:?} in {v}"))
        .to_string()
}

#[test]
fn containers_on_one_network_reach_each_other_by_ip_and_by_name() {
    let sb = Sandbox::new();
    create(&sb, &["front"]);
    let (_web, info) = start_web(&sb, "front", "web");
    let ip = info.ip().unwrap();
    let script = format!("{}; wget -qO- http://web/", reach(&[&ip, "web"]));
    let out = probe(&sb, "front", &script).wait(EXIT_TIMEOUT).ok();
    assert_reach(&out, &[&ip, "web"], &[]);
    assert!(out.stdout.ends_with(PAGE), "{out}");
}

#[test]
fn hosts_files_follow_members_joining_and_leaving() {
    let sb = Sandbox::new();
    create(&sb, &["team"]);
    let (_a, ia) = start_web(&sb, "team", "a");
    let (b, ib) = start_web(&sb, "team", "b");
    let hosts = |info: &Inspect| {
        let path = sb.container_path(info.pid().unwrap(), "/etc/hosts");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let line_b = format!("{}\tb ", ib.ip().unwrap());
    let line_a = format!("{}\ta ", ia.ip().unwrap());
    let (in_a, in_b) = (hosts(&ia), hosts(&ib));
    assert!(in_a.contains(&line_b), "a's /etc/hosts lacks b:\n{in_a}");
    assert!(in_b.contains(&line_a), "b's /etc/hosts lacks a:\n{in_b}");
    assert!(in_a.starts_with("127.0.0.1\tlocalhost\n"), "{in_a}");
    stop(&sb, &b, &ib);
    let now = hosts(&ia);
    assert!(
        !now.contains(&line_b),
        "b left but a still lists it:\n{now}"
    );
    assert!(now.contains(&line_a), "{now}");
}

#[test]
fn networks_are_isolated_from_each_other_and_from_den0() {
    let sb = Sandbox::new();
    create(&sb, &["n1"]);
    create(&sb, &["n2"]);
    let (_w1, i1) = start_web(&sb, "n1", "web1");
    let (_w2, i2) = start_web(&sb, "n2", "web2");
    let (_w0, i0) = start_web(&sb, "bridge", "web0");
    let (ip1, ip2, ip0) = (i1.ip().unwrap(), i2.ip().unwrap(), i0.ip().unwrap());
    let on_n1 = probe(&sb, "n1", &reach(&[&ip1, &ip2, &ip0]));
    let on_n2 = probe(&sb, "n2", &reach(&[&ip2, &ip1, "web1"]));
    let on_den0 = probe(&sb, "bridge", &reach(&[&ip0, &ip1]));
    assert_reach(&on_n1.wait(EXIT_TIMEOUT).ok(), &[&ip1], &[&ip2, &ip0]);
    assert_reach(&on_n2.wait(EXIT_TIMEOUT).ok(), &[&ip2], &[&ip1, "web1"]);
    assert_reach(&on_den0.wait(EXIT_TIMEOUT).ok(), &[&ip0], &[&ip1]);
}

#[test]
fn internal_network_reaches_its_peers_but_nothing_outside() {
    let sb = Sandbox::new();
    create(&sb, &["--internal", "priv"]);
    create(&sb, &["open"]);
    let server = PeerServer::start(&sb.out_ns_path(), addr(&format!("{OUT_ADDR}:9000")));
    let (_p, ip) = start_web(&sb, "priv", "p1");
    let (_o, io) = start_web(&sb, "open", "o1");

    let script = format!(
        "ip route; {}; if timeout 3 wget -qO- http://{OUT_ADDR}:9000/; then echo OUT; fi",
        reach(&["p1"])
    );
    let out = probe(&sb, "priv", &script).wait(EXIT_TIMEOUT).ok();
    assert!(!out.stdout.contains("default"), "a default route\n{out}");
    assert_reach(&out, &["p1"], &[]);
    assert!(!out.stdout.contains("OUT"), "{out}");

    // Give both containers a way out by hand (a default route inside, a route back outside):
    // now only den's firewall stands between the internal container and the outside.
    sb.host(&format!(
        "nsenter --net={} ip route add default via {}",
        netns_of(&ip).display(),
        ip.gateway().unwrap()
    ))
    .ok();
    sb.outside(&format!(
        "ip route add {} via {HOST_ADDR}",
        subnet_of(&sb, "priv")
    ))
    .ok();
    let to = addr(&format!("{OUT_ADDR}:9000"));
    // Control: the same path from a normal network works.
    assert_eq!(http_get(&netns_of(&io), to).unwrap(), HOST_ADDR);
    let blocked = http_get(&netns_of(&ip), to);
    assert!(blocked.is_err(), "internal container got out: {blocked:?}");
    // Not even one-way: a datagram never arrives (the reply direction is dropped too).
    let echo = UdpEcho::start(&sb.out_ns_path(), addr(&format!("{OUT_ADDR}:5000")));
    let sent = udp_request(&netns_of(&ip), addr(&format!("{OUT_ADDR}:5000")), b"x");
    assert!(sent.is_err(), "{sent:?}");
    assert!(echo.peers().is_empty(), "{:?}", echo.peers());
    let inbound = http_get(&sb.out_ns_path(), addr(&format!("{}:80", ip.ip().unwrap())));
    assert!(inbound.is_err(), "the outside got in: {inbound:?}");
    assert!(
        server
            .peers()
            .iter()
            .all(|p| p.ip().to_string() == HOST_ADDR),
        "{:?}",
        server.peers()
    );
}

fn subnet_of(sb: &Sandbox, net: &str) -> String {
    let v = network_inspect(sb, net);
    v["IPAM"]["Config"][0]["Subnet"]
        .as_str()
        .unwrap_or_else(|| panic!("no subnet in {v}"))
        .to_string()
}

#[test]
fn ls_and_inspect_show_the_network_and_its_members() {
    let sb = Sandbox::new();
    let id = create(&sb, &["--subnet", "10.77.0.0/24", "lan"]);
    assert_eq!(id.len(), 64, "create prints the network id: {id:?}");
    let (_m1, i1) = start_web(&sb, "lan", "m1");
    let (_m2, i2) = start_web(&sb, "lan", "m2");

    let net = network_inspect(&sb, "lan");
    let bridge = field(&net, &["Options", "com.docker.network.bridge.name"]);
    assert_eq!(bridge, format!("br-{}", &id[..12]));
    assert_eq!(field(&net, &["Id"]), id);
    assert_eq!(net["Internal"], Value::Bool(false));
    assert_eq!(net["IPAM"]["Config"][0]["Subnet"], "10.77.0.0/24");
    assert_eq!(net["IPAM"]["Config"][0]["Gateway"], "10.77.0.1");
    let members = net["Containers"].as_object().expect("Containers object");
    assert_eq!(members.len(), 2, "{net}");
    let links = link_names(&sb.host("ip -o link").ok().stdout);
    for (name, info) in [("m1", &i1), ("m2", &i2)] {
        let m = &members[&info.id().unwrap()];
        assert_eq!(m["Name"], name);
        let ip = info.ip().unwrap();
        assert!(ip.starts_with("10.77.0."), "{ip}");
        assert_eq!(m["IPv4Address"], format!("{ip}/24"));
        assert_eq!(m["MacAddress"], info.mac().unwrap().as_str());
        let veth = info.host_veth().unwrap();
        assert_eq!(m["HostVeth"], veth.as_str());
        assert!(
            links.contains(&format!("{veth} master {bridge}")),
            "{veth} not on {bridge}: {links:?}"
        );
    }

    // docker's columns (NETWORK ID, NAME, DRIVER, SCOPE); den's subnet and bridge by template.
    let ls = sb.den(&["network", "ls"]).ok();
    let row: Vec<&str> = ls
        .stdout
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("lan"))
        .unwrap_or_else(|| panic!("no row for lan\n{ls}"))
        .split_whitespace()
        .collect();
    assert_eq!(row, [&id[..12], "lan", "bridge", "local"]);
    let extra = sb
        .den(&[
            "network",
            "ls",
            "-f",
            "name=lan",
            "--format",
            "{{.Name}} {{.Subnet}} {{.Bridge}}",
        ])
        .ok();
    assert_eq!(
        extra.stdout,
        format!("lan 10.77.0.0/24 {bridge}\n"),
        "{extra}"
    );
    assert!(
        ls.stdout
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some("bridge")),
        "{ls}"
    );
}

#[test]
fn rm_is_refused_while_in_use_and_then_leaves_nothing() {
    let sb = Sandbox::new();
    // den0 and den's table exist after a first container; that is the state to return to.
    sb.den(&["run", "--rm", img(), "true"]).ok();
    let before = sb.footprint();
    create(&sb, &["plain"]);
    create(&sb, &["--internal", "inner"]);
    let (dp, ip) = start_web(&sb, "plain", "user1");
    let (di, ii) = start_web(&sb, "inner", "user2");
    let links = link_names(&sb.host("ip -o link").ok().stdout);
    assert!(
        links.iter().filter(|l| l.starts_with("br-")).count() >= 2,
        "{links:?}"
    );

    let out = sb.den(&["network", "rm", "plain"]);
    assert_rejected(&out, &["user1"]);
    assert!(out.stderr.contains("in use"), "{out}");
    sb.den(&["network", "inspect", "plain"]).ok();

    stop(&sb, &dp, &ip);
    stop(&sb, &di, &ii);
    let out = sb.den(&["network", "rm", "plain", "inner"]).ok();
    assert_eq!(out.stdout, "plain\ninner\n", "{out}");
    sb.assert_footprint(&before, "network create, use and rm");
}

#[test]
fn bad_network_input_is_rejected_and_creates_nothing() {
    let sb = Sandbox::new();
    create(&sb, &["--subnet", "10.77.0.0/24", "taken"]);
    let before: Footprint = sb.footprint();
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["network", "create", "--subnet", "10.77.0.128/25", "x"],
            &["taken"],
        ),
        (
            &["network", "create", "--subnet", "10.250.0.0/16", "x"],
            &["10.250.0.0/24"],
        ),
        (
            &[
                "network",
                "create",
                "--subnet",
                "10.78.0.0/24",
                "--gateway",
                "10.79.0.1",
                "x",
            ],
            &["10.79.0.1"],
        ),
        (&["network", "create", "taken"], &["taken"]),
        (&["network", "create", "bad/name"], &["bad/name"]),
        (&["network", "create", "bridge"], &["bridge"]),
        (
            &["network", "create", "--bridge", "sixteen-chars-xx", "x"],
            &["sixteen-chars-xx"],
        ),
        (&["network", "rm", "bridge"], &["bridge"]),
        (&["network", "rm", "nosuch"], &["nosuch"]),
        (&["network", "inspect", "nosuch"], &["nosuch"]),
        (
            &[
                "run",
                "--rm",
                "--network",
                "nosuch",
                "--name",
                "c",
                "IMG",
                "true",
            ],
            &["network \"nosuch\" not found"],
        ),
    ];
    for (args, culprits) in cases {
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "IMG" { img() } else { a })
            .collect();
        assert_rejected(&sb.den(&args), culprits);
        sb.assert_footprint(&before, &format!("den {}", args.join(" ")));
    }
}

#[test]
fn parallel_creates_pick_distinct_subnets() {
    let sb = Sandbox::new();
    let names: Vec<String> = (0..6).map(|i| format!("p{i}")).collect();
    let dens: Vec<Proc> = names
        .iter()
        .map(|n| sb.den_spawn(&["network", "create", n]))
        .collect();
    for d in &dens {
        d.wait(EXIT_TIMEOUT).ok();
    }
    let mut subnets: Vec<String> = names.iter().map(|n| subnet_of(&sb, n)).collect();
    subnets.push(subnet_of(&sb, "bridge"));
    let mut unique = subnets.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), subnets.len(), "{subnets:?}");
}
