//! The firewall against the real kernel (root). Every test runs in network namespaces it creates:
//! a thread that unshared its netns (gone with the thread), or named `den-fw-*` namespaces deleted
//! by a Drop guard. The machine's own ruleset is never touched.

#[path = "firewall/sandbox.rs"]
mod sandbox;

use std::net::Ipv4Addr;
use std::process::Command;

use den_netcfg::firewall::{ContainerRules, Firewall};
use den_netcfg::ports::{PortMapping, Proto};
use sandbox::in_new_netns;

/// den's default network `bridge` on den0, 172.30.0.0/16, masqueraded.
fn ensure_den0(fw: &mut Firewall) {
    fw.ensure_network(
        "bridge",
        "den0",
        "172.30.0.0/16".parse().unwrap(),
        true,
        &[],
    )
    .unwrap();
}

fn m(ip: &str, hp: u16, cp: u16, proto: Proto) -> PortMapping {
    PortMapping {
        host_ip: ip.parse().unwrap(),
        host_port: hp,
        container_port: cp,
        proto,
    }
}

/// `nft list ruleset` of the calling thread's netns (a child inherits the thread's namespaces).
fn ruleset() -> String {
    let out = Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn nft(cmd: &str) {
    let out = Command::new("nft").arg(cmd).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn container<'a>(name: &'a str, ip: &str, ports: &'a [PortMapping]) -> ContainerRules<'a> {
    ContainerRules {
        id: "0123456789abcdef",
        name,
        ip: ip.parse().unwrap(),
        ports,
    }
}

const OTHER: &str = "add table inet other
add chain inet other input { type filter hook input priority 0; policy accept; }
add rule inet other input tcp dport 22 accept";

#[test]
fn ensure_network_is_idempotent_and_leaves_other_tables_alone() {
    in_new_netns(|| {
        nft(OTHER);
        let other_before = ruleset();
        let mut fw = Firewall::new().unwrap();
        ensure_den0(&mut fw);
        let once = ruleset();
        ensure_den0(&mut fw);
        assert_eq!(
            ruleset(),
            once,
            "a second ensure_network changed the ruleset"
        );
        assert_eq!(once.matches(" masquerade comment").count(), 3, "{once}");
        // moby#45610 and isolation between networks, --internal's two directions, and 127.0.0.0/8
        // from anywhere but lo (CVE-2020-8558).
        assert_eq!(once.matches(" drop ").count(), 4, "{once}");
        assert!(
            once.starts_with(other_before.trim_end()),
            "table inet other changed:\n{once}"
        );

        // A second network adds elements, not rules; the first network's elements stay.
        fw.ensure_network("n2", "den1", "172.31.0.0/16".parse().unwrap(), false, &[])
            .unwrap();
        let two = ruleset();
        assert_eq!(two.matches(" masquerade comment").count(), 3, "{two}");
        assert!(
            two.contains(r#"172.30.0.0/16 . "den0" comment "den: network bridge (den0)""#),
            "{two}"
        );
        assert!(
            two.contains(r#"172.31.0.0/16 . "den1" comment "den: network n2 (den1)""#),
            "{two}"
        );
        let masq = two
            .split("set masq_nets")
            .nth(1)
            .unwrap()
            .split('}')
            .next()
            .unwrap()
            .to_string();
        assert!(
            masq.contains("172.30.0.0/16") && !masq.contains("172.31"),
            "{masq}"
        );

        // Existing container elements survive ensure_network.
        let ports = [m("0.0.0.0", 8080, 80, Proto::Tcp)];
        fw.add_container(&container("web", "172.30.0.2", &ports))
            .unwrap();
        ensure_den0(&mut fw);
        assert_eq!(fw.published().unwrap().len(), 1);

        fw.remove_network("n2", "den1", "172.31.0.0/16".parse().unwrap())
            .unwrap();
        fw.remove_network("n2", "den1", "172.31.0.0/16".parse().unwrap())
            .unwrap();
        let after = ruleset();
        assert!(!after.contains("172.31."), "{after}");
        assert!(after.contains("172.30.0.0/16"), "{after}");
        assert!(
            after.starts_with(other_before.trim_end()),
            "table inet other changed:\n{after}"
        );
    });
}

#[test]
fn containers_publish_and_unpublish_exactly_their_elements() {
    in_new_netns(|| {
        let mut fw = Firewall::new().unwrap();
        assert!(
            fw.published().unwrap().is_empty(),
            "no table yet: nothing published"
        );
        ensure_den0(&mut fw);
        let a_ports = [
            m("0.0.0.0", 8080, 80, Proto::Tcp),
            m("127.0.0.1", 5353, 53, Proto::Udp),
        ];
        let b_ports = [m("0.0.0.0", 9090, 80, Proto::Tcp)];
        let a = container("a", "172.30.0.2", &a_ports);
        let b = container("b", "172.30.0.3", &b_ports);
        fw.add_container(&a).unwrap();
        fw.add_container(&b).unwrap();

        let mut got = fw.published().unwrap();
        got.sort_by_key(|(m, _, _)| m.host_port);
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        assert_eq!(
            got,
            [
                (
                    a_ports[1].clone(),
                    ip("172.30.0.2"),
                    "den: container a (0123456789ab) -p 127.0.0.1:5353:53/udp".into()
                ),
                (
                    a_ports[0].clone(),
                    ip("172.30.0.2"),
                    "den: container a (0123456789ab) -p 8080:80/tcp".into()
                ),
                (
                    b_ports[0].clone(),
                    ip("172.30.0.3"),
                    "den: container b (0123456789ab) -p 9090:80/tcp".into()
                ),
            ]
        );

        fw.remove_container(&a).unwrap();
        fw.remove_container(&a).unwrap();
        let left: Vec<PortMapping> = fw
            .published()
            .unwrap()
            .into_iter()
            .map(|(m, _, _)| m)
            .collect();
        assert_eq!(left, b_ports);
        fw.remove_container(&b).unwrap();
        assert!(fw.published().unwrap().is_empty());
    });
}

#[test]
fn a_taken_host_port_fails_the_whole_transaction() {
    in_new_netns(|| {
        let mut fw = Firewall::new().unwrap();
        ensure_den0(&mut fw);
        let a_ports = [m("0.0.0.0", 8080, 80, Proto::Tcp)];
        fw.add_container(&container("a", "172.30.0.2", &a_ports))
            .unwrap();
        let b_ports = [
            m("0.0.0.0", 7070, 70, Proto::Tcp),
            m("0.0.0.0", 8080, 80, Proto::Tcp),
        ];
        let b = container("b", "172.30.0.3", &b_ports);
        let e = fw.add_container(&b).unwrap_err();
        // The whole error, nft's report included, if it is not the one expected.
        assert_eq!(
            e.to_string(),
            "publishing ports of container b: host port 0.0.0.0:8080/tcp is already published \
             (den: container a (0123456789ab) -p 8080:80/tcp)",
            "{e:?}"
        );
        let left: Vec<PortMapping> = fw
            .published()
            .unwrap()
            .into_iter()
            .map(|(m, _, _)| m)
            .collect();
        assert_eq!(left, a_ports, "nothing of b's transaction was applied");

        // A stale teardown of b (whose 8080 never got in) must not remove a's 8080.
        fw.remove_container(&b).unwrap();
        assert_eq!(fw.published().unwrap().len(), 1);
    });
}

#[test]
fn missing_table_and_invalid_input() {
    in_new_netns(|| {
        let mut fw = Firewall::new().unwrap();
        let ports = [m("0.0.0.0", 8080, 80, Proto::Tcp)];
        // Teardown without a table is fine; publishing without a network is an nft error.
        fw.remove_container(&container("a", "172.30.0.2", &ports))
            .unwrap();
        fw.remove_network("bridge", "den0", "172.30.0.0/16".parse().unwrap())
            .unwrap();
        let e = fw
            .add_container(&container("a", "172.30.0.2", &ports))
            .unwrap_err();
        let line = den_netcfg::one_line(&e);
        assert!(
            line.starts_with("publishing ports of container a: nft: "),
            "{line}"
        );

        let e = fw
            .ensure_network("x", "den\"0", "10.0.0.0/8".parse().unwrap(), true, &[])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "setting up the firewall of network x: invalid bridge name \"den\\\"0\" (1-15 characters of A-Z a-z 0-9 _ . -)"
        );
        let zero = [m("0.0.0.0", 0, 80, Proto::Tcp)];
        let e = fw
            .add_container(&container("a", "172.30.0.2", &zero))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "publishing ports of container a: invalid mapping 0.0.0.0:0->80/tcp (port 0)"
        );
        assert!(ruleset().trim().is_empty(), "failed calls created nothing");
    });
}

#[test]
fn render_matches_what_runs() {
    let ports = [m("0.0.0.0", 8080, 80, Proto::Tcp)];
    let text = Firewall::render_add_container(&container("web", "172.30.0.2", &ports));
    assert_eq!(
        text,
        "add element ip den published { tcp . 8080 comment \"den: container web (0123456789ab) -p 8080:80/tcp\" : 172.30.0.2 . 80 }\n"
    );
    in_new_netns(move || {
        let mut fw = Firewall::new().unwrap();
        ensure_den0(&mut fw);
        let out = Command::new("nft")
            .args(["-f", "-"])
            .stdin(std::process::Stdio::piped())
            .spawn();
        let mut child = out.unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
        assert_eq!(fw.published().unwrap()[0].0, ports[0]);
    });
}

/// Real packets: host netns H with bridge den-t0 172.30.0.1/16 and uplink 10.250.0.1/24 to an
/// "outside" netns O (10.250.0.2); a "container" netns C at 172.30.0.2 behind a veth on den-t0.
/// Servers (threads) answer with the peer address they see.
#[test]
fn packets_reach_published_ports_and_nothing_else() {
    use sandbox::{Netns, Server};
    let (h, c, o) = (Netns::new("h"), Netns::new("c"), Netns::new("o"));
    for cmd in [
        "link set lo up",
        "link add den-t0 type bridge",
        "addr add 172.30.0.1/16 dev den-t0",
        "link set den-t0 up",
        &format!("link add vc0 type veth peer name eth0 netns {}", c.name),
        "link set vc0 master den-t0",
        "link set vc0 type bridge_slave hairpin on",
        "link set vc0 up",
        &format!("link add t-up type veth peer name eth0 netns {}", o.name),
        "addr add 10.250.0.1/24 dev t-up",
        "link set t-up up",
    ] {
        h.ip(cmd);
    }
    for cmd in [
        "addr add 172.30.0.2/16 dev eth0",
        "link set eth0 up",
        "route add default via 172.30.0.1",
    ] {
        c.ip(cmd);
    }
    // O routes the container subnet and 127.0.0.0/8 (its lo stays down: no local 127/8) via H, as
    // a hostile neighbour could.
    for cmd in [
        "addr add 10.250.0.2/24 dev eth0",
        "link set eth0 up",
        "route add 172.30.0.0/16 via 10.250.0.1",
    ] {
        o.ip(cmd);
    }
    o.ip("route add 127.0.0.0/8 via 10.250.0.1");
    // ...and accepts replies from 127.0.0.1, so an unguarded DNAT would complete the handshake.
    o.sysctl("net/ipv4/conf/eth0/route_localnet", "1");
    h.sysctl("net/ipv4/ip_forward", "1");
    h.sysctl("net/ipv4/conf/den-t0/route_localnet", "1");
    let (_web, _dns, _far) = (
        Server::tcp(&c, 80),
        Server::udp(&c, 53),
        Server::tcp(&o, 7000),
    );

    // Control: before den's table exists, O reaches the container directly (so the drop below is den's).
    assert_eq!(o.tcp_ask("172.30.0.2:80").unwrap(), "10.250.0.2");

    let ports = [
        m("0.0.0.0", 8080, 80, Proto::Tcp),
        m("127.0.0.1", 9090, 80, Proto::Tcp),
        m("0.0.0.0", 5353, 53, Proto::Udp),
    ];
    let web = ContainerRules {
        id: "0123456789abcdef",
        name: "web",
        ip: "172.30.0.2".parse().unwrap(),
        ports: &ports,
    };
    let subnet = "172.30.0.0/16".parse().unwrap();
    h.run(|| {
        let mut fw = Firewall::new().unwrap();
        fw.ensure_network("bridge", "den-t0", subnet, true, &[])
            .unwrap();
        fw.add_container(&web).unwrap();
    });

    // From the host: loopback (masqueraded to the bridge address), its own addresses.
    assert_eq!(h.tcp_ask("127.0.0.1:8080").unwrap(), "172.30.0.1");
    assert_eq!(h.tcp_ask("127.0.0.1:9090").unwrap(), "172.30.0.1");
    assert_eq!(h.tcp_ask("10.250.0.1:8080").unwrap(), "10.250.0.1");
    assert_eq!(h.tcp_ask("172.30.0.1:8080").unwrap(), "172.30.0.1");
    // From outside: DNAT keeps the client's address; tcp and udp.
    assert_eq!(o.tcp_ask("10.250.0.1:8080").unwrap(), "10.250.0.2");
    assert_eq!(o.udp_ask("10.250.0.1:5353").unwrap(), "10.250.0.2");
    // Not from outside: a 127.0.0.1-only publish, even addressed to 127.0.0.1 (CVE-2020-8558);
    // the container's unpublished address (moby#45610).
    assert!(o.tcp_ask("10.250.0.1:9090").is_err());
    assert!(o.tcp_ask("127.0.0.1:9090").is_err());
    assert!(o.tcp_ask("127.0.0.1:8080").is_err());
    assert!(o.tcp_ask("172.30.0.2:80").is_err());
    // From the container: outside is masqueraded; its own published port via the host (hairpin).
    assert_eq!(c.tcp_ask("10.250.0.2:7000").unwrap(), "10.250.0.1");
    assert_eq!(c.tcp_ask("10.250.0.1:8080").unwrap(), "172.30.0.1");

    h.run(|| {
        let mut fw = Firewall::new().unwrap();
        fw.ensure_network("bridge", "den-t0", subnet, false, &[])
            .unwrap();
        fw.remove_container(&web).unwrap();
    });
    // Unpublished; masquerade off is an --internal network: nothing is forwarded between its
    // bridge and the outside, even though the container still has a route and O one back.
    assert!(o.tcp_ask("10.250.0.1:8080").is_err());
    assert!(h.tcp_ask("127.0.0.1:8080").is_err());
    assert!(c.tcp_ask("10.250.0.2:7000").is_err());
    assert!(o.tcp_ask("172.30.0.2:80").is_err());

    // Back to a normal network without the container's ports: outside reachable, masqueraded.
    h.run(|| {
        let mut fw = Firewall::new().unwrap();
        fw.ensure_network("bridge", "den-t0", subnet, true, &[])
            .unwrap();
    });
    assert_eq!(c.tcp_ask("10.250.0.2:7000").unwrap(), "10.250.0.1");
}
