//! route_localnet is on for den's bridges (so the host's 127.0.0.1:PORT reaches published
//! ports), and den drops 127.0.0.0/8 destinations arriving on any interface but `lo` before
//! routing: a container's raw frame to the gateway's MAC with destination 127.0.0.1 does not
//! reach the host's 127.0.0.1-only services (CVE-2020-8558's class), while 127.0.0.1:PORT from
//! the host still reaches a published port.

use den_tests::{addr, fixtures, http_get, probe, wait_ok, PeerServer, Sandbox, START_TIMEOUT};

const PROBE: &str = include_str!("localnet_probe.c");

#[test]
fn a_raw_frame_to_127_0_0_1_via_the_bridge_is_dropped_while_published_ports_work() {
    let sb = Sandbox::new();
    let image = probe::image_with_probe(&sb, "with-raw-probe", PROBE);
    // The host's loopback-only service, and a control one on all addresses.
    let secret = PeerServer::start(&sb.host_ns_path(), addr("127.0.0.1:7777"));
    let _open = PeerServer::start(&sb.host_ns_path(), addr("0.0.0.0:7778"));
    let web = sb.den_spawn(&[
        "run",
        "--rm",
        "--name",
        "web",
        "-p",
        "8080:80",
        fixtures().dir_arg(),
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/var/www",
    ]);
    let info = sb.wait_running(&web, "web");
    let gateway = info.gateway().expect("gateway");
    let body = wait_ok(
        START_TIMEOUT,
        "host 127.0.0.1:8080 to the published port",
        || http_get(&sb.host_ns_path(), addr("127.0.0.1:8080")),
    );
    assert!(!body.is_empty());

    let out = sb
        .den(&[
            "run",
            "--rm",
            &image,
            "sh",
            "-c",
            &format!("/probe {gateway} 7778 {gateway}; /probe 127.0.0.1 7777 {gateway}"),
        ])
        .ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    // The probe works: a SYN to the gateway's own address is answered.
    assert_eq!(lines.first(), Some(&"synack"), "control probe\n{out}");
    assert_eq!(
        lines.get(1),
        Some(&"nothing"),
        "127.0.0.1:7777 answered a frame from the container\n{out}"
    );
    assert!(secret.peers().is_empty(), "{:?}", secret.peers());
    // It was den's rule that dropped it.
    let rule = sb.host("nft list chain ip den localnet").ok().stdout;
    assert!(
        !rule.contains("packets 0 "),
        "the localnet rule counted nothing:\n{rule}"
    );
    // And the host's own 127.0.0.1:PORT still works afterwards.
    let again = http_get(&sb.host_ns_path(), addr("127.0.0.1:8080")).expect("127.0.0.1:8080");
    assert!(!again.is_empty());
    sb.den(&["rm", "-f", "web"]).ok();
}
