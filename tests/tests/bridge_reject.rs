//! Bad port and address input is rejected with exit 125 and one `den: ` line naming the culprit,
//! and creates nothing (links, firewall entries, leases, containers, mounts).

use den_tests::{assert_rejected, fixtures, Footprint, Sandbox};

fn img() -> &'static str {
    fixtures().dir_arg()
}

/// A sandbox where den has run one bridged container (so den0 and den's table exist),
/// and its footprint.
fn warmed_up() -> (Sandbox, Footprint) {
    let sb = Sandbox::new();
    sb.den(&["run", "--rm", img(), "true"]).ok();
    let fp = sb.footprint();
    (sb, fp)
}

/// Runs `den run --rm OPTS... IMG true`, asserts the rejection contract and that nothing
/// changed.
fn assert_run_rejected(sb: &Sandbox, before: &Footprint, opts: &[&str], culprits: &[&str]) {
    let mut args = vec!["run", "--rm"];
    args.extend(opts);
    args.extend([img(), "true"]);
    assert_rejected(&sb.den(&args), culprits);
    sb.assert_footprint(before, &format!("den {}", args.join(" ")));
}

#[test]
fn rejects_invalid_port_specs() {
    let (sb, before) = warmed_up();
    for (spec, culprit) in [
        ("0:80", "0:80"),
        ("70000:80", "70000"),
        ("abc", "abc"),
        ("80:80/sctpx", "sctpx"),
    ] {
        assert_run_rejected(&sb, &before, &["-p", spec], &[culprit]);
    }
}

#[test]
fn rejects_a_host_port_given_twice() {
    let (sb, before) = warmed_up();
    assert_run_rejected(&sb, &before, &["-p", "8080:80", "-p", "8080:81"], &["8080"]);
}

#[test]
fn rejects_a_host_port_a_running_container_publishes() {
    let sb = Sandbox::new();
    let first = sb.den_spawn(&[
        "run",
        "--rm",
        "--name",
        "first",
        "-p",
        "8080:80",
        img(),
        "sleep",
        "60",
    ]);
    sb.wait_running(&first, "first");
    let before = sb.footprint();
    assert_run_rejected(&sb, &before, &["-p", "8080:80"], &["8080"]);
    assert_eq!(
        sb.inspect("first").ports().len(),
        1,
        "the first container lost its port"
    );
}

#[test]
fn rejects_an_address_outside_the_subnet() {
    let (sb, before) = warmed_up();
    assert_run_rejected(&sb, &before, &["--ip", "10.9.9.9"], &["10.9.9.9"]);
}

#[test]
fn rejects_an_address_already_taken() {
    let sb = Sandbox::new();
    let first = sb.den_spawn(&[
        "run",
        "--rm",
        "--name",
        "first",
        "--ip",
        "172.20.0.77",
        img(),
        "sleep",
        "60",
    ]);
    let info = sb.wait_running(&first, "first");
    assert_eq!(
        info.ip().as_deref(),
        Some("172.20.0.77"),
        "--ip was not applied"
    );
    let before = sb.footprint();
    assert_run_rejected(&sb, &before, &["--ip", "172.20.0.77"], &["172.20.0.77"]);
}

/// The addresses of the subnet no container may hold are named for what they are.
#[test]
fn rejects_the_gateway_network_and_broadcast_addresses_saying_what_they_are() {
    let (sb, before) = warmed_up();
    for (ip, role) in [
        ("172.20.0.1", "172.20.0.1 is network bridge's gateway"),
        (
            "172.20.0.0",
            "172.20.0.0 is network bridge's network address",
        ),
        (
            "172.20.255.255",
            "172.20.255.255 is network bridge's broadcast address",
        ),
    ] {
        assert_run_rejected(&sb, &before, &["--ip", ip], &[role]);
        let out = sb.den(&["run", "--rm", "--ip", ip, img(), "true"]);
        assert!(!out.stderr.contains("outside"), "{out}");
    }
}

/// An internal network forwards nothing in or out, so a published port could only be reached
/// through its gateway address from the host: refused, as netavark does, and nothing is made.
#[test]
fn rejects_publishing_a_port_on_an_internal_network() {
    let (sb, _) = warmed_up();
    sb.den(&["network", "create", "--internal", "back"]).ok();
    let before = sb.footprint();
    assert_run_rejected(
        &sb,
        &before,
        &["--network", "back", "-p", "8080:80"],
        &["internal"],
    );
    let out = sb.den(&[
        "run",
        "--rm",
        "--network",
        "back",
        "-p",
        "8080:80",
        img(),
        "true",
    ]);
    assert!(
        out.stderr.contains("back"),
        "the line names the network\n{out}"
    );
    assert!(
        !sb.host("ip -o link").ok().stdout.contains("master br-"),
        "a veth was made on the internal network"
    );
}

#[test]
fn rejects_an_address_without_a_bridge() {
    let (sb, before) = warmed_up();
    assert_run_rejected(
        &sb,
        &before,
        &["--network", "none", "--ip", "172.20.0.5"],
        &["--ip", "172.20.0.5"],
    );
}
