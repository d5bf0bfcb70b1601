//! Seed 001's bridged mode: `den network create --uplink IFACE` enslaves the sandbox's own uplink
//! veth to the network's bridge and moves its address and default route there; containers take
//! addresses on that LAN, reached and seen with no NAT; `network rm` gives the uplink back exactly.

use den_tests::{
    addr, assert_rejected, fixtures, http_get, wait_ok, PeerServer, Sandbox, HOST_IF, OUT_ADDR,
    START_TIMEOUT,
};

const WEB: &str =
    "mkdir -p /w && echo lan > /w/index.html && echo ready && exec httpd -f -p 80 -h /w";

/// `ip -j addr show dev HOST_IF` and `ip -j route`, the uplink's state as the kernel prints it.
/// IPv6 duplicate address detection marks a new
/// link-local address "tentative" for about a second: a snapshot taken right after the sandbox
/// is made may or may not catch it, so that flag is left out.
fn uplink_state(sb: &Sandbox) -> (String, String) {
    let a = sb
        .host(&format!("ip -j addr show dev {HOST_IF}"))
        .ok()
        .stdout
        .replace("\"tentative\":true,", "");
    let r = sb.host("ip -j route").ok().stdout;
    (a, r)
}

#[test]
fn containers_join_the_uplinks_lan_without_nat_and_rm_restores_it_exactly() {
    let sb = Sandbox::new();
    let before = uplink_state(&sb);
    // The sandbox's uplink carries its only default route: refused without --force, untouched.
    let refused = sb.den(&["network", "create", "--uplink", HOST_IF, "lan"]);
    assert_rejected(&refused, &["only default route"]);
    assert_eq!(
        uplink_state(&sb),
        before,
        "a refused create changed the uplink"
    );
    sb.den(&["network", "create", "--uplink", HOST_IF, "--force", "lan"])
        .ok();
    let moved = sb.host("ip -4 -o addr; ip route").ok();
    assert!(
        moved.stdout.contains("br-") && moved.stdout.contains("10.250.0.1/24"),
        "{moved}"
    );
    assert!(
        !moved
            .stdout
            .contains(&format!("10.250.0.1/24 scope global {HOST_IF}")),
        "{moved}"
    );
    assert!(
        moved.stdout.contains("default via 10.250.0.2 dev br-"),
        "{moved}"
    );
    let web = sb.den_spawn(&[
        "run",
        "--rm",
        "--name",
        "web",
        "--network",
        "lan",
        fixtures().dir_arg(),
        "sh",
        "-c",
        WEB,
    ]);
    let ip = sb
        .wait_running(&web, "web")
        .ip()
        .expect("an address on lan");
    web.wait_stdout("ready", START_TIMEOUT);
    assert!(
        ip.starts_with("10.250.0.") && ip != "10.250.0.1" && ip != OUT_ADDR,
        "container address {ip}"
    );
    // The outside reaches the container's own address directly: it is on its LAN.
    let page = wait_ok(
        START_TIMEOUT,
        "GET the container's own address from outside",
        || http_get(&sb.out_ns_path(), addr(&format!("{ip}:80"))),
    );
    assert_eq!(page, "lan\n");
    // And sees the container's own address when it connects out: no MASQUERADE.
    let server = PeerServer::start(&sb.out_ns_path(), addr(&format!("{OUT_ADDR}:9000")));
    let fetch = format!("timeout 5 wget -qO- http://{OUT_ADDR}:9000/");
    let out = sb
        .den(&[
            "run",
            "--rm",
            "--network",
            "lan",
            fixtures().dir_arg(),
            "sh",
            "-c",
            &fetch,
        ])
        .ok();
    let seen = out.stdout.trim().to_string();
    assert!(
        seen.starts_with("10.250.0.") && seen != "10.250.0.1",
        "the server saw {seen}\n{out}"
    );
    assert!(
        server.peers().iter().all(|p| p.ip().to_string() == seen),
        "{:?}",
        server.peers()
    );
    sb.den(&["rm", "-f", "web"]).ok();
    web.wait(START_TIMEOUT);
    sb.den(&["network", "rm", "lan"]).ok();
    // Released from the bridge, the link's IPv6 link-local address runs duplicate address
    // detection again ("tentative" for about a second): wait for that, then all is as before.
    if !wait_briefly(|| uplink_state(&sb) == before) {
        assert_eq!(
            uplink_state(&sb),
            before,
            "network rm did not give the uplink back exactly"
        );
    }
    let links = sb.host("ip -o link").ok().stdout;
    assert!(!links.contains("br-"), "the bridge is still there\n{links}");
}

#[test]
fn a_missing_or_unfit_uplink_is_refused_naming_it() {
    let sb = Sandbox::new();
    let before = uplink_state(&sb);
    assert_rejected(
        &sb.den(&["network", "create", "--uplink", "nope0", "--force", "x"]),
        &["nope0"],
    );
    assert_rejected(
        &sb.den(&["network", "create", "--uplink", "lo", "--force", "x"]),
        &["lo"],
    );
    assert_rejected(
        &sb.den(&[
            "network",
            "create",
            "--uplink",
            HOST_IF,
            "--force",
            "--subnet",
            "10.9.0.0/24",
            "x",
        ]),
        &["--uplink"],
    );
    assert_eq!(uplink_state(&sb), before);
    let ls = sb.den(&["network", "ls"]).ok();
    assert!(!ls.stdout.contains(" x "), "{ls}");
}

/// Whether `ok` holds within a few seconds.
fn wait_briefly(mut ok: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if ok() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}
