//! `-p` parsing and port expansion. Expansion reads the calling thread's netns, so those tests run
//! on a thread that first unshares its network namespace (root): a private, empty port table and
//! port range, gone when the thread ends.

use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::process::Command;

use den_netcfg::ports::{expand, PortError, PortMapping, PortSpec, Proto};
use nix::sched::{unshare, CloneFlags};

fn spec(s: &str) -> PortSpec {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn m(ip: &str, hp: u16, cp: u16, proto: Proto) -> PortMapping {
    PortMapping {
        host_ip: ip.parse().unwrap(),
        host_port: hp,
        container_port: cp,
        proto,
    }
}

/// Runs `f` on a thread in a fresh netns with lo up and ip_local_port_range = `range`.
fn in_netns<T: Send + 'static>(range: &'static str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let t = std::thread::spawn(move || {
        unshare(CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET) (needs root)");
        // Children inherit the namespaces of the thread that spawns them.
        let st = Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status()
            .unwrap();
        assert!(st.success());
        // /proc/sys/net belongs to the netns of the thread that opens it: this one's, not the host's.
        std::fs::write("/proc/sys/net/ipv4/ip_local_port_range", range).unwrap();
        f()
    });
    t.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// `-p` text and the expected host_ip, host_ports, container_ports, proto.
type Case = (
    &'static str,
    Option<Ipv4Addr>,
    Option<(u16, u16)>,
    (u16, u16),
    Proto,
);

#[test]
fn parses_every_form() {
    let lo = Some(Ipv4Addr::LOCALHOST);
    let cases: &[Case] = &[
        ("80", None, None, (80, 80), Proto::Tcp),
        ("8080:80", None, Some((8080, 8080)), (80, 80), Proto::Tcp),
        (
            "8080:80/udp",
            None,
            Some((8080, 8080)),
            (80, 80),
            Proto::Udp,
        ),
        (
            "8080:80/TCP",
            None,
            Some((8080, 8080)),
            (80, 80),
            Proto::Tcp,
        ),
        (
            "127.0.0.1:8080:80",
            lo,
            Some((8080, 8080)),
            (80, 80),
            Proto::Tcp,
        ),
        ("127.0.0.1::80", lo, None, (80, 80), Proto::Tcp),
        ("127.0.0.1::80/udp", lo, None, (80, 80), Proto::Udp),
        (
            "0.0.0.0:1:65535",
            Some(Ipv4Addr::UNSPECIFIED),
            Some((1, 1)),
            (65535, 65535),
            Proto::Tcp,
        ),
        (
            "8000-8001:80-81",
            None,
            Some((8000, 8001)),
            (80, 81),
            Proto::Tcp,
        ),
        (
            "8000-8010:80",
            None,
            Some((8000, 8010)),
            (80, 80),
            Proto::Tcp,
        ),
        ("80-81", None, None, (80, 81), Proto::Tcp),
    ];
    for &(s, host_ip, host_ports, container_ports, proto) in cases {
        assert_eq!(
            spec(s),
            PortSpec {
                host_ip,
                host_ports,
                container_ports,
                proto
            },
            "{s}"
        );
    }
    assert_eq!(spec("127.0.0.1::80").to_string(), "127.0.0.1::80/tcp");
    assert_eq!(
        spec("8000-8001:80-81/udp").to_string(),
        "8000-8001:80-81/udp"
    );
}

#[test]
fn bad_specs_are_one_line_errors_naming_the_argument() {
    let cases = [
        ("0:80", "port 0 is out of range 1-65535"),
        ("70000:80", "port 70000 is out of range 1-65535"),
        ("99999999999999999999999:80", "is out of range 1-65535"),
        ("abc", "\"abc\" is not a port number"),
        ("80:80/sctpx", "unknown protocol \"sctpx\" (use tcp or udp)"),
        ("80:80/sctp", "sctp is not supported"),
        ("80/", "unknown protocol \"\""),
        ("8080:", "the container port is missing"),
        ("", "the container port is missing"),
        ("8080:-80", "\"\" is not a port number"),
        ("8080:+80", "\"+80\" is not a port number"),
        ("81-80:80", "port range 81-80 ends before it starts"),
        (
            "8000-8002:80-81",
            "host ports 8000-8002 and container ports 80-81 differ in length",
        ),
        (
            "8080:80-81",
            "host ports 8080 and container ports 80-81 differ in length",
        ),
        ("[::1]:8080:80", "IPv6 host addresses are not supported"),
        ("::1:8080:80", "IPv6 host addresses are not supported"),
        ("localhost:8080:80", "\"localhost\" is not an IPv4 address"),
        ("1.2.3:8080:80", "\"1.2.3\" is not an IPv4 address"),
        (
            "a:b:c:d",
            "expected [IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]",
        ),
    ];
    for (s, want) in cases {
        let e = s.parse::<PortSpec>().expect_err(s);
        let msg = e.to_string();
        assert!(msg.starts_with(&format!("invalid -p {s:?}: ")), "{msg}");
        assert!(msg.contains(want), "{s}: {msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }
}

#[test]
fn mapping_display_and_serde() {
    let x = m("0.0.0.0", 8080, 80, Proto::Tcp);
    assert_eq!(x.to_string(), "0.0.0.0:8080->80/tcp");
    let json = serde_json::to_string(&m("127.0.0.1", 53, 53, Proto::Udp)).unwrap();
    assert_eq!(
        json,
        r#"{"host_ip":"127.0.0.1","host_port":53,"container_port":53,"proto":"udp"}"#
    );
    assert_eq!(
        serde_json::from_str::<PortMapping>(&json).unwrap(),
        m("127.0.0.1", 53, 53, Proto::Udp)
    );
}

#[test]
fn expands_ranges_and_refuses_duplicates_and_published() {
    in_netns("40000 40003", || {
        let specs = [
            spec("8000-8001:80-81"),
            spec("127.0.0.1:9000:90/udp"),
            spec("9000:90"),
        ];
        let got = expand(&specs, &[]).unwrap();
        assert_eq!(
            got,
            [
                m("0.0.0.0", 8000, 80, Proto::Tcp),
                m("0.0.0.0", 8001, 81, Proto::Tcp),
                m("127.0.0.1", 9000, 90, Proto::Udp),
                m("0.0.0.0", 9000, 90, Proto::Tcp),
            ]
        );

        // Within one request: 0.0.0.0 overlaps every address; distinct addresses do not.
        let e = expand(&[spec("8080:80"), spec("127.0.0.1:8080:81")], &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "host port 127.0.0.1:8080/tcp is requested twice"
        );
        assert_eq!(
            expand(&[spec("127.0.0.1:8080:80"), spec("127.0.0.2:8080:80")], &[])
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            expand(&[spec("8080:80"), spec("8080:80/udp")], &[])
                .unwrap()
                .len(),
            2
        );

        // Against what den already published.
        let published = [m("0.0.0.0", 8080, 80, Proto::Tcp)];
        let e = expand(&[spec("127.0.0.1:8080:80")], &published).unwrap_err();
        assert!(matches!(e, PortError::AlreadyPublished { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            "host port 127.0.0.1:8080/tcp is already published by another container (0.0.0.0:8080->80/tcp)"
        );
        assert!(expand(&[spec("8080:80/udp")], &published).is_ok());

        // Docker's HOST_RANGE:PORT: the first free port of the range.
        let got = expand(&[spec("8080-8090:80")], &published).unwrap();
        assert_eq!(got, [m("0.0.0.0", 8081, 80, Proto::Tcp)]);
    });
}

#[test]
fn random_ports_come_from_the_local_range_and_skip_taken_ones() {
    in_netns("40000 40003", || {
        let _l1 = TcpListener::bind("127.0.0.1:40001").unwrap();
        let _l2 = TcpListener::bind("0.0.0.0:40002").unwrap();
        let published = [m("127.0.0.1", 40000, 1, Proto::Tcp)];
        for _ in 0..20 {
            // 40000 published, 40001/40002 listened on: only 40003 is free, wherever the search starts.
            assert_eq!(
                expand(&[spec("80")], &published).unwrap(),
                [m("0.0.0.0", 40003, 80, Proto::Tcp)]
            );
        }
        // Two random ports in one request are distinct.
        let got = expand(&[spec("127.0.0.2::80-81")], &[]).unwrap();
        assert_eq!(got.len(), 2);
        assert_ne!(got[0].host_port, got[1].host_port);
        assert!(
            got.iter().all(|g| (40000..=40003).contains(&g.host_port)),
            "{got:?}"
        );
        // Exhausted.
        let e = expand(&[spec("80-81")], &published).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no free host port for 0.0.0.0::81/tcp in 40000-40003"
        );
        // udp is a different port space.
        assert_eq!(
            expand(
                &[spec("127.0.0.1::80/udp"), spec("127.0.0.1::81/udp")],
                &published
            )
            .unwrap()
            .len(),
            2
        );
    });
}

#[test]
fn host_sockets_are_detected() {
    in_netns("40000 40003", || {
        // The netns is private, so fixed, distinct ports are free (tcp and udp are separate port
        // spaces: ports picked by the kernel could coincide across them).
        let (port, any_port, uport) = (41000, 41001, 41002);
        let tcp = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let _any = TcpListener::bind(("0.0.0.0", any_port)).unwrap();
        let _udp = UdpSocket::bind(("127.0.0.1", uport)).unwrap();

        // A listener on 127.0.0.1 conflicts with publishing on 0.0.0.0 and on 127.0.0.1 only.
        let e = expand(&[spec(&format!("{port}:80"))], &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("host port 0.0.0.0:{port}/tcp is in use: a host socket is bound to 127.0.0.1:{port}")
        );
        assert!(matches!(
            expand(&[spec(&format!("127.0.0.1:{port}:80"))], &[]),
            Err(PortError::InUse { .. })
        ));
        assert!(expand(&[spec(&format!("127.0.0.2:{port}:80"))], &[]).is_ok());
        assert!(expand(&[spec(&format!("{port}:80/udp"))], &[]).is_ok());
        // A listener on 0.0.0.0 conflicts with every address.
        assert!(matches!(
            expand(&[spec(&format!("127.0.0.2:{any_port}:80"))], &[]),
            Err(PortError::InUse { .. })
        ));
        // Any bound udp socket counts.
        assert!(matches!(
            expand(&[spec(&format!("{uport}:53/udp"))], &[]),
            Err(PortError::InUse { .. })
        ));
        // Once the listener is closed, the port is free.
        drop(tcp);
        assert!(expand(&[spec(&format!("{port}:80"))], &[]).is_ok());
    });
}
