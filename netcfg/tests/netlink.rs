//! netlink layer against the real kernel, only ever inside throwaway network namespaces: each test body runs
//! on its own thread that first `unshare(CLONE_NEWNET)`s (the namespace dies with the thread), and "container"
//! namespaces are made the same way and kept alive by an fd of theirs. Needs root.

use std::fs::File;
use std::future::Future;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::process::Command;

use den_netcfg::netlink::{mac_from_ip, random_veth_name, Netlink, NetlinkError};
use den_netcfg::sysctl;
use ipnet::Ipv4Net;
use nix::sched::{unshare, CloneFlags};

fn netns_inode(path: &str) -> u64 {
    std::fs::metadata(path).expect("stat a netns").ino()
}

/// Moves the calling thread into a fresh netns, and refuses to go on if it is still in the process's original
/// one (the main thread's, which never moves).
fn unshare_net() {
    let root = netns_inode("/proc/self/ns/net");
    unshare(CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET) (tests need root)");
    assert_ne!(
        netns_inode("/proc/thread-self/ns/net"),
        root,
        "still in the root netns"
    );
}

/// Runs `body` on a current-thread runtime on a new thread inside its own new netns.
fn in_netns<F, Fut>(body: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let thread = std::thread::spawn(move || {
        unshare_net();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(body());
    });
    if let Err(panic) = thread.join() {
        std::panic::resume_unwind(panic);
    }
}

/// A second throwaway netns (the "container"), alive as long as the returned fd.
fn new_netns() -> OwnedFd {
    let thread = std::thread::spawn(|| {
        unshare_net();
        OwnedFd::from(File::open("/proc/thread-self/ns/net").expect("open own netns"))
    });
    thread.join().expect("netns thread")
}

fn net(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

#[test]
fn bridge_creation_is_idempotent() {
    in_netns(|| async {
        let nl = Netlink::open_current().unwrap();
        assert_eq!(nl.link_index("den0").await.unwrap(), None);
        let (index, created) = nl.ensure_bridge("den0", Some(1400), None).await.unwrap();
        assert!(created);
        assert_eq!(
            nl.ensure_bridge("den0", Some(1400), None).await.unwrap(),
            (index, false)
        );
        assert_eq!(nl.link_index("den0").await.unwrap(), Some(index));

        let bridge = nl.link(index).await.unwrap();
        assert_eq!(bridge.kind.as_deref(), Some("bridge"));
        assert!(bridge.up);
        assert_eq!(nl.link_mtu(index).await.unwrap(), 1400);

        // A second call with another MTU changes it, and without one leaves it.
        nl.ensure_bridge("den0", Some(1300), None).await.unwrap();
        nl.ensure_bridge("den0", None, None).await.unwrap();
        assert_eq!(nl.link_mtu(index).await.unwrap(), 1300);
    });
}

#[test]
fn a_non_bridge_link_is_not_taken_for_the_bridge() {
    in_netns(|| async {
        let nl = Netlink::open_current().unwrap();
        let err = nl.ensure_bridge("lo", None, None).await.unwrap_err();
        assert!(matches!(err, NetlinkError::NotABridge { .. }), "{err}");
        assert!(err.to_string().contains("lo"), "{err}");
        let err = nl.ensure_bridge("a/b", None, None).await.unwrap_err();
        assert!(matches!(err, NetlinkError::InvalidName { .. }), "{err}");
    });
}

#[test]
fn veth_peer_is_born_in_the_other_netns_with_name_mac_and_mtu() {
    in_netns(|| async {
        let container = new_netns();
        let nl = Netlink::open_current().unwrap();
        let mac = mac_from_ip(Ipv4Addr::new(172, 20, 0, 2));
        let host_name = random_veth_name();
        let host = nl
            .create_veth(&host_name, "eth0", container.as_fd(), 1400, Some(mac))
            .await
            .unwrap();

        let local = nl.link(host).await.unwrap();
        assert_eq!(
            (local.name.as_str(), local.kind.as_deref()),
            (host_name.as_str(), Some("veth"))
        );
        assert_eq!(local.mtu, Some(1400));
        assert_eq!(
            nl.link_index("eth0").await.unwrap(),
            None,
            "peer must not be in the host netns"
        );

        let inside = Netlink::open_in(container.as_fd()).unwrap();
        let eth0 = inside
            .link_by_name("eth0")
            .await
            .unwrap()
            .expect("eth0 in the container netns");
        assert_eq!(eth0.kind.as_deref(), Some("veth"));
        assert_eq!(eth0.mac, Some(mac));
        assert_eq!(inside.link_mac(eth0.index).await.unwrap(), mac);
        assert_eq!(inside.link_mtu(eth0.index).await.unwrap(), 1400);
        assert_eq!(inside.link_index(&host_name).await.unwrap(), None);
    });
}

#[test]
fn open_in_does_not_move_the_calling_thread() {
    in_netns(|| async {
        let before = netns_inode("/proc/thread-self/ns/net");
        let container = new_netns();
        let inside = Netlink::open_in(container.as_fd()).unwrap();
        assert_eq!(netns_inode("/proc/thread-self/ns/net"), before);
        // The socket really is in the other netns: a bridge made through it is invisible here.
        inside.ensure_bridge("onlythere", None, None).await.unwrap();
        let here = Netlink::open_current().unwrap();
        assert_eq!(here.link_index("onlythere").await.unwrap(), None);
    });
}

#[test]
fn veth_is_enslaved_brought_up_and_hairpinned() {
    in_netns(|| async {
        let container = new_netns();
        let nl = Netlink::open_current().unwrap();
        let (bridge, _) = nl.ensure_bridge("den0", None, None).await.unwrap();
        let name = random_veth_name();
        let port = nl
            .create_veth(&name, "eth0", container.as_fd(), 1500, None)
            .await
            .unwrap();
        assert_eq!(
            nl.hairpin(port).await.unwrap(),
            None,
            "not a bridge port yet"
        );
        nl.set_master(port, bridge).await.unwrap();
        nl.set_up(port).await.unwrap();
        nl.set_hairpin(port, true).await.unwrap();

        let links = nl.links().await.unwrap();
        let link = links.iter().find(|l| l.index == port).expect("veth listed");
        assert_eq!(link.master, Some(bridge));
        assert!(link.up);
        assert_eq!(nl.hairpin(port).await.unwrap(), Some(true));
        // iproute2 sees it too (the child inherits this thread's netns).
        let out = Command::new("bridge")
            .args(["-d", "link", "show", "dev", &name])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("hairpin on"), "bridge -d link show: {text}");

        nl.set_hairpin(port, false).await.unwrap();
        assert_eq!(nl.hairpin(port).await.unwrap(), Some(false));
    });
}

#[test]
fn addresses_and_default_route_inside_the_container() {
    in_netns(|| async {
        let container = new_netns();
        let nl = Netlink::open_current().unwrap();
        let (bridge, _) = nl.ensure_bridge("den0", None, None).await.unwrap();
        nl.add_address(bridge, net("172.20.0.1/16")).await.unwrap();
        assert_eq!(
            nl.addresses_v4(bridge).await.unwrap(),
            vec![net("172.20.0.1/16")]
        );
        let err = nl
            .add_address(bridge, net("172.20.0.1/16"))
            .await
            .unwrap_err();
        assert_eq!(err.errno(), Some(libc::EEXIST), "{err}");
        assert!(err.to_string().contains("172.20.0.1/16"), "{err}");

        let port = nl
            .create_veth(&random_veth_name(), "eth0", container.as_fd(), 1500, None)
            .await
            .unwrap();
        let routes = nl.routes_v4(None).await.unwrap();
        assert!(
            routes.contains(&(net("172.20.0.0/16"), bridge)),
            "{routes:?}"
        );
        assert!(nl.routes_v4(Some(bridge)).await.unwrap().is_empty());
        nl.set_master(port, bridge).await.unwrap();

        let inside = Netlink::open_in(container.as_fd()).unwrap();
        let lo = inside.link_index("lo").await.unwrap().unwrap();
        let eth0 = inside.link_index("eth0").await.unwrap().unwrap();
        inside.set_up(lo).await.unwrap();
        inside
            .add_address(eth0, net("172.20.0.2/16"))
            .await
            .unwrap();
        inside.set_up(eth0).await.unwrap();
        inside
            .add_default_route(Ipv4Addr::new(172, 20, 0, 1))
            .await
            .unwrap();

        assert_eq!(
            inside.addresses_v4(eth0).await.unwrap(),
            vec![net("172.20.0.2/16")]
        );
        let mut routes = inside.routes_v4(None).await.unwrap();
        routes.sort();
        assert_eq!(
            routes,
            vec![(net("0.0.0.0/0"), eth0), (net("172.20.0.0/16"), eth0)]
        );
        let err = inside
            .add_default_route(Ipv4Addr::new(172, 20, 0, 1))
            .await
            .unwrap_err();
        assert_eq!(err.errno(), Some(libc::EEXIST), "{err}");
    });
}

#[test]
fn a_taken_veth_name_keeps_eexist() {
    in_netns(|| async {
        let first = new_netns();
        let second = new_netns();
        let nl = Netlink::open_current().unwrap();
        let name = random_veth_name();
        nl.create_veth(&name, "eth0", first.as_fd(), 1500, None)
            .await
            .unwrap();
        let err = nl
            .create_veth(&name, "eth0", second.as_fd(), 1500, None)
            .await
            .unwrap_err();
        assert_eq!(err.errno(), Some(libc::EEXIST), "{err}");
        assert!(err.to_string().contains(&name), "{err}");
    });
}

#[test]
fn delete_link_removes_both_ends_and_a_missing_link_keeps_enodev() {
    in_netns(|| async {
        let container = new_netns();
        let nl = Netlink::open_current().unwrap();
        let name = random_veth_name();
        let host = nl
            .create_veth(&name, "eth0", container.as_fd(), 1500, None)
            .await
            .unwrap();
        nl.delete_link(host).await.unwrap();
        assert_eq!(nl.link_index(&name).await.unwrap(), None);
        let inside = Netlink::open_in(container.as_fd()).unwrap();
        assert_eq!(inside.link_index("eth0").await.unwrap(), None);

        let err = nl.delete_link(host).await.unwrap_err();
        assert_eq!(err.errno(), Some(libc::ENODEV), "{err}");
        let err = nl.link(host).await.unwrap_err();
        assert_eq!(err.errno(), Some(libc::ENODEV), "{err}");
    });
}

#[test]
fn sysctls_are_per_netns_and_idempotent() {
    let root_forwarding = sysctl::get("net.ipv4.ip_forward").unwrap();
    in_netns(|| async {
        let nl = Netlink::open_current().unwrap();
        nl.ensure_bridge("den0", None, None).await.unwrap();
        sysctl::set("net.ipv4.ip_forward", "1").unwrap();
        sysctl::set("net.ipv4.ip_forward", "1").unwrap();
        assert_eq!(sysctl::get("net.ipv4.ip_forward").unwrap(), "1");
        let key = sysctl::link_key("ipv4", "den0", "route_localnet");
        sysctl::set(&key, "1").unwrap();
        assert_eq!(sysctl::get(&key).unwrap(), "1");
        let err = sysctl::set("net.ipv4.conf.nosuchlink.route_localnet", "1").unwrap_err();
        assert!(err.to_string().contains("nosuchlink"), "{err}");
    });
    assert_eq!(sysctl::get("net.ipv4.ip_forward").unwrap(), root_forwarding);
}

#[test]
fn netlink_needs_a_runtime() {
    assert!(matches!(
        Netlink::open_current(),
        Err(NetlinkError::NoRuntime)
    ));
}
