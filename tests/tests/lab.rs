//! Seed 001's lab modes: `--network hostonly` (a veth straight to the host, a /31 of its own, no
//! bridge, no NAT) and `--network isolated` (lo and a dummy0 with an address, no way out).

use den_tests::{assert_rejected, fixtures, Sandbox, OUT_ADDR};

fn img() -> &'static str {
    fixtures().dir_arg()
}

#[test]
fn hostonly_reaches_the_host_and_nothing_else() {
    let sb = Sandbox::new();
    // The first run makes den's lasting network lock file, as a bridged run does.
    sb.den(&["run", "--rm", "--network", "hostonly", img(), "true"])
        .ok();
    let before = sb.footprint();
    // The host end is the other address of the container's /31.
    let script = format!(
        "ip -o -4 addr show eth0; ip route; \
         host=$(ip route | awk '/dev eth0/ {{split($1, a, \"/\"); print a[1]; exit}}'); \
         ping -c1 -W2 $host >/dev/null && echo host-ok; \
         ping -c1 -W1 {OUT_ADDR} >/dev/null 2>&1 || echo outside-unreachable; \
         ip link | grep -c 'master' || true"
    );
    let out = sb
        .den(&[
            "run",
            "--rm",
            "--network",
            "hostonly",
            img(),
            "sh",
            "-c",
            &script,
        ])
        .ok();
    let s = &out.stdout;
    assert!(s.contains("inet 169.254.") && s.contains("/31"), "{out}");
    assert!(
        s.contains("host-ok"),
        "the container cannot reach the host\n{out}"
    );
    assert!(
        s.contains("outside-unreachable"),
        "the container reached the outside\n{out}"
    );
    assert!(
        !s.contains("default"),
        "hostonly has no default route\n{out}"
    );
    // No bridge and no NAT on the host: den's table is not even made.
    let nft = sb.host("nft list tables").ok();
    assert!(!nft.stdout.contains("table ip den"), "{nft}");
    sb.assert_footprint(&before, "after a hostonly container exited");
}

#[test]
fn hostonly_containers_get_distinct_pairs() {
    let sb = Sandbox::new();
    let a = sb.den_spawn(&[
        "run",
        "--rm",
        "--name",
        "a",
        "--network",
        "hostonly",
        img(),
        "sleep",
        "30",
    ]);
    let b = sb.den_spawn(&[
        "run",
        "--rm",
        "--name",
        "b",
        "--network",
        "hostonly",
        img(),
        "sleep",
        "30",
    ]);
    sb.wait_running(&a, "a");
    sb.wait_running(&b, "b");
    let host = sb
        .host("ip -o -4 addr show | grep 169.254 | awk '{print $4}' | sort")
        .ok();
    let nets: Vec<&str> = host.stdout.lines().collect();
    assert_eq!(nets.len(), 2, "{host}");
    assert_ne!(nets[0], nets[1], "{host}");
    sb.den(&["rm", "-f", "a", "b"]).ok();
}

#[test]
fn isolated_has_lo_and_dummy0_or_says_the_kernel_lacks_dummy() {
    let sb = Sandbox::new();
    let before = sb.footprint();
    let probe = sb.host("ip link add dtdummy type dummy && ip link del dtdummy");
    let script =
        format!("ip -o -4 addr; ping -c1 -W1 {OUT_ADDR} >/dev/null 2>&1 || echo no-way-out");
    let out = sb.den(&[
        "run",
        "--rm",
        "--network",
        "isolated",
        img(),
        "sh",
        "-c",
        &script,
    ]);
    if !probe.success() {
        eprintln!(
            "skipping the dummy0 checks: `ip link add type dummy` fails on this kernel ({}); checking den says so",
            probe.stderr.trim()
        );
        assert_rejected(&out, &["dummy"]);
        sb.assert_footprint(&before, "after a refused isolated run");
        return;
    }
    let out = out.ok();
    assert!(
        out.stdout.contains("dummy0") && out.stdout.contains("192.168.222.10/24"),
        "{out}"
    );
    assert!(out.stdout.contains("no-way-out"), "{out}");
    sb.assert_footprint(&before, "after an isolated container exited");
}
