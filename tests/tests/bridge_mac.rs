//! Every bridge den makes has a MAC of its own, the same before, during and after containers:
//! without one the kernel gives a bridge the lowest of its ports' MACs (00:00:00:00:00:00 with
//! none), so the gateway's entry in containers' ARP caches would go stale as others come and go.

use den_tests::{fixtures, Sandbox};

fn img() -> &'static str {
    fixtures().dir_arg()
}

/// The MAC of link `dev` in the sandbox's host netns.
fn mac(sb: &Sandbox, dev: &str) -> String {
    let out = sb.host(&format!("ip -o link show {dev}")).ok();
    let mut words = out.stdout.split_whitespace();
    words
        .find(|w| *w == "link/ether")
        .and_then(|_| words.next())
        .unwrap_or_else(|| panic!("no MAC in {out}"))
        .to_string()
}

fn sleeper(sb: &Sandbox, net: &str, name: &str) -> den_tests::Proc {
    let den = sb.den_spawn(&[
        "run",
        "--rm",
        "--name",
        name,
        "--network",
        net,
        img(),
        "sleep",
        "60",
    ]);
    sb.wait_running(&den, name);
    den
}

fn assert_stable(sb: &Sandbox, net: &str, bridge: &str) {
    // The first attach makes the bridge; its MAC is there before any port joins for good.
    sb.den(&["run", "--rm", "--network", net, img(), "true"])
        .ok();
    let before = mac(sb, bridge);
    assert_ne!(
        before, "00:00:00:00:00:00",
        "{bridge} has no MAC of its own"
    );
    let a = sleeper(sb, net, &format!("{net}-a"));
    let with_one = mac(sb, bridge);
    let b = sleeper(sb, net, &format!("{net}-b"));
    let with_two = mac(sb, bridge);
    sb.den(&["rm", "-f", &format!("{net}-a")]).ok();
    let a_gone = mac(sb, bridge);
    sb.den(&["rm", "-f", &format!("{net}-b")]).ok();
    let after = mac(sb, bridge);
    for (when, m) in [
        ("with one container", with_one),
        ("with two", with_two),
        ("after the first left", a_gone),
        ("with none again", after),
    ] {
        assert_eq!(m, before, "{bridge}'s MAC changed {when}");
    }
    drop((a, b));
}

#[test]
fn den0_keeps_its_mac_as_containers_come_and_go() {
    let sb = Sandbox::new();
    assert_stable(&sb, "bridge", "den0");
}

#[test]
fn a_user_network_bridge_keeps_its_mac_and_differs_from_den0() {
    let sb = Sandbox::new();
    sb.den(&["network", "create", "--bridge", "br-mac", "front"])
        .ok();
    assert_stable(&sb, "front", "br-mac");
    sb.den(&["run", "--rm", img(), "true"]).ok();
    assert_ne!(mac(&sb, "den0"), mac(&sb, "br-mac"));
}
