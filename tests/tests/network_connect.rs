//! `den network connect|disconnect|prune`: a running container gets a second interface (eth1) on
//! another network, reachable from that network's members by address and by name (and alias);
//! disconnect and `rm -f` take everything away again (veth, lease, hosts lines).

use std::fs;

use den_tests::{assert_rejected, fixtures, link_names, Output, Sandbox, EXIT_TIMEOUT};

const WEB: &str = "mkdir -p /var/www && echo hello-den > /var/www/index.html \
                   && exec httpd -f -p 80 -h /var/www";

fn img() -> &'static str {
    fixtures().dir_arg()
}

/// `den network create NAME`, then one container run on it, so that its bridge and firewall
/// rules (made at the first attach, kept with the network) exist before a footprint is taken.
fn create(sb: &Sandbox, name: &str) {
    sb.den(&["network", "create", name]).ok();
    sb.den(&["run", "--rm", "--network", name, img(), "true"])
        .ok();
}

/// `den run -d --name NAME --network NET IMG sh -c WEB`.
fn web(sb: &Sandbox, name: &str, net: &str, extra: &[&str]) {
    let args = [
        &["--name", name, "--network", net][..],
        extra,
        &[img(), "sh", "-c", WEB],
    ]
    .concat();
    sb.run_detached(&args);
}

fn exec(sb: &Sandbox, name: &str, script: &str) -> Output {
    sb.den(&["exec", name, "sh", "-c", script])
}

/// The IPv4 address of `ifname` inside container `name`, if it has one.
fn addr_of(sb: &Sandbox, name: &str, ifname: &str) -> Option<String> {
    let out = exec(
        sb,
        name,
        &format!("ip -o -4 addr show {ifname} 2>/dev/null"),
    );
    let words: Vec<String> = out.stdout.split_whitespace().map(String::from).collect();
    let i = words.iter().position(|w| w == "inet")?;
    Some(words.get(i + 1)?.split('/').next()?.to_string())
}

/// `den run --rm --network NET IMG sh -c 'wget ...'` for each target: `reached T` / `blocked T`.
fn reach(sb: &Sandbox, net: &str, targets: &[&str]) -> String {
    let script: String = targets
        .iter()
        .map(|t| {
            format!(
                "if timeout 3 wget -qO- http://{t}/ >/dev/null 2>&1; then echo reached {t}; \
                 else echo blocked {t}; fi; "
            )
        })
        .collect();
    let out = sb
        .den_spawn(&["run", "--rm", "--network", net, img(), "sh", "-c", &script])
        .wait(EXIT_TIMEOUT)
        .ok();
    out.stdout
}

fn host_links(sb: &Sandbox) -> Vec<String> {
    link_names(&sb.host("ip -o link").ok().stdout)
}

/// The leases of network `net`.
fn leases(sb: &Sandbox, net: &str) -> std::collections::BTreeMap<String, String> {
    sb.leases(net)
}

#[test]
fn connect_gives_a_second_reachable_address_and_disconnect_leaves_nothing() {
    let sb = Sandbox::new();
    create(&sb, "front");
    create(&sb, "back");
    web(&sb, "web", "front", &[]);
    let links = host_links(&sb);
    let back_leases = leases(&sb, "back");
    let nft = sb.host("nft list ruleset").ok().stdout;
    assert!(addr_of(&sb, "web", "eth1").is_none());

    sb.den(&["network", "connect", "--alias", "www", "back", "web"])
        .ok();
    let ip = addr_of(&sb, "web", "eth1").expect("eth1 has an address after connect");
    assert_ne!(Some(ip.clone()), addr_of(&sb, "web", "eth0"));
    let routes = exec(&sb, "web", "ip route").ok().stdout;
    assert_eq!(routes.matches("default").count(), 1, "{routes}");
    assert!(
        routes.contains("dev eth0") && routes.contains("dev eth1"),
        "{routes}"
    );
    let inspect = sb.den(&["network", "inspect", "back"]).ok().stdout;
    assert!(inspect.contains(&ip), "{inspect}");
    let got = reach(&sb, "back", &[&ip, "web", "www"]);
    for t in [ip.as_str(), "web", "www"] {
        assert!(got.contains(&format!("reached {t}")), "{t}: {got}");
    }
    // A second connect to the same network is docker's error, and changes nothing.
    let again = sb.den(&["network", "connect", "back", "web"]);
    assert_rejected(&again, &["already exists in network back"]);

    sb.den(&["network", "disconnect", "back", "web"]).ok();
    assert!(addr_of(&sb, "web", "eth1").is_none());
    let inside = exec(&sb, "web", "ip -o link").ok().stdout;
    assert!(!inside.contains("eth1"), "{inside}");
    assert_eq!(host_links(&sb), links, "a veth is left on the host");
    assert_eq!(leases(&sb, "back"), back_leases, "a lease is left");
    assert_eq!(sb.host("nft list ruleset").ok().stdout, nft);
    let hosts = fs::read_to_string(
        sb.root()
            .join("containers")
            .join(id_of(&sb, "web"))
            .join("hosts"),
    )
    .unwrap();
    assert!(!hosts.contains("network back"), "{hosts}");
    let got = reach(&sb, "back", &[&ip, "web"]);
    assert!(
        got.contains(&format!("blocked {ip}")) && got.contains("blocked web"),
        "{got}"
    );
    // eth0 still serves.
    assert!(reach(&sb, "front", &["web"]).contains("reached web"));
    sb.den(&["rm", "-f", "web"]).ok();
    sb.den(&["network", "rm", "back", "front"]).ok();
}

fn id_of(sb: &Sandbox, name: &str) -> String {
    fs::read_link(sb.root().join("names").join(name))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn rm_of_a_container_on_two_networks_tears_both_down() {
    let sb = Sandbox::new();
    create(&sb, "one");
    create(&sb, "two");
    let links = host_links(&sb);
    let nft = sb.host("nft list ruleset").ok().stdout;
    let (l1, l2) = (leases(&sb, "one"), leases(&sb, "two"));
    web(&sb, "web", "one", &[]);
    web(&sb, "peer", "two", &[]);
    sb.den(&["network", "connect", "two", "web"]).ok();
    let peer_hosts = exec(&sb, "peer", "cat /etc/hosts").ok().stdout;
    assert!(peer_hosts.contains("\tweb "), "{peer_hosts}");
    sb.den(&["rm", "-f", "web", "peer"]).ok();
    assert_eq!(host_links(&sb), links);
    assert_eq!(sb.host("nft list ruleset").ok().stdout, nft);
    assert_eq!((leases(&sb, "one"), leases(&sb, "two")), (l1, l2));
    // Nothing holds the networks now.
    sb.den(&["network", "rm", "one", "two"]).ok();
}

#[test]
fn connect_and_disconnect_refuse_bad_requests_in_one_line() {
    let sb = Sandbox::new();
    create(&sb, "n1");
    web(&sb, "web", "n1", &[]);
    let links = host_links(&sb);
    let cases: &[(&[&str], &str)] = &[
        (&["network", "connect", "nosuch", "web"], "nosuch"),
        (&["network", "connect", "n1", "nobody"], "nobody"),
        (&["network", "connect", "n1", "web"], "already exists"),
        (
            &["network", "connect", "--ip", "10.99.0.9", "bridge", "web"],
            "10.99.0.9",
        ),
        (
            &["network", "connect", "--alias", "x", "bridge", "web"],
            "user defined networks",
        ),
        (
            &["network", "disconnect", "bridge", "web"],
            "is not connected to network bridge",
        ),
        (
            &["network", "create", "--driver", "overlay", "ov"],
            "\"overlay\"",
        ),
        (
            &[
                "network",
                "create",
                "-o",
                "com.docker.network.bridge.foo=1",
                "ov",
            ],
            "com.docker.network.bridge.foo",
        ),
    ];
    for (args, culprit) in cases {
        assert_rejected(&sb.den(args), &[culprit]);
    }
    assert_eq!(host_links(&sb), links);
    sb.den(&["rm", "-f", "web"]).ok();
    // A container that does not run gets the network at its next start; the request is
    // checked now all the same.
    sb.den(&["run", "--name", "done", "--network", "n1", img(), "true"])
        .ok();
    assert_rejected(
        &sb.den(&["network", "connect", "nosuch", "done"]),
        &["nosuch"],
    );
    sb.den(&["network", "connect", "bridge", "done"]).ok();
    assert_rejected(
        &sb.den(&["network", "connect", "bridge", "done"]),
        &["already exists in network bridge"],
    );
}

#[test]
fn create_takes_the_bridge_driver_and_its_name_option_and_prune_removes_unused() {
    let sb = Sandbox::new();
    sb.den(&[
        "network",
        "create",
        "-d",
        "bridge",
        "-o",
        "com.docker.network.bridge.name=br-named",
        "named",
    ])
    .ok();
    let inspect = sb.den(&["network", "inspect", "named"]).ok().stdout;
    assert!(inspect.contains("\"br-named\""), "{inspect}");
    create(&sb, "used");
    web(&sb, "web", "used", &[]);
    let out = sb.den(&["network", "prune", "-f"]).ok();
    assert_eq!(out.stdout, "Deleted Networks:\nnamed\n", "{out}");
    let ls = sb.den(&["network", "ls"]).ok().stdout;
    assert!(ls.contains("used") && !ls.contains("named"), "{ls}");
    // Without -f, a "no" (here: end of input) prunes nothing.
    sb.den(&["rm", "-f", "web"]).ok();
    let out = sb.den(&["network", "prune"]).ok();
    assert!(out.stdout.is_empty(), "{out}");
    assert!(sb.den(&["network", "ls"]).ok().stdout.contains("used"));
}

#[test]
fn gc_collects_both_networks_of_a_container_whose_supervisor_died() {
    let sb = Sandbox::new();
    create(&sb, "one");
    create(&sb, "two");
    let links = host_links(&sb);
    let nft = sb.host("nft list ruleset").ok().stdout;
    let (l1, l2) = (leases(&sb, "one"), leases(&sb, "two"));
    web(&sb, "web", "one", &[]);
    sb.den(&["network", "connect", "two", "web"]).ok();
    let id = id_of(&sb, "web");
    assert!(
        host_links(&sb)
            .iter()
            .any(|l| l.starts_with(&format!("vet1{}", &id[..11]))),
        "no vet1 host veth: {:?}",
        host_links(&sb)
    );
    let state = sb.root().join("containers").join(&id).join("state.json");
    let record: serde_json::Value = serde_json::from_slice(&fs::read(&state).unwrap()).unwrap();
    let supervisor = record["supervisor"][0].as_u64().expect("a supervisor pid") as u32;
    sb.kill_member(supervisor, den_tests::SIGKILL);
    let out = sb.den(&["gc"]).ok();
    assert!(out.stdout.contains("killed container web"), "{out}");
    sb.den(&["rm", "web"]).ok();
    den_tests::wait_until(EXIT_TIMEOUT, "the host veths to go", || {
        host_links(&sb) == links
    });
    assert_eq!((leases(&sb, "one"), leases(&sb, "two")), (l1, l2), "{out}");
    assert_eq!(sb.host("nft list ruleset").ok().stdout, nft);
}

#[test]
fn start_connects_the_networks_again_and_disconnect_of_a_stopped_one_forgets_it() {
    let sb = Sandbox::new();
    create(&sb, "one");
    create(&sb, "two");
    create(&sb, "three");
    sb.den(&["network", "create", "--subnet", "10.66.0.0/24", "four"])
        .ok();
    web(&sb, "web", "one", &[]);
    sb.den(&["network", "connect", "two", "web"]).ok();
    sb.den(&["network", "connect", "three", "web"]).ok();
    let ip2 = addr_of(&sb, "web", "eth1").expect("eth1");
    sb.den(&["stop", "web"]).ok();
    sb.den(&["network", "disconnect", "three", "web"]).ok();
    sb.den(&["start", "web"]).ok();
    assert_eq!(
        addr_of(&sb, "web", "eth1"),
        Some(ip2.clone()),
        "eth1 is back"
    );
    assert!(
        addr_of(&sb, "web", "eth2").is_none(),
        "three was disconnected"
    );
    assert!(reach(&sb, "two", &[&ip2, "web"]).contains("reached web"));
    sb.den(&["rm", "-f", "web"]).ok();
    sb.den(&["network", "rm", "one", "two", "three", "four"])
        .ok();
}

#[test]
fn disconnect_of_the_first_network_takes_its_published_ports_too() {
    let sb = Sandbox::new();
    create(&sb, "n1");
    let links = host_links(&sb);
    let nft = sb.host("nft list ruleset").ok().stdout;
    let l1 = leases(&sb, "n1");
    web(&sb, "web", "n1", &["-p", "8080:80"]);
    assert_ne!(sb.host("nft list ruleset").ok().stdout, nft);
    sb.den(&["network", "disconnect", "n1", "web"]).ok();
    assert!(addr_of(&sb, "web", "eth0").is_none());
    assert_eq!(host_links(&sb), links);
    assert_eq!(leases(&sb, "n1"), l1);
    assert_eq!(sb.host("nft list ruleset").ok().stdout, nft);
    assert_eq!(sb.den(&["port", "web"]).ok().stdout, "");
    let reserved = sb.reserved_ports();
    assert!(!reserved.contains(&id_of(&sb, "web")), "{reserved}");
    sb.den(&["rm", "-f", "web"]).ok();
    assert_eq!(host_links(&sb), links);
}
