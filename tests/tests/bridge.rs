//! The default bridge network — published ports (DNAT from outside, from the host
//! and hairpin), MASQUERADE, container-to-container traffic, and clean teardown.

use std::collections::BTreeSet;
use std::time::Duration;

use den_tests::{
    addr, fixtures, http_get, link_names, udp_request, wait_ok, Inspect, PeerServer, Proc, Sandbox,
    UdpEcho, HOST_ADDR, OUT_ADDR, START_TIMEOUT,
};

const EXIT_TIMEOUT: Duration = Duration::from_secs(20);
const GATEWAY: &str = "172.20.0.1";
const PAGE: &str = "hello-den\n";
/// A web server on port 80 inside the container, serving [`PAGE`].
const WEB: &str = "mkdir -p /var/www && echo hello-den > /var/www/index.html && echo ready \
                   && exec httpd -f -p 80 -h /var/www";

fn img() -> &'static str {
    fixtures().dir_arg()
}

/// Starts `den run --rm --name NAME [-p SPEC]... IMG sh -c WEB` and waits for it to run.
fn start_web(sb: &Sandbox, name: &str, publish: &[&str]) -> (Proc, Inspect) {
    let mut args = vec!["run", "--rm", "--name", name];
    for p in publish {
        args.extend(["-p", p]);
    }
    args.extend([img(), "sh", "-c", WEB]);
    let den = sb.den_spawn(&args);
    let info = sb.wait_running(&den, name);
    den.wait_stdout("ready", START_TIMEOUT);
    (den, info)
}

fn get_eventually(sb_ns: &std::path::Path, to: &str) -> String {
    wait_ok(START_TIMEOUT, &format!("http://{to}/"), || {
        http_get(sb_ns, addr(to))
    })
}

/// The IPv4 address in `ip -o -4 addr` output.
fn inet(ip_addr_output: &str) -> Option<String> {
    let words: Vec<&str> = ip_addr_output.split_whitespace().collect();
    let i = words.iter().position(|w| *w == "inet")?;
    Some(words.get(i + 1)?.split('/').next()?.to_string())
}

fn in_den_subnet(ip: &str) -> bool {
    ip.starts_with("172.20.") && ip != GATEWAY
}

#[test]
fn published_port_is_reachable_from_outside() {
    let sb = Sandbox::new();
    start_web(&sb, "web", &["8080:80"]);
    assert_eq!(
        get_eventually(&sb.out_ns_path(), &format!("{HOST_ADDR}:8080")),
        PAGE
    );
}

#[test]
fn published_port_is_reachable_from_the_host_itself() {
    let sb = Sandbox::new();
    start_web(&sb, "web", &["8080:80"]);
    assert_eq!(get_eventually(&sb.host_ns_path(), "127.0.0.1:8080"), PAGE);
    assert_eq!(
        get_eventually(&sb.host_ns_path(), &format!("{HOST_ADDR}:8080")),
        PAGE
    );
}

#[test]
fn published_port_is_reachable_from_another_container() {
    let sb = Sandbox::new();
    start_web(&sb, "web", &["8080:80"]);
    get_eventually(&sb.host_ns_path(), &format!("{HOST_ADDR}:8080"));
    let fetch = format!("timeout 5 wget -qO- http://{HOST_ADDR}:8080/");
    let out = sb.den(&["run", "--rm", img(), "sh", "-c", &fetch]).ok();
    assert_eq!(out.stdout, PAGE, "{out}");
}

#[test]
fn loopback_published_port_is_reachable_only_from_the_host() {
    let sb = Sandbox::new();
    start_web(&sb, "web", &["127.0.0.1:9090:80"]);
    assert_eq!(get_eventually(&sb.host_ns_path(), "127.0.0.1:9090"), PAGE);
    let from_outside = http_get(&sb.out_ns_path(), addr(&format!("{HOST_ADDR}:9090")));
    assert!(
        from_outside.is_err(),
        "reached a 127.0.0.1-only port from outside: {from_outside:?}"
    );
}

#[test]
fn published_udp_port_echoes() {
    let sb = Sandbox::new();
    let den = sb.den_spawn(&[
        "run",
        "--rm",
        "--name",
        "u",
        "-p",
        "5353:53/udp",
        img(),
        "sleep",
        "60",
    ]);
    let pid = sb.wait_running(&den, "u").pid().unwrap();
    // Busybox's nc has no UDP mode: the echo server is the harness's, bound inside the
    // container's network namespace, so the packets take the container's path.
    sb.container_path(pid, "/");
    let echo = UdpEcho::start(
        std::path::Path::new(&format!("/proc/{pid}/ns/net")),
        addr("0.0.0.0:53"),
    );
    let reply = wait_ok(START_TIMEOUT, "a UDP echo through 5353/udp", || {
        udp_request(
            &sb.out_ns_path(),
            addr(&format!("{HOST_ADDR}:5353")),
            b"ping-den",
        )
    });
    assert_eq!(reply, b"ping-den");
    assert!(!echo.peers().is_empty());
}

#[test]
fn outgoing_connections_are_masqueraded() {
    let sb = Sandbox::new();
    let server = PeerServer::start(&sb.out_ns_path(), addr(&format!("{OUT_ADDR}:9000")));
    let script = format!("ip -o -4 addr show eth0; timeout 5 wget -qO- http://{OUT_ADDR}:9000/");
    let out = sb.den(&["run", "--rm", img(), "sh", "-c", &script]).ok();
    let own = inet(&out.stdout).unwrap_or_else(|| panic!("no address on eth0\n{out}"));
    assert!(in_den_subnet(&own), "container address {own}\n{out}");
    assert_eq!(
        out.stdout.lines().last(),
        Some(HOST_ADDR),
        "the server saw another source\n{out}"
    );
    let peers = server.peers();
    assert!(
        !peers.is_empty() && peers.iter().all(|p| p.ip().to_string() == HOST_ADDR),
        "{peers:?}"
    );
}

#[test]
fn containers_on_den0_ping_each_other() {
    let sb = Sandbox::new();
    // Each pings the other, then stays up until told to go (so the other's ping has a peer).
    let script = "echo ready; while [ ! -s /peer ]; do sleep 0.05; done; \
                  ping -c 1 -W 3 $(cat /peer); rc=$?; echo pinged; \
                  while [ ! -e /go ]; do sleep 0.05; done; exit $rc";
    let a = sb.den_spawn(&["run", "--rm", "--name", "a", img(), "sh", "-c", script]);
    let b = sb.den_spawn(&["run", "--rm", "--name", "b", img(), "sh", "-c", script]);
    let (ia, ib) = (sb.wait_running(&a, "a"), sb.wait_running(&b, "b"));
    a.wait_stdout("ready", START_TIMEOUT);
    b.wait_stdout("ready", START_TIMEOUT);
    let (pa, pb) = (ia.pid().unwrap(), ib.pid().unwrap());
    sb.write_in_container(pa, "/peer", &ib.ip().unwrap());
    sb.write_in_container(pb, "/peer", &ia.ip().unwrap());
    a.wait_stdout("pinged", START_TIMEOUT);
    b.wait_stdout("pinged", START_TIMEOUT);
    sb.write_in_container(pa, "/go", "");
    sb.write_in_container(pb, "/go", "");
    a.wait(EXIT_TIMEOUT).ok();
    b.wait(EXIT_TIMEOUT).ok();
}

#[test]
fn host_veths_are_on_den0_and_containers_see_only_lo_and_eth0() {
    let sb = Sandbox::new();
    let mut veths = Vec::new();
    let mut dens = Vec::new();
    for name in ["v1", "v2"] {
        let den = sb.den_spawn(&["run", "--rm", "--name", name, img(), "sleep", "60"]);
        veths.push(
            sb.wait_running(&den, name)
                .host_veth()
                .expect("HostVeth in den inspect"),
        );
        dens.push(den);
    }
    let links = link_names(&sb.host("ip -o link").ok().stdout);
    let on_den0: Vec<&String> = links
        .iter()
        .filter(|l| l.ends_with(" master den0"))
        .collect();
    for v in &veths {
        assert!(
            links.contains(&format!("{v} master den0")),
            "{v} not on den0: {links:?}"
        );
    }
    assert_eq!(on_den0.len(), 2, "{links:?}");
    let inside = sb.den(&["run", "--rm", img(), "ip", "-o", "link"]).ok();
    assert_eq!(link_names(&inside.stdout), vec!["eth0", "lo"], "{inside}");
}

#[test]
fn twenty_parallel_containers_get_distinct_addresses_and_leave_nothing() {
    let sb = Sandbox::new();
    sb.den(&["run", "--rm", img(), "true"]).ok();
    let before = sb.footprint();
    let script = "ip -o -4 addr show eth0; echo ready; while [ ! -e /go ]; do sleep 0.05; done";
    let names: Vec<String> = (0..20).map(|i| format!("p{i}")).collect();
    let dens: Vec<Proc> = names
        .iter()
        .map(|n| sb.den_spawn(&["run", "--rm", "--name", n, img(), "sh", "-c", script]))
        .collect();
    let mut addrs = BTreeSet::new();
    for (den, name) in dens.iter().zip(&names) {
        let out = den.wait_stdout("ready", Duration::from_secs(60));
        let ip = inet(&out).unwrap_or_else(|| panic!("{name} has no address: {out}"));
        assert!(in_den_subnet(&ip), "{name} got {ip}");
        assert!(
            addrs.insert(ip.clone()),
            "{name} got {ip}, already given to another container"
        );
    }
    assert_eq!(addrs.len(), 20);
    for name in &names {
        let pid = sb.inspect(name).pid().unwrap();
        sb.write_in_container(pid, "/go", "");
    }
    for den in &dens {
        den.wait(EXIT_TIMEOUT).ok();
    }
    sb.assert_footprint(&before, "after 20 containers exited");
}

/// A container that prints its view of its network, then sleeps.
fn start_described(sb: &Sandbox) -> (String, Inspect) {
    let script =
        "ip -o link show eth0; ip -o -4 addr show eth0; ip route; echo ready; exec sleep 60";
    let den = sb.den_spawn(&[
        "run",
        "--rm",
        "--name",
        "web",
        "-p",
        "8080:80",
        "-p",
        "5353:53/udp",
        "-p",
        "127.0.0.1:9090:80",
        img(),
        "sh",
        "-c",
        script,
    ]);
    let info = sb.wait_running(&den, "web");
    (den.wait_stdout("ready", START_TIMEOUT), info)
}

#[test]
fn inspect_shows_network_settings() {
    let sb = Sandbox::new();
    let (seen, info) = start_described(&sb);
    let doc = format!("{:#}\ncontainer saw:\n{seen}", info.0);
    assert_eq!(info.ip(), inet(&seen), "{doc}");
    assert_eq!(info.gateway().as_deref(), Some(GATEWAY), "{doc}");
    assert!(seen.contains(&format!("default via {GATEWAY}")), "{doc}");
    let words: Vec<&str> = seen.split_whitespace().collect();
    let mac = words
        .windows(2)
        .find(|w| w[0] == "link/ether")
        .map(|w| w[1].to_lowercase());
    assert_eq!(info.mac().map(|m| m.to_lowercase()), mac, "{doc}");
    assert_eq!(info.bridge().as_deref(), Some("den0"), "{doc}");
    let veth = info
        .host_veth()
        .unwrap_or_else(|| panic!("no HostVeth\n{doc}"));
    let links = link_names(&sb.host("ip -o link").ok().stdout);
    assert!(
        links.contains(&format!("{veth} master den0")),
        "{links:?}\n{doc}"
    );
    let ports: BTreeSet<(String, String, String, String)> = info
        .ports()
        .into_iter()
        .map(|p| (p.host_ip, p.host_port, p.container_port, p.protocol))
        .collect();
    let want: BTreeSet<(String, String, String, String)> = [
        ("0.0.0.0", "8080", "80", "tcp"),
        ("0.0.0.0", "5353", "53", "udp"),
        ("127.0.0.1", "9090", "80", "tcp"),
    ]
    .iter()
    .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
    .collect();
    assert_eq!(ports, want, "{doc}");
}

#[test]
fn port_lists_the_mappings() {
    let sb = Sandbox::new();
    start_described(&sb);
    let out = sb.den(&["port", "web"]).ok();
    let got: BTreeSet<&str> = out
        .stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let want: BTreeSet<&str> = [
        "80/tcp -> 0.0.0.0:8080",
        "53/udp -> 0.0.0.0:5353",
        "80/tcp -> 127.0.0.1:9090",
    ]
    .into();
    assert_eq!(got, want, "{out}");
}
