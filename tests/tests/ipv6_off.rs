//! den's networks are IPv4 only, so a container's interface on one has no IPv6 (as docker 26+ does
//! for networks without IPv6): no link-local address, and none of its multicast (DAD, MLD reports,
//! router solicitations), which the bridge would flood to every other container. The netns's
//! default for new interfaces stays the kernel's; `--sysctl` turns it back on.

use std::time::{Duration, Instant};

use den_tests::{fixtures, Proc, Sandbox, START_TIMEOUT};

const EXIT_TIMEOUT: Duration = Duration::from_secs(20);
/// Prints its interface's IPv6 state, then waits to be stopped.
const SHOW: &str = "cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6; \
                    echo default=$(cat /proc/sys/net/ipv6/conf/default/disable_ipv6); \
                    ip -o -6 addr; echo ready; \
                    while [ ! -e /go ]; do sleep 0.05; done";

fn start(sb: &Sandbox, name: &str, extra: &[&str]) -> Proc {
    let mut args = vec!["run", "--rm", "--name", name];
    args.extend(extra);
    args.extend([fixtures().dir_arg(), "sh", "-c", SHOW]);
    let den = sb.den_spawn(&args);
    sb.wait_running(&den, name);
    den.wait_stdout("ready", START_TIMEOUT);
    den
}

/// Multicast frames den0 has received (`ip -s link`'s RX mcast).
fn bridge_multicast(sb: &Sandbox) -> u64 {
    let text = sb.host("ip -j -s link show den0").ok().stdout;
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    v[0]["stats64"]["rx"]["multicast"]
        .as_u64()
        .unwrap_or_else(|| panic!("no rx multicast in {text}"))
}

fn stop(sb: &Sandbox, den: &Proc, name: &str) {
    sb.write_in_container(sb.inspect(name).pid().unwrap(), "/go", "");
    den.wait(EXIT_TIMEOUT).ok();
}

#[test]
fn containers_have_no_ipv6_on_eth0_and_flood_no_multicast_to_the_bridge() {
    let sb = Sandbox::new();
    let dens: Vec<Proc> = ["a", "b", "c"].iter().map(|n| start(&sb, n, &[])).collect();
    for den in &dens {
        let out = den.stdout();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.first(), Some(&"1"), "disable_ipv6 on eth0\n{out}");
        // Only eth0: an interface made later in the netns (another CNI plugin's) starts with the
        // kernel's default again.
        assert_eq!(lines.get(1), Some(&"default=0"), "{out}");
        assert!(
            lines
                .iter()
                .any(|l| l.contains(" lo ") && l.contains("::1/128")),
            "lo keeps ::1\n{out}"
        );
        assert!(
            !out.contains("eth0    inet6"),
            "an IPv6 address on eth0\n{out}"
        );
        assert!(!out.contains("fe80"), "{out}");
    }
    // A new interface sends its first MLD report at once and DAD within a second: give it that.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(bridge_multicast(&sb), 0, "multicast reached den0");

    // Control: with IPv6 switched back on, eth0 gets its link-local address and den0 hears it.
    let v6 = start(
        &sb,
        "v6",
        &["--sysctl", "net.ipv6.conf.eth0.disable_ipv6=0"],
    );
    let out = v6.stdout();
    assert!(out.starts_with("0\n"), "{out}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while bridge_multicast(&sb) == 0 {
        assert!(
            Instant::now() < deadline,
            "no multicast from the IPv6 container"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let addr = sb
        .host(&format!(
            "nsenter --net=/proc/{}/ns/net ip -o -6 addr show dev eth0",
            sb.inspect("v6").pid().unwrap()
        ))
        .ok();
    assert!(addr.stdout.contains("fe80::"), "{addr}");
    stop(&sb, &v6, "v6");
    for (den, name) in dens.iter().zip(["a", "b", "c"]) {
        stop(&sb, den, name);
    }
}
