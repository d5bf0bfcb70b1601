//! Sockets bound in a container's network namespace, read from `/proc/PID/net/{tcp,udp}{,6}`
//! (which show the netns of PID), and the container process holding each one.

use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::ports::Proto;

/// TCP_LISTEN in `/proc/net/tcp`'s `st` column.
const TCP_LISTEN: u8 = 0x0A;
/// TCP_CLOSE: an unconnected UDP socket (bound, receiving from anyone).
const UDP_UNCONNECTED: u8 = 0x07;

/// One socket waiting for packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub addr: IpAddr,
    pub port: u16,
    pub inode: u64,
    /// The table it was read from: `/proc/PID/net/tcp6`.
    pub file: String,
    /// `httpd (pid 4242)`: the container process holding it, when found.
    pub owner: Option<String>,
}

/// Sockets of `proto` bound to `port` in the netns of `pid` (listening TCP, unconnected UDP).
pub fn listeners(pid: i32, proto: Proto, port: u16) -> io::Result<Vec<Listener>> {
    let (name, state) = match proto {
        Proto::Tcp => ("tcp", TCP_LISTEN),
        Proto::Udp => ("udp", UDP_UNCONNECTED),
    };
    let mut found = Vec::new();
    for file in [
        format!("/proc/{pid}/net/{name}"),
        format!("/proc/{pid}/net/{name}6"),
    ] {
        let text = match fs::read_to_string(&file) {
            Ok(t) => t,
            // No IPv6 in this kernel: no tcp6 file.
            Err(e) if e.kind() == io::ErrorKind::NotFound && file.ends_with('6') => continue,
            Err(e) => return Err(e),
        };
        found.extend(
            parse(&text)
                .into_iter()
                .filter(|(st, l)| *st == state && l.port == port)
                .map(|(_, l)| Listener {
                    file: file.clone(),
                    ..l
                }),
        );
    }
    let procs = processes(pid);
    for l in &mut found {
        l.owner = procs.iter().find_map(|p| holds(*p, l.inode));
    }
    Ok(found)
}

/// (state, socket) of each line of a `/proc/net/{tcp,udp}{,6}` table.
fn parse(text: &str) -> Vec<(u8, Listener)> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (addr, port) = f.get(1)?.split_once(':')?;
            Some((
                u8::from_str_radix(f.get(3)?, 16).ok()?,
                Listener {
                    addr: hex_addr(addr)?,
                    port: u16::from_str_radix(port, 16).ok()?,
                    inode: f.get(9)?.parse().ok()?,
                    file: String::new(),
                    owner: None,
                },
            ))
        })
        .collect()
}

/// The kernel prints addresses as 32-bit words in host byte order.
fn hex_addr(hex: &str) -> Option<IpAddr> {
    let words: Option<Vec<u32>> = (0..hex.len() / 8)
        .map(|i| u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16).ok())
        .collect();
    let bytes: Vec<u8> = words?.iter().flat_map(|w| w.to_ne_bytes()).collect();
    match bytes.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::new(
            bytes[0], bytes[1], bytes[2], bytes[3],
        ))),
        16 => Some(IpAddr::V6(Ipv6Addr::from(
            <[u8; 16]>::try_from(bytes).ok()?,
        ))),
        _ => None,
    }
}

impl Listener {
    /// `172.20.0.2:80`, `[::]:80`.
    pub fn local(&self) -> String {
        std::net::SocketAddr::new(self.addr, self.port).to_string()
    }
}

/// `pid` and its descendants (through /proc/PID/task/*/children).
fn processes(pid: i32) -> Vec<i32> {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() && all.len() < 4096 {
        let p = all[i];
        i += 1;
        let Ok(tasks) = fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for t in tasks.flatten() {
            let children = fs::read_to_string(t.path().join("children")).unwrap_or_default();
            all.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<i32>().ok()),
            );
        }
    }
    all
}

/// `COMM (pid N)` if process `pid` has socket `inode` open.
fn holds(pid: i32, inode: u64) -> Option<String> {
    let want = format!("socket:[{inode}]");
    let has = fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .flatten()
        .any(|fd| fs::read_link(fd.path()).is_ok_and(|t| t.as_os_str() == want.as_str()));
    has.then(|| {
        let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        format!("{} (pid {pid})", comm.trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ipv4_and_ipv6_tables() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   \
            0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4711 1 0 100 0 0 10 0\n";
        let got = parse(tcp);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, TCP_LISTEN);
        assert_eq!(got[0].1.addr, "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!((got[0].1.port, got[0].1.inode), (8080, 4711));
        let tcp6 = "  sl  local_address remote_address st tx_queue rx_queue tr tm->when retrnsmt uid timeout inode\n   \
            0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 11885 1 0 100 0 0 10 0\n";
        let got = parse(tcp6);
        assert_eq!(got[0].1.addr, "::".parse::<IpAddr>().unwrap());
        assert_eq!(got[0].1.port, 80);
    }

    #[test]
    fn finds_a_socket_of_this_process() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let me = std::process::id() as i32;
        let got = listeners(me, Proto::Tcp, port).unwrap();
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0]
            .owner
            .as_deref()
            .unwrap()
            .ends_with(&format!("(pid {me})")));
    }
}
