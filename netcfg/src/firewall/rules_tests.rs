use super::*;
use crate::ports::Proto;

fn mapping(ip: &str, hp: u16, cp: u16, proto: Proto) -> PortMapping {
    PortMapping {
        host_ip: ip.parse().unwrap(),
        host_port: hp,
        container_port: cp,
        proto,
    }
}

fn web<'a>(ports: &'a [PortMapping]) -> ContainerRules<'a> {
    ContainerRules {
        id: "0123456789abcdef0123",
        name: "web",
        ip: "172.30.0.2".parse().unwrap(),
        ports,
    }
}

#[test]
fn container_elements_go_to_the_map_of_their_host_address() {
    let ports = [
        mapping("0.0.0.0", 8080, 80, Proto::Tcp),
        mapping("127.0.0.1", 5353, 53, Proto::Udp),
    ];
    assert_eq!(
        add_elements(&container_elements(&web(&ports))),
        "add element ip den published { tcp . 8080 comment \"den: container web (0123456789ab) -p 8080:80/tcp\" : 172.30.0.2 . 80 }\n\
         add element ip den published_on { 127.0.0.1 . udp . 5353 comment \"den: container web (0123456789ab) -p 127.0.0.1:5353:53/udp\" : 172.30.0.2 . 53 }\n"
    );
    assert_eq!(
        delete_elements(&container_elements(&web(&ports))),
        "delete element ip den published { tcp . 8080 }\n\
         delete element ip den published_on { 127.0.0.1 . udp . 5353 }\n"
    );
}

#[test]
fn comments_cannot_break_out_of_quotes_and_fit_nft_limit() {
    assert_eq!(comment("a\"b\\c\nd é"), "a_b_c_d _");
    let long = "x".repeat(300);
    let c = container_comment(&long, "id", &mapping("0.0.0.0", 1, 2, Proto::Tcp));
    assert_eq!(c.len(), 128);
    assert!(c.ends_with(" (id) -p 1:2/tcp"), "{c}");
}

#[test]
fn ifnames() {
    assert!(valid_ifname("den0"));
    assert!(valid_ifname("br-0123456789a"));
    assert!(!valid_ifname(""));
    assert!(
        !valid_ifname("0123456789abcdef"),
        "16 bytes is one too many"
    );
    assert!(!valid_ifname("den\"0"));
    assert!(!valid_ifname("a b"));
    assert!(!valid_ifname("a/b"));
}

#[test]
fn network_elements_use_the_network_address_and_masquerade_flag() {
    let subnet = "172.30.5.1/16".parse().unwrap();
    let on = ensure_network("bridge", "den0", subnet, true, &[]);
    assert!(on.starts_with(BASE));
    let tail = &on[BASE.len()..];
    assert_eq!(
        tail,
        "add element ip den networks { 172.30.0.0/16 . \"den0\" comment \"den: network bridge (den0)\" }\n\
         add element ip den bridges { \"den0\" }\n\
         add element ip den masq_nets { 172.30.0.0/16 comment \"den: network bridge (den0)\" }\n\
         add element ip den internal { \"den0\" }\n\
         delete element ip den internal { \"den0\" }\n"
    );
}

#[test]
fn internal_networks_are_not_masqueraded_and_are_in_the_internal_set() {
    let subnet = "10.9.0.0/24".parse().unwrap();
    let off = ensure_network("secret", "br-x", subnet, false, &["den0", "br-x"]);
    assert_eq!(
        &off[BASE.len()..],
        "add element ip den networks { 10.9.0.0/24 . \"br-x\" comment \"den: network secret (br-x)\" }\n\
         add element ip den bridges { \"br-x\", \"den0\" }\n\
         add element ip den internal { \"br-x\" comment \"den: network secret (br-x)\" }\n\
         add element ip den masq_nets { 10.9.0.0/24 }\n\
         delete element ip den masq_nets { 10.9.0.0/24 }\n"
    );
    // Removal leaves none of the three elements, whichever kind the network was.
    let rm = remove_network("br-x", subnet);
    assert!(
        rm.starts_with("add set ip den bridges { type ifname;"),
        "{rm}"
    );
    for set in ["networks", "masq_nets", "internal", "bridges"] {
        assert!(
            rm.contains(&format!("delete element ip den {set} {{")),
            "{set}: {rm}"
        );
    }
}

#[test]
fn isolation_rules_come_before_any_accept_in_forward() {
    let forward: Vec<&str> = BASE
        .lines()
        .filter(|l| l.starts_with("add rule ip den forward "))
        .collect();
    let first_accept = forward.iter().position(|l| l.contains(" accept ")).unwrap();
    for (i, l) in forward.iter().enumerate() {
        if l.contains("@internal") {
            assert!(l.contains(" drop "), "{l}");
            assert!(i < first_accept, "{l}");
        }
    }
    assert!(forward.last().unwrap().contains(" drop "));
}

#[test]
fn forward_decides_packets_not_into_a_network_by_one_hash_lookup() {
    let forward: Vec<&str> = BASE
        .lines()
        .filter(|l| l.starts_with("add rule ip den forward "))
        .collect();
    // After the two --internal drops, the bridges test comes before anything that walks the
    // interval set `networks` or conntrack.
    assert!(
        forward[2].contains("oifname != @bridges accept"),
        "{forward:?}"
    );
    for l in &forward[..2] {
        assert!(l.contains("@internal"), "{l}");
    }
    let est = forward.iter().position(|l| l.contains("ct state")).unwrap();
    assert_eq!(est, 3, "replies right after: {forward:?}");
    assert!(!forward[est].contains("@networks"), "{}", forward[est]);
    // The set the rule names is declared before it, in the same text.
    let decl = BASE.find("add set ip den bridges ").unwrap();
    assert!(decl < BASE.find("@bridges").unwrap());
}

#[test]
fn loopback_destinations_from_any_interface_but_lo_drop_before_routing() {
    // Hooked before conntrack and NAT (priority raw): a reply to host 127.0.0.1 -> published port
    // still has the bridge gateway as its destination there (masqueraded), so it passes.
    assert!(BASE.contains(
        "add chain ip den localnet { type filter hook prerouting priority raw; policy accept; }"
    ));
    let rules: Vec<&str> = BASE
        .lines()
        .filter(|l| l.starts_with("add rule ip den localnet "))
        .collect();
    assert_eq!(rules.len(), 1, "{rules:?}");
    assert!(
        rules[0].contains(r#"ip daddr 127.0.0.0/8 iifname != "lo" counter drop"#),
        "{}",
        rules[0]
    );
}

#[test]
fn base_rules_are_restated_after_a_flush() {
    // Each chain that gets rules is flushed first in the same transaction (idempotence).
    for chain in ["prerouting", "output", "postrouting", "forward", "localnet"] {
        let flush = BASE
            .find(&format!("flush chain ip den {chain}\n"))
            .expect(chain);
        let first_rule = BASE
            .find(&format!("add rule ip den {chain} "))
            .expect(chain);
        assert!(flush < first_rule, "{chain}");
    }
    // Nothing in the base removes elements or touches other tables.
    for line in BASE.lines() {
        assert!(line.contains(" ip den "), "{line}");
        assert!(
            !line.starts_with("delete")
                && !line.starts_with("flush set")
                && !line.starts_with("flush map")
        );
    }
}
