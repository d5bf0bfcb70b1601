//! `--sysctl` (namespaced keys, written in the container's own namespaces, the host's untouched)
//! and `--ulimit` (lowering, as these machines lack CAP_SYS_RESOURCE).

use std::fs;

use den_tests::Sandbox;

use super::{img, run_sh};

#[test]
fn namespaced_sysctls_are_set_inside_only() {
    let sb = Sandbox::new();
    let host = fs::read_to_string("/proc/sys/kernel/shmmax").unwrap();
    let out = run_sh(
        &sb,
        &[
            "--sysctl",
            "kernel.shmmax=12345",
            "--sysctl",
            "net.ipv4.ip_forward=1",
        ],
        img(),
        "cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_forward; \
         echo 1 > /proc/sys/net/ipv4/ip_forward 2>/dev/null || echo still-ro",
    )
    .ok();
    assert_eq!(out.stdout, "12345\n1\nstill-ro\n", "{out}");
    assert_eq!(fs::read_to_string("/proc/sys/kernel/shmmax").unwrap(), host);
}

#[test]
fn ulimits_lower_the_containers_limits() {
    let sb = Sandbox::new();
    let out = run_sh(
        &sb,
        &["--ulimit", "nofile=100:200"],
        img(),
        "ulimit -n; ulimit -Hn",
    )
    .ok();
    assert_eq!(out.stdout, "100\n200\n", "{out}");
}

#[test]
fn a_sysctl_of_the_containers_eth0_is_written_once_its_network_is_attached() {
    // The child builds its root while den attaches the network, but writes sysctls after: eth0
    // exists only then.
    let sb = Sandbox::new();
    let out = sb
        .den(&[
            "run",
            "--rm",
            "--network",
            "bridge",
            "--sysctl",
            "net.ipv4.conf.eth0.route_localnet=1",
            img(),
            "cat",
            "/proc/sys/net/ipv4/conf/eth0/route_localnet",
        ])
        .ok();
    assert_eq!(out.stdout, "1\n", "{out}");
}
