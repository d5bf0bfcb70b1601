//! Self-tests of the sandbox harness (no den needed).

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use den_tests::{
    addr, http_get, netns, procs, profile_dir_of, udp_request, wait_ok, wait_until, PeerServer,
    Sandbox, UdpEcho, HOST_ADDR, OUT_ADDR, START_TIMEOUT,
};

/// Everything a sandbox made, recorded so it can be checked after the sandbox is gone.
struct Made {
    names: Vec<String>,
    netns_inodes: Vec<u64>,
    dir: PathBuf,
    procs: Vec<procs::ProcId>,
}

fn record(sb: &Sandbox) -> Made {
    Made {
        names: vec![sb.host_ns().to_string(), sb.out_ns().to_string()],
        netns_inodes: [sb.host_ns_path(), sb.out_ns_path()]
            .iter()
            .map(|p| procs::ns_inode(p).expect("namespace inode"))
            .collect(),
        dir: sb.root().parent().expect("sandbox dir").to_path_buf(),
        procs: sb.members(),
    }
}

fn assert_gone(m: &Made) {
    for n in &m.names {
        assert!(!netns::exists(n), "namespace {n} still exists");
    }
    for &ino in &m.netns_inodes {
        let left = procs::in_netns(ino);
        assert!(left.is_empty(), "processes still in netns {ino}: {left:?}");
    }
    for p in &m.procs {
        assert!(!p.is_alive(), "process {p:?} survived the sandbox");
    }
    assert!(!m.dir.exists(), "{} still exists", m.dir.display());
}

fn serve_httpd(sb: &Sandbox, body: &str) {
    let www = sb.scratch().join("www");
    fs::create_dir_all(&www).unwrap();
    fs::write(www.join("index.html"), body).unwrap();
    sb.host_spawn(&format!(
        "exec busybox httpd -f -p {HOST_ADDR}:8000 -h {}",
        www.display()
    ));
}

#[test]
fn outside_reaches_a_server_in_the_host_netns() {
    let sb = Sandbox::new();
    assert!(netns::exists(sb.host_ns()) && netns::exists(sb.out_ns()));
    serve_httpd(&sb, "hello from host\n");
    let body = wait_ok(START_TIMEOUT, "httpd from outside", || {
        http_get(&sb.out_ns_path(), addr(&format!("{HOST_ADDR}:8000")))
    });
    assert_eq!(body, "hello from host\n");
    let routes = sb.host("ip route").ok();
    assert!(
        routes.stdout.contains(&format!("default via {OUT_ADDR}")),
        "{routes}"
    );
    // The host netns reaches the outside too (its default route points there).
    sb.host(&format!("busybox ping -c 1 -W 2 {OUT_ADDR}")).ok();
}

#[test]
fn drop_removes_namespaces_processes_and_dir() {
    let sb = Sandbox::new();
    sb.host_spawn("exec sleep 300");
    // An orphan in the host netns, which the sandbox did not start directly.
    sb.host("sleep 300 >/dev/null 2>&1 &").ok();
    // An orphan shaped like a container: its own netns and mount namespace, an overlay root
    // whose upper dir is under the sandbox dir, chrooted into it, parent gone.
    let d = sb.root().join("fake-container");
    sb.host(&format!(
        "set -e; d={d}; mkdir -p $d/lower/bin $d/upper $d/work $d/merged; \
         cp /bin/busybox $d/lower/bin/; \
         unshare -m -n sh -c \"mount -t overlay fake -o \
         lowerdir=$d/lower,upperdir=$d/upper,workdir=$d/work $d/merged && \
         exec chroot $d/merged /bin/busybox sleep 300\" >/dev/null 2>&1 &",
        d = d.display()
    ))
    .ok();
    let needle = d.join("upper").display().to_string();
    wait_until(START_TIMEOUT, "the fake container and both sleeps", || {
        let members = sb.members();
        members.len() >= 3
            && members
                .iter()
                .any(|p| procs::root_mount_mentions(p.pid, &needle))
    });
    let fake = sb
        .members()
        .into_iter()
        .find(|p| procs::root_mount_mentions(p.pid, &needle));
    assert!(
        fake.is_some(),
        "the fake container is not found as a member"
    );
    let made = record(&sb);
    drop(sb);
    assert_gone(&made);
    assert!(den_tests::mounts_mentioning(&made.dir.display().to_string()).is_empty());
}

#[test]
fn drop_cleans_up_when_the_test_panics() {
    let made: Mutex<Option<Made>> = Mutex::new(None);
    let result = catch_unwind(AssertUnwindSafe(|| {
        let sb = Sandbox::new();
        sb.host_spawn("exec sleep 300");
        sb.outside_spawn("exec sleep 300");
        wait_until(START_TIMEOUT, "two sleeps", || sb.members().len() >= 2);
        *made.lock().unwrap() = Some(record(&sb));
        panic!("deliberate failure inside a test");
    }));
    assert!(result.is_err(), "the closure was meant to panic");
    let made = made.lock().unwrap().take().expect("sandbox was made");
    assert_eq!(made.procs.len(), 2, "{:?}", made.procs);
    assert_gone(&made);
}

#[test]
fn two_sandboxes_at_once_do_not_collide() {
    let bodies = ["first sandbox\n", "second sandbox\n"];
    let names: Vec<(String, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = bodies
            .iter()
            .map(|body| {
                s.spawn(move || {
                    let sb = Sandbox::new();
                    serve_httpd(&sb, body);
                    let got = wait_ok(START_TIMEOUT, "httpd from outside", || {
                        http_get(&sb.out_ns_path(), addr(&format!("{HOST_ADDR}:8000")))
                    });
                    assert_eq!(&got, body);
                    (sb.host_ns().to_string(), sb.root().display().to_string())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_ne!(names[0], names[1]);
}

#[test]
fn in_process_servers_live_in_their_namespace() {
    let sb = Sandbox::new();
    let echo = UdpEcho::start(&sb.host_ns_path(), addr(&format!("{HOST_ADDR}:5353")));
    let reply = udp_request(&sb.out_ns_path(), addr(&format!("{HOST_ADDR}:5353")), b"hi").unwrap();
    assert_eq!(reply, b"hi");
    assert_eq!(echo.peers()[0].ip().to_string(), OUT_ADDR);

    let peers = PeerServer::start(&sb.out_ns_path(), addr(&format!("{OUT_ADDR}:9000")));
    let body = http_get(&sb.host_ns_path(), addr(&format!("{OUT_ADDR}:9000"))).unwrap();
    assert_eq!(body, HOST_ADDR);
    assert_eq!(peers.peers()[0].ip().to_string(), HOST_ADDR);

    // Nothing listens on that port in this process's own namespace: the servers are in the
    // sandbox's namespaces only.
    let root_ns = Path::new("/proc/self/ns/net");
    assert!(procs::ns_inode(root_ns) != procs::ns_inode(&sb.host_ns_path()));
    // A port nobody serves is refused, not answered.
    assert!(http_get(&sb.host_ns_path(), addr(&format!("{OUT_ADDR}:9001"))).is_err());
}

#[test]
fn waits_and_commands_are_bounded() {
    let r = catch_unwind(|| {
        wait_until(
            Duration::from_millis(50),
            "something that never happens",
            || false,
        )
    });
    let msg = *r
        .expect_err("wait_until must time out")
        .downcast::<String>()
        .unwrap();
    assert!(msg.contains("something that never happens"), "{msg}");

    let sb = Sandbox::new();
    let p = sb.host_spawn("exec sleep 300");
    let r = catch_unwind(AssertUnwindSafe(|| p.wait(Duration::from_millis(100))));
    assert!(r.is_err(), "waiting on sleep 300 must time out");
    assert!(p.try_exit().is_some(), "a timed-out process is killed");
}

#[test]
fn exit_status_and_output_are_reported() {
    let sb = Sandbox::new();
    let out = sb.host("echo out; echo err >&2; exit 7");
    assert_eq!(out.code(), 7);
    assert_eq!(out.out(), "out");
    assert_eq!(out.stderr_lines(), vec!["err"]);
    let killed = sb.host("kill -9 $$");
    assert_eq!(killed.code(), 137);
}

#[test]
fn den_binary_is_found_next_to_the_test_profile() {
    assert_eq!(
        profile_dir_of(Path::new("/x/target/debug/deps/run-0123abcd")),
        Some(PathBuf::from("/x/target/debug"))
    );
    assert_eq!(
        profile_dir_of(Path::new("/x/target/release/den")),
        Some(PathBuf::from("/x/target/release"))
    );
}

#[test]
fn footprint_helpers_normalise() {
    let links = "1: lo: <LOOPBACK,UP> mtu 65536 qdisc noqueue\n\
                 5: veth1a@if4: <BROADCAST,UP> mtu 1500 master den0 state UP\n\
                 3: den0: <BROADCAST> mtu 1500\n";
    assert_eq!(
        den_tests::link_names(links),
        vec!["den0", "lo", "veth1a master den0"]
    );
    let a =
        den_tests::normalize_nft("table ip den {\n\tcounter packets 12 bytes 900 masquerade\n}");
    let b = den_tests::normalize_nft("table ip den {\n counter packets 0 bytes 0 masquerade\n}");
    assert_eq!(a, b);
    assert_ne!(a, den_tests::normalize_nft("table ip den {\n}"));
}

#[test]
fn spawned_pid_is_the_program_itself() {
    // nsenter --net execs the program without forking, so signals sent to a spawned den
    // reach den itself.
    let sb = Sandbox::new();
    let p = sb.host_spawn("echo $$; exec sleep 300");
    let out = p.wait_stdout("\n", START_TIMEOUT);
    assert_eq!(out.trim(), p.pid().to_string());
    p.signal(den_tests::SIGTERM);
    assert_eq!(p.wait(START_TIMEOUT).code(), 128 + den_tests::SIGTERM);
}

#[test]
fn stale_namespaces_of_dead_test_processes_are_swept() {
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = gone.id();
    gone.wait().unwrap();
    let name = format!("den-t{dead_pid}-0-host");
    netns::add(&name).unwrap();
    let swept = netns::sweep_stale(&std::env::temp_dir(), false);
    let exists = netns::exists(&name);
    if exists {
        netns::delete(&name).unwrap();
    }
    assert!(!exists, "{name} was not swept: {swept:?}");
    assert!(swept.iter().any(|s| s.contains(&name)), "{swept:?}");
}
