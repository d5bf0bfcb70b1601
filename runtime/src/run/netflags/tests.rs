use super::*;

fn bridge(n: &str) -> NetworkMode {
    NetworkMode::Bridge(n.into())
}

#[test]
fn dns_flags_replace_their_kind_of_line() {
    let f = NetFlags {
        dns: vec!["10.0.0.53".into()],
        dns_search: vec!["example.com".into(), "lan".into()],
        dns_options: vec!["ndots:2".into()],
        ..Default::default()
    };
    let etc = f.settle(&bridge("bridge")).unwrap().etc;
    let base = "# host\nnameserver 1.1.1.1\nsearch home\noptions edns0\n";
    assert_eq!(
        etc.resolv_conf(base),
        "# host\nnameserver 10.0.0.53\nsearch example.com lan\noptions ndots:2\n"
    );
    let only_dns = EtcSettings {
        dns: vec!["9.9.9.9".parse().unwrap()],
        ..Default::default()
    };
    assert_eq!(
        only_dns.resolv_conf(base),
        "# host\nsearch home\noptions edns0\nnameserver 9.9.9.9\n"
    );
}

#[test]
fn add_host_takes_names_ips_and_the_gateway() {
    let f = NetFlags {
        add_hosts: vec![
            "db:10.1.2.3".into(),
            "v6=::1".into(),
            "gw:host-gateway".into(),
        ],
        ..Default::default()
    };
    let etc = f.settle(&bridge("n")).unwrap().etc;
    assert_eq!(
        etc.hosts_lines(Some("172.18.0.1".parse().unwrap())),
        "10.1.2.3\tdb\n::1\tv6\n172.18.0.1\tgw\n"
    );
}

#[test]
fn bad_values_are_named() {
    let flags = |f: fn(&mut NetFlags)| {
        let mut n = NetFlags::default();
        f(&mut n);
        n
    };
    let cases: Vec<(NetFlags, NetworkMode, &str)> = vec![
        (
            flags(|f| f.dns = vec!["1.2.3.x".into()]),
            bridge("bridge"),
            "\"1.2.3.x\"",
        ),
        (
            flags(|f| f.add_hosts = vec!["nohost".into()]),
            bridge("bridge"),
            "bad format for add-host",
        ),
        (
            flags(|f| f.add_hosts = vec!["a:1.2.3".into()]),
            bridge("bridge"),
            "invalid IP address in add-host: \"1.2.3\"",
        ),
        (
            flags(|f| f.mac = Some("01:00:00:00:00:01".into())),
            bridge("bridge"),
            "multicast",
        ),
        (
            flags(|f| f.mac = Some("02:42:ac:11:00".into())),
            bridge("bridge"),
            "02:42:ac:11:00 is not a valid mac address",
        ),
        (
            flags(|f| f.aliases = vec!["x".into()]),
            bridge("bridge"),
            "user defined networks",
        ),
        (
            flags(|f| f.mac = Some("02:42:ac:11:00:09".into())),
            NetworkMode::Host,
            "conflicting options: mac-address and the network mode",
        ),
        (
            flags(|f| f.expose = vec!["80-x".into()]),
            bridge("bridge"),
            "invalid range format for --expose: 80-x",
        ),
        (
            flags(|f| f.publish_all = true),
            NetworkMode::Container("c".into()),
            "port publishing",
        ),
        (
            flags(|f| f.add_hosts = vec!["g:host-gateway".into()]),
            NetworkMode::None,
            "host-gateway",
        ),
    ];
    for (f, net, want) in cases {
        let e = f.settle(&net).unwrap_err().to_string();
        assert!(e.contains(want), "{f:?}: {e}");
    }
}

#[test]
fn publish_all_adds_random_ports_for_what_p_leaves_out() {
    let p: Vec<PortSpec> = vec!["8080:80".parse().unwrap()];
    let exposed = parse_expose("80-81").unwrap();
    let all = publish_all(&p, &[exposed, vec!["53/udp".into()]].concat());
    assert_eq!(all.len(), 3);
    assert_eq!(all[1].container_ports, (81, 81));
    assert_eq!(all[1].host_ports, None);
    assert_eq!(all[2].proto, Proto::Udp);
}
