//! What the host (the calling thread's network namespace) already uses: sockets bound to ports,
//! from /proc/thread-self/net/{tcp,tcp6,udp,udp6}, and net.ipv4.ip_local_port_range.
//! /proc/thread-self (not /proc/self) so a thread that moved into another netns sees that netns.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use super::{PortError, Proto};

/// A host socket that makes a host port unavailable for publishing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Listener {
    pub proto: Proto,
    pub addr: IpAddr,
    pub port: u16,
}

impl Listener {
    /// Whether publishing `port`/`proto` on `host_ip` would take traffic from this socket:
    /// a socket on 0.0.0.0 or :: conflicts with every host address, one on a specific IPv4
    /// address (also v4-mapped) with publishing on that address or on 0.0.0.0. Other IPv6
    /// addresses never see the IPv4 traffic den redirects.
    pub fn conflicts(&self, proto: Proto, host_ip: Ipv4Addr, port: u16) -> bool {
        if self.proto != proto || self.port != port {
            return false;
        }
        let addr = match self.addr {
            IpAddr::V4(a) => a,
            IpAddr::V6(a) if a.is_unspecified() => Ipv4Addr::UNSPECIFIED,
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(a) => a,
                None => return false,
            },
        };
        super::ips_overlap(addr, host_ip)
    }
}

/// The host's view of ports for one [`expand`](super::expand): the random-port range, and a probe
/// that asks the kernel whether a socket holds a port (a bind test: O(1), where reading
/// /proc/net/tcp walks the kernel's whole, machine-wide socket hash — tens of milliseconds).
#[derive(Clone, Debug, Default)]
pub(crate) struct HostPorts {
    /// net.ipv4.ip_local_port_range, inclusive: where random host ports come from.
    pub local_range: (u16, u16),
}

const TCP_LISTEN: &str = "0A";

impl HostPorts {
    pub fn read() -> Result<Self, PortError> {
        Ok(HostPorts {
            local_range: read_local_range()?,
        })
    }

    /// The address of the host socket that holds `port`/`proto` for `host_ip`, if any: tcp, a
    /// listening socket; udp, a bound one. A socket on 0.0.0.0/:: holds the port for every address.
    pub fn holder(
        &self,
        proto: Proto,
        host_ip: Ipv4Addr,
        port: u16,
    ) -> Result<Option<IpAddr>, PortError> {
        if !bind_refused(proto, host_ip, port)? {
            return Ok(None);
        }
        // Rare path: name the socket in the error, from the /proc tables.
        let found = read_listeners()?
            .into_iter()
            .find(|l| l.conflicts(proto, host_ip, port))
            .map(|l| l.addr);
        Ok(Some(found.unwrap_or(IpAddr::V4(host_ip))))
    }
}

/// Would the kernel refuse to bind `host_ip:port`? With SO_REUSEADDR the probe conflicts only
/// with listening tcp sockets and with bound udp sockets, as the published port would.
fn bind_refused(proto: Proto, host_ip: Ipv4Addr, port: u16) -> Result<bool, PortError> {
    use nix::errno::Errno;
    use nix::sys::socket::{
        bind, setsockopt, socket, sockopt, AddressFamily, SockFlag, SockType, SockaddrIn,
    };
    use std::os::fd::AsRawFd;
    let probe_err = |source: Errno| PortError::Probe {
        host_ip,
        port,
        proto,
        source,
    };
    let ty = match proto {
        Proto::Tcp => SockType::Stream,
        Proto::Udp => SockType::Datagram,
    };
    let fd = socket(AddressFamily::Inet, ty, SockFlag::SOCK_CLOEXEC, None).map_err(probe_err)?;
    setsockopt(&fd, sockopt::ReuseAddr, &true).map_err(probe_err)?;
    match bind(
        fd.as_raw_fd(),
        &SockaddrIn::from(std::net::SocketAddrV4::new(host_ip, port)),
    ) {
        Ok(()) => Ok(false),
        Err(Errno::EADDRINUSE) => Ok(true),
        // Not an address of this host: nothing here can hold it (the DNAT simply never matches).
        Err(Errno::EADDRNOTAVAIL) => Ok(false),
        Err(e) => Err(probe_err(e)),
    }
}

/// Every socket that holds a port, from /proc/thread-self/net/{tcp,tcp6,udp,udp6}.
fn read_listeners() -> Result<Vec<Listener>, PortError> {
    let mut listeners = Vec::new();
    for (file, proto) in [
        ("tcp", Proto::Tcp),
        ("tcp6", Proto::Tcp),
        ("udp", Proto::Udp),
        ("udp6", Proto::Udp),
    ] {
        let path = Path::new("/proc/thread-self/net").join(file);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            // No IPv6 in this kernel/netns: no tcp6/udp6 files.
            Err(e) if e.kind() == io::ErrorKind::NotFound && file.ends_with('6') => continue,
            Err(source) => return Err(PortError::Read { path, source }),
        };
        listeners.extend(parse_sockets(&path, &text, proto)?);
    }
    Ok(listeners)
}

fn read_local_range() -> Result<(u16, u16), PortError> {
    let path = PathBuf::from("/proc/sys/net/ipv4/ip_local_port_range");
    let text = std::fs::read_to_string(&path).map_err(|source| PortError::Read {
        path: path.clone(),
        source,
    })?;
    parse_local_range(&text).ok_or(PortError::ProcFormat {
        path,
        line: text.trim().to_string(),
    })
}

pub(crate) fn parse_local_range(text: &str) -> Option<(u16, u16)> {
    let mut it = text.split_whitespace().map(str::parse::<u16>);
    match (it.next(), it.next(), it.next()) {
        (Some(Ok(a)), Some(Ok(b)), None) if 0 < a && a <= b => Some((a, b)),
        _ => None,
    }
}

/// Sockets of one /proc/net/{tcp,udp}[6] table that hold a port: LISTEN sockets for tcp, every
/// bound socket for udp.
pub(crate) fn parse_sockets(
    path: &Path,
    text: &str,
    proto: Proto,
) -> Result<Vec<Listener>, PortError> {
    let bad = |line: &str| PortError::ProcFormat {
        path: path.to_path_buf(),
        line: line.to_string(),
    };
    let mut out = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(state)) = (fields.get(1), fields.get(3)) else {
            return Err(bad(line));
        };
        let (addr, port) = local.split_once(':').ok_or_else(|| bad(line))?;
        let port = u16::from_str_radix(port, 16).map_err(|_| bad(line))?;
        let addr = parse_hex_addr(addr).ok_or_else(|| bad(line))?;
        let holds_port = match proto {
            Proto::Tcp => *state == TCP_LISTEN,
            Proto::Udp => port != 0,
        };
        if holds_port {
            out.push(Listener { proto, addr, port });
        }
    }
    Ok(out)
}

/// The kernel prints addresses as 32-bit words in host byte order (`%08X` of the raw word).
fn parse_hex_addr(hex: &str) -> Option<IpAddr> {
    let word = |i: usize| -> Option<[u8; 4]> {
        let w = u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16).ok()?;
        Some(w.to_ne_bytes())
    };
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(word(0)?))),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            Some(IpAddr::V6(Ipv6Addr::from(bytes)))
        }
        _ => None,
    }
}

#[cfg(all(test, target_endian = "little"))]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0
   2: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 100 0 0 10 0
";
    const TCP6: &str =
        "  sl  local_address                         remote_address                        st
   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 0
   1: 00000000000000000000000001000000:0051 00000000000000000000000000000000:0000 0A 0
   2: 0000000000000000FFFF00000100007F:0052 00000000000000000000000000000000:0000 0A 0
";

    #[test]
    fn tcp_listen_sockets_only() {
        let l = parse_sockets(Path::new("tcp"), TCP, Proto::Tcp).unwrap();
        assert_eq!(
            l,
            vec![
                Listener {
                    proto: Proto::Tcp,
                    addr: "127.0.0.1".parse().unwrap(),
                    port: 8080
                },
                Listener {
                    proto: Proto::Tcp,
                    addr: "0.0.0.0".parse().unwrap(),
                    port: 22
                },
            ]
        );
    }

    #[test]
    fn tcp6_addresses() {
        let l = parse_sockets(Path::new("tcp6"), TCP6, Proto::Tcp).unwrap();
        let addrs: Vec<String> = l.iter().map(|l| l.addr.to_string()).collect();
        assert_eq!(addrs, ["::", "::1", "::ffff:127.0.0.1"]);
        let lo: Ipv4Addr = "127.0.0.1".parse().unwrap();
        let any = Ipv4Addr::UNSPECIFIED;
        assert!(l[0].conflicts(Proto::Tcp, "10.0.0.1".parse().unwrap(), 80));
        assert!(!l[0].conflicts(Proto::Udp, any, 80));
        assert!(
            !l[1].conflicts(Proto::Tcp, any, 81),
            "::1 never sees IPv4 traffic"
        );
        assert!(l[2].conflicts(Proto::Tcp, lo, 82));
        assert!(l[2].conflicts(Proto::Tcp, any, 82));
        assert!(!l[2].conflicts(Proto::Tcp, "10.0.0.1".parse().unwrap(), 82));
    }

    #[test]
    fn garbage_is_an_error_naming_the_file() {
        let e = parse_sockets(Path::new("/proc/x/tcp"), "hdr\n 0: zz\n", Proto::Tcp).unwrap_err();
        assert_eq!(e.to_string(), r#"unexpected line in /proc/x/tcp: " 0: zz""#);
    }

    #[test]
    fn local_range() {
        assert_eq!(parse_local_range("32768\t60999\n"), Some((32768, 60999)));
        assert_eq!(parse_local_range("60999 32768"), None);
        assert_eq!(parse_local_range("1"), None);
    }
}
