//! nftables trace events: a NETLINK_NETFILTER socket subscribed to NFNLGRP_NFTRACE, and the
//! parsing of NFT_MSG_TRACE messages (what `nft monitor trace` reads).

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, BorrowedFd};

use netlink_sys::{protocols::NETLINK_NETFILTER, Socket};

const NFNLGRP_NFTRACE: u32 = 9;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_TRACE: u16 = 17;
/// nlmsghdr (16) + nfgenmsg (4).
const HEADERS: usize = 20;
const NLA_F_NESTED: u16 = 1 << 15;

const NFTA_TRACE_TABLE: u16 = 1;
const NFTA_TRACE_CHAIN: u16 = 2;
const NFTA_TRACE_RULE_HANDLE: u16 = 3;
const NFTA_TRACE_TYPE: u16 = 4;
const NFTA_TRACE_VERDICT: u16 = 5;
const NFTA_TRACE_ID: u16 = 6;
const NFTA_TRACE_NETWORK_HEADER: u16 = 8;
const NFTA_TRACE_TRANSPORT_HEADER: u16 = 9;
const NFTA_TRACE_IIF: u16 = 10;
const NFTA_TRACE_OIF: u16 = 12;
const NFTA_TRACE_POLICY: u16 = 16;
const NFTA_VERDICT_CODE: u16 = 1;
const NFTA_VERDICT_CHAIN: u16 = 2;

/// One trace event: a rule that matched, a chain's policy, or a return.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    /// Same for every event of one packet.
    pub id: u32,
    pub family: u8,
    pub table: String,
    pub chain: String,
    /// 1 policy, 2 return, 3 rule.
    pub kind: u32,
    pub handle: Option<u64>,
    pub verdict: Option<i32>,
    pub jump: Option<String>,
    pub iif: Option<u32>,
    pub oif: Option<u32>,
    pub network: Vec<u8>,
    pub transport: Vec<u8>,
}

impl Event {
    pub fn verdict_text(&self) -> String {
        let v = match self.verdict {
            Some(0) => "drop",
            Some(1) => "accept",
            Some(2) => "stolen",
            Some(3) => "queue",
            Some(4) => "repeat",
            Some(5) => "stop",
            Some(-1) => "continue",
            Some(-2) => "break",
            Some(-3) => "jump",
            Some(-4) => "goto",
            Some(-5) => "return",
            Some(_) => "verdict",
            None => "",
        };
        match &self.jump {
            Some(c) => format!("{v} {c}"),
            None => v.to_string(),
        }
    }

    /// What stays the same for one packet across hooks and NAT (the kernel's trace id does not):
    /// IP id, length and protocol, and TCP sequence numbers and flags, UDP length, or ICMP id and
    /// sequence. `None` for an event without headers.
    pub fn identity(&self) -> Option<Vec<u8>> {
        let ip = &self.network;
        if ip.len() < 20 {
            return None;
        }
        let mut key = vec![ip[2], ip[3], ip[4], ip[5], ip[9]];
        let th = &self.transport;
        let more = match ip[9] {
            6 => th.get(4..14),
            17 => th.get(4..6),
            1 => th.get(4..8),
            _ => None,
        };
        key.extend(more.unwrap_or_default());
        Some(key)
    }

    /// `tcp 10.250.0.2:41234 -> 10.250.0.1:8080 [SYN]` from the headers the kernel sent.
    pub fn packet(&self) -> Option<String> {
        let ip = &self.network;
        if ip.len() < 20 || ip[0] >> 4 != 4 {
            return None;
        }
        let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
        let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
        let th = &self.transport;
        let ports = |th: &[u8]| {
            (th.len() >= 4).then(|| {
                (
                    u16::from_be_bytes([th[0], th[1]]),
                    u16::from_be_bytes([th[2], th[3]]),
                )
            })
        };
        Some(match (ip[9], ports(th)) {
            (6, Some((sp, dp))) => {
                let flags = th.get(13).copied().unwrap_or(0);
                let names: Vec<&str> = [
                    (0x02, "SYN"),
                    (0x10, "ACK"),
                    (0x01, "FIN"),
                    (0x04, "RST"),
                    (0x08, "PSH"),
                ]
                .iter()
                .filter(|(bit, _)| flags & bit != 0)
                .map(|(_, n)| *n)
                .collect();
                format!("tcp {src}:{sp} -> {dst}:{dp} [{}]", names.join(" "))
            }
            (17, Some((sp, dp))) => format!("udp {src}:{sp} -> {dst}:{dp}"),
            (1, _) => {
                let kind = match th.first() {
                    Some(8) => "echo request",
                    Some(0) => "echo reply",
                    Some(3) => "unreachable",
                    _ => "icmp",
                };
                format!("icmp {src} -> {dst} {kind}")
            }
            (p, _) => format!("proto {p} {src} -> {dst}"),
        })
    }
}

/// A socket receiving every trace event of the calling thread's network namespace.
pub struct Listener {
    socket: Socket,
}

impl Listener {
    pub fn open() -> io::Result<Listener> {
        let mut socket = Socket::new(NETLINK_NETFILTER)?;
        socket.bind_auto()?;
        socket.add_membership(NFNLGRP_NFTRACE)?;
        socket.set_non_blocking(true)?;
        Ok(Listener { socket })
    }

    /// The events of one datagram; empty when none is waiting.
    pub fn read(&self) -> io::Result<Vec<Event>> {
        let mut buf = Vec::with_capacity(1 << 16);
        match self.socket.recv(&mut buf, 0) {
            Ok(_) => Ok(parse(&buf)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Vec::new()),
            // The kernel dropped events because we were slow: go on with the next ones.
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

/// Every NFT_MSG_TRACE message in a datagram.
pub fn parse(mut buf: &[u8]) -> Vec<Event> {
    let mut out = Vec::new();
    while buf.len() >= 16 {
        let len = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if len < 16 || len > buf.len() {
            break;
        }
        let kind = u16::from_ne_bytes([buf[4], buf[5]]);
        if kind == (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_TRACE && len >= HEADERS {
            let mut e = Event {
                family: buf[16],
                ..Event::default()
            };
            for (t, v) in attrs(&buf[HEADERS..len]) {
                match t {
                    NFTA_TRACE_TABLE => e.table = string(v),
                    NFTA_TRACE_CHAIN => e.chain = string(v),
                    NFTA_TRACE_RULE_HANDLE => e.handle = be64(v),
                    NFTA_TRACE_TYPE => e.kind = be32(v).unwrap_or(0),
                    NFTA_TRACE_ID => e.id = be32(v).unwrap_or(0),
                    NFTA_TRACE_NETWORK_HEADER => e.network = v.to_vec(),
                    NFTA_TRACE_TRANSPORT_HEADER => e.transport = v.to_vec(),
                    NFTA_TRACE_IIF => e.iif = be32(v),
                    NFTA_TRACE_OIF => e.oif = be32(v),
                    NFTA_TRACE_POLICY => e.verdict = be32(v).map(|c| c as i32),
                    NFTA_TRACE_VERDICT => {
                        for (vt, vv) in attrs(v) {
                            match vt {
                                NFTA_VERDICT_CODE => e.verdict = be32(vv).map(|c| c as i32),
                                NFTA_VERDICT_CHAIN => e.jump = Some(string(vv)),
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
            out.push(e);
        }
        buf = &buf[(len + 3) & !3..];
        if buf.len() < 16 {
            break;
        }
    }
    out
}

/// (type without flags, value) of each netlink attribute.
fn attrs(mut b: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while b.len() >= 4 {
        let len = u16::from_ne_bytes([b[0], b[1]]) as usize;
        let t = u16::from_ne_bytes([b[2], b[3]]) & !NLA_F_NESTED & 0x3fff;
        if len < 4 || len > b.len() {
            break;
        }
        out.push((t, &b[4..len]));
        b = b.get((len + 3) & !3..).unwrap_or_default();
    }
    out
}

fn string(v: &[u8]) -> String {
    String::from_utf8_lossy(v.split(|b| *b == 0).next().unwrap_or_default()).into_owned()
}

fn be32(v: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(v.get(..4)?.try_into().ok()?))
}

fn be64(v: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(v.get(..8)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(t: u16, v: &[u8]) -> Vec<u8> {
        let mut a = ((4 + v.len()) as u16).to_ne_bytes().to_vec();
        a.extend(t.to_ne_bytes());
        a.extend(v);
        while !a.len().is_multiple_of(4) {
            a.push(0);
        }
        a
    }

    #[test]
    fn parses_a_rule_event_with_its_packet() {
        let mut ip = vec![0x45, 0, 0, 60, 0, 0, 0, 0, 64, 6, 0, 0];
        ip.extend([10, 250, 0, 2, 10, 250, 0, 1]);
        let mut tcp = vec![0xa0, 0x92, 0x1f, 0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x02];
        tcp.extend([0; 6]);
        let mut body = vec![2, 0, 0, 0];
        body.extend(attr(NFTA_TRACE_TABLE, b"den\0"));
        body.extend(attr(NFTA_TRACE_CHAIN, b"prerouting\0"));
        body.extend(attr(NFTA_TRACE_RULE_HANDLE, &12u64.to_be_bytes()));
        body.extend(attr(NFTA_TRACE_TYPE, &3u32.to_be_bytes()));
        body.extend(attr(NFTA_TRACE_ID, &0xabcdu32.to_be_bytes()));
        body.extend(attr(
            NFTA_TRACE_VERDICT | NLA_F_NESTED,
            &attr(NFTA_VERDICT_CODE, &1u32.to_be_bytes()),
        ));
        body.extend(attr(NFTA_TRACE_NETWORK_HEADER, &ip));
        body.extend(attr(NFTA_TRACE_TRANSPORT_HEADER, &tcp));
        let mut msg = ((16 + body.len()) as u32).to_ne_bytes().to_vec();
        msg.extend(((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_TRACE).to_ne_bytes());
        msg.extend([0u8; 10]);
        msg.extend(body);
        let events = parse(&msg);
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(
            (e.id, e.table.as_str(), e.chain.as_str(), e.handle, e.kind),
            (0xabcd, "den", "prerouting", Some(12), 3)
        );
        assert_eq!(e.verdict_text(), "accept");
        assert_eq!(
            e.packet().unwrap(),
            "tcp 10.250.0.2:41106 -> 10.250.0.1:8080 [SYN]"
        );
    }
}
