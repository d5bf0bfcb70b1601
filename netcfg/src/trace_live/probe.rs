//! `den trace --probe`: one packet sent from a throwaway network namespace, so a learner needs no
//! second terminal. The namespace is made by a thread that `unshare`s its own netns (netcfg never
//! forks), joined to the host by a veth with a /30 of 198.18.0.0/15 (RFC 2544's benchmarking
//! range), and removed with the veth when the probe is dropped.

use std::fs::File;
use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream, UdpSocket};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use ipnet::Ipv4Net;
use nix::sched::{setns, unshare, CloneFlags};
use nix::sys::socket::{
    self, AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, SockaddrIn,
};

use super::TraceError;
use crate::netlink::Netlink;
use crate::ports::Proto;

const WAIT: Duration = Duration::from_secs(2);

/// What to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shot {
    /// A TCP connection (its SYN) to a host port.
    Tcp(u16),
    /// One UDP datagram to a host port.
    Udp(u16),
    /// An ICMP echo request straight to this address.
    Ping(Ipv4Addr),
}

impl Shot {
    pub fn of(proto: Proto, port: u16) -> Shot {
        match proto {
            Proto::Tcp => Shot::Tcp(port),
            Proto::Udp => Shot::Udp(port),
        }
    }
}

/// The throwaway namespace and its veth; both go on drop.
pub struct Probe {
    ns: File,
    veth: String,
    /// The host's end of the /30: the address a probe to a published port is sent to.
    pub host: Ipv4Addr,
    pub peer: Ipv4Addr,
}

impl Probe {
    /// Makes the namespace and the link. Must not be called inside a tokio runtime.
    pub fn new() -> Result<Probe, TraceError> {
        let ns = std::thread::spawn(|| -> Result<File, TraceError> {
            unshare(CloneFlags::CLONE_NEWNET)
                .map_err(|e| TraceError::Probe("unshare a network namespace", e.into()))?;
            File::open("/proc/thread-self/ns/net")
                .map_err(|e| TraceError::Probe("open the new network namespace", e))
        })
        .join()
        .map_err(|_| TraceError::Probe("thread", io::Error::other("panicked")))??;
        let veth = format!("denprobe{}", std::process::id() % 10_000_000);
        let mut probe = Probe {
            ns,
            veth,
            host: Ipv4Addr::UNSPECIFIED,
            peer: Ipv4Addr::UNSPECIFIED,
        };
        let net = crate::rt::block_on(probe.link())
            .map_err(|e| TraceError::Probe("start a tokio runtime", e))??;
        probe.host = net.addr();
        probe.peer = Ipv4Addr::from(u32::from(net.addr()) + 1);
        Ok(probe)
    }

    async fn link(&self) -> Result<Ipv4Net, TraceError> {
        let host = Netlink::open_current()?;
        let routes = host.routes_v4(None).await?;
        let pid = std::process::id();
        let net = (0..64)
            .map(|i| {
                let n = (pid + i * 7919) % (1 << 15);
                Ipv4Net::new(
                    Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + n * 4 + 1),
                    30,
                )
                .expect("/30")
            })
            .find(|n| {
                !routes.iter().any(|(r, _)| {
                    r.prefix_len() > 0 && (r.contains(&n.network()) || n.contains(&r.network()))
                })
            })
            .ok_or(TraceError::Probe(
                "find a free /30 in 198.18.0.0/15",
                io::Error::other("all taken"),
            ))?;
        let index = host
            .create_veth(&self.veth, "eth0", self.ns.as_fd(), 1500, None)
            .await?;
        host.add_address(index, net).await?;
        host.set_up(index).await?;
        let inside = Netlink::open_in(self.ns.as_fd())?;
        let eth0 = inside.link_index("eth0").await?.ok_or(TraceError::Probe(
            "find eth0 in the probe namespace",
            io::Error::other("missing"),
        ))?;
        let peer = Ipv4Addr::from(u32::from(net.addr()) + 1);
        inside
            .add_address(eth0, Ipv4Net::new(peer, 30).expect("/30"))
            .await?;
        inside.set_up(eth0).await?;
        if let Some(lo) = inside.link_index("lo").await? {
            inside.set_up(lo).await?;
        }
        inside.add_default_route(net.addr()).await?;
        Ok(net)
    }

    /// Sends `shot` from the namespace; returns what came back, in words.
    pub fn send(&self, shot: Shot) -> Result<String, TraceError> {
        let ns = self.ns.as_fd();
        let host = self.host;
        std::thread::scope(|s| {
            s.spawn(move || send_in(ns, host, shot))
                .join()
                .map_err(|_| TraceError::Probe("probe thread", io::Error::other("panicked")))?
        })
    }
}

fn send_in(ns: BorrowedFd<'_>, host: Ipv4Addr, shot: Shot) -> Result<String, TraceError> {
    setns(ns, CloneFlags::CLONE_NEWNET)
        .map_err(|e| TraceError::Probe("enter the probe namespace", e.into()))?;
    Ok(match shot {
        Shot::Tcp(port) => {
            let to = SocketAddr::V4(SocketAddrV4::new(host, port));
            match TcpStream::connect_timeout(&to, WAIT) {
                Ok(_) => format!("tcp {to}: connected (SYN, SYN-ACK, ACK), then closed"),
                Err(e) => format!("tcp {to}: {e}"),
            }
        }
        Shot::Udp(port) => {
            let sock = UdpSocket::bind("0.0.0.0:0")
                .map_err(|e| TraceError::Probe("bind a UDP socket", e))?;
            let to = SocketAddrV4::new(host, port);
            sock.send_to(b"den trace probe\n", to)
                .map_err(|e| TraceError::Probe("send the UDP datagram", e))?;
            let _ = sock.set_read_timeout(Some(WAIT));
            let mut buf = [0u8; 512];
            match sock.recv(&mut buf) {
                Ok(n) => format!("udp {to}: sent one datagram, {n} bytes came back"),
                Err(_) => format!(
                    "udp {to}: sent one datagram, no answer within {}s",
                    WAIT.as_secs()
                ),
            }
        }
        Shot::Ping(ip) => ping(ip)?,
    })
}

/// One ICMP echo request on a raw socket (root has CAP_NET_RAW), and its reply if one comes.
fn ping(ip: Ipv4Addr) -> Result<String, TraceError> {
    let err = |what| move |e: nix::Error| TraceError::Probe(what, e.into());
    let fd = socket::socket(
        AddressFamily::Inet,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::Icmp,
    )
    .map_err(err("open a raw ICMP socket"))?;
    let mut echo = [8u8, 0, 0, 0, 0x0d, 0xe0, 0, 1, b'd', b'e', b'n', b'!'];
    let sum = checksum(&echo);
    echo[2..4].copy_from_slice(&sum.to_be_bytes());
    let to = SockaddrIn::from(SocketAddrV4::new(ip, 0));
    socket::sendto(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &echo,
        &to,
        MsgFlags::empty(),
    )
    .map_err(err("send the echo request"))?;
    let mut file = File::from(fd);
    let tv = nix::sys::time::TimeVal::new(WAIT.as_secs() as i64, 0);
    socket::setsockopt(&file, socket::sockopt::ReceiveTimeout, &tv)
        .map_err(err("set a receive timeout"))?;
    let mut buf = [0u8; 1500];
    Ok(match file.read(&mut buf) {
        Ok(n) if n > 20 && buf[20] == 0 => format!("ping {ip}: echo reply"),
        Ok(_) => format!("ping {ip}: an ICMP answer that is not an echo reply"),
        Err(_) => format!("ping {ip}: no reply within {}s", WAIT.as_secs()),
    })
}

fn checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = b
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

impl Drop for Probe {
    fn drop(&mut self) {
        // The veth would go with the namespace anyway, but asynchronously: delete it now.
        let veth = self.veth.clone();
        let _ = crate::rt::block_on(async move {
            let host = Netlink::open_current().ok()?;
            let index = host.link_index(&veth).await.ok()??;
            host.delete_link(index).await.ok()
        });
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn icmp_checksum_of_an_echo_request() {
        // 08 00 [csum] 00 01 00 01: the classic example, checksum f7fd.
        assert_eq!(super::checksum(&[8, 0, 0, 0, 0, 1, 0, 1]), 0xf7fd);
    }
}
