//! When `den run --rm` returns, its teardown is done, not merely started: the host veth, the
//! published-port elements and the lease are already gone (checked at once, with no settling time),
//! though the kernel may still be finishing the veth's unregister in den's helper process.

use den_tests::{fixtures, link_names, Sandbox};

fn img() -> &'static str {
    fixtures().dir_arg()
}

#[test]
fn a_bridged_rm_run_has_removed_its_veth_ports_and_lease_when_it_returns() {
    let sb = Sandbox::new();
    for i in 0..5 {
        sb.den(&["run", "--rm", "-p", "8080:80", img(), "true"])
            .ok();
        let links = link_names(&sb.host("ip -o link").ok().stdout);
        assert!(
            !links.iter().any(|l| l.starts_with("veth")),
            "run {i}: a veth is still listed: {links:?}"
        );
        let map = sb.host("nft list map ip den published").ok().stdout;
        assert!(!map.contains("8080"), "run {i}: the element stayed:\n{map}");
        let leases = sb.leases("bridge");
        assert!(leases.is_empty(), "run {i}: a lease stayed:\n{leases:?}");
    }
}

/// `den start` reuses the container's id, and so its host veth's name: the previous run's veth
/// must be gone from the kernel's name table before the new one is made.
#[test]
fn a_restarted_container_gets_its_veth_name_again_at_once() {
    let sb = Sandbox::new();
    sb.den(&["run", "-d", "--name", "again", img(), "true"])
        .ok();
    for _ in 0..3 {
        den_tests::wait_until(std::time::Duration::from_secs(10), "exited", || {
            sb.inspect("again").status().as_deref() == Some("exited")
        });
        sb.den(&["start", "again"]).ok();
    }
    sb.den(&["rm", "-f", "again"]).ok();
}
