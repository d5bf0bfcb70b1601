//! Errors of the netlink layer: each names the operation and the link or address it was about, and keeps the
//! kernel's errno so callers can branch on `EEXIST`, `ENODEV` and friends.

use std::io;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// Why one netlink request failed.
#[derive(Debug, thiserror::Error)]
pub enum Cause {
    /// The kernel answered with an error code.
    #[error(transparent)]
    Kernel(io::Error),
    /// The request could not be sent or the answer could not be understood.
    #[error(transparent)]
    Protocol(rtnetlink::Error),
    /// The kernel's answer lacked something it always carries.
    #[error("the kernel's reply has no {0}")]
    Missing(&'static str),
}

impl Cause {
    /// The kernel's errno, if the kernel refused the request.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Self::Kernel(e) => e.raw_os_error(),
            Self::Protocol(_) | Self::Missing(_) => None,
        }
    }
}

impl From<rtnetlink::Error> for Cause {
    fn from(e: rtnetlink::Error) -> Self {
        match e {
            rtnetlink::Error::NetlinkError(msg) if msg.code.is_some() => Self::Kernel(msg.to_io()),
            other => Self::Protocol(other),
        }
    }
}

/// A failed netlink operation.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("netlink needs a tokio runtime on the calling thread")]
    NoRuntime,
    #[error("open a netlink socket")]
    Socket(#[source] io::Error),
    #[error("start a thread to enter the network namespace")]
    Thread(#[source] io::Error),
    #[error("the thread entering the network namespace panicked")]
    ThreadPanicked,
    #[error("enter the network namespace")]
    EnterNetns(#[source] nix::Error),
    #[error("invalid interface name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error("look up link {name}")]
    LookupName { name: String, source: Cause },
    #[error("read link {index}")]
    GetLink { index: u32, source: Cause },
    #[error("list links")]
    ListLinks(#[source] Cause),
    #[error("link {name} exists but is not a bridge (it is a {})", .kind.as_deref().unwrap_or("device"))]
    NotABridge { name: String, kind: Option<String> },
    #[error("create bridge {name}")]
    CreateBridge { name: String, source: Cause },
    #[error("set MTU {mtu} on link {index}")]
    SetMtu { index: u32, mtu: u32, source: Cause },
    #[error("create veth pair {host} / {peer}")]
    CreateVeth {
        host: String,
        peer: String,
        source: Cause,
    },
    #[error("attach link {index} to bridge {master}")]
    SetMaster {
        index: u32,
        master: u32,
        source: Cause,
    },
    #[error("bring link {index} up")]
    SetUp { index: u32, source: Cause },
    #[error("set hairpin mode {} on bridge port {index}", if *.on { "on" } else { "off" })]
    SetHairpin { index: u32, on: bool, source: Cause },
    #[error("read bridge port {index}")]
    GetBridgePort { index: u32, source: Cause },
    #[error("add address {addr} to link {index}")]
    AddAddress {
        index: u32,
        addr: Ipv4Net,
        source: Cause,
    },
    #[error("list addresses of link {index}")]
    ListAddresses { index: u32, source: Cause },
    #[error("add default route via {gateway}")]
    AddDefaultRoute { gateway: Ipv4Addr, source: Cause },
    #[error("list IPv4 routes")]
    ListRoutes(#[source] Cause),
    #[error("delete link {index}")]
    DeleteLink { index: u32, source: Cause },
}

impl NetlinkError {
    /// The kernel's errno behind this error, if the kernel refused the request (e.g. `libc::EEXIST`).
    pub fn errno(&self) -> Option<i32> {
        match self {
            Self::NoRuntime
            | Self::Thread(_)
            | Self::ThreadPanicked
            | Self::InvalidName { .. }
            | Self::NotABridge { .. } => None,
            Self::Socket(e) => e.raw_os_error(),
            Self::EnterNetns(e) => Some(*e as i32),
            Self::LookupName { source, .. }
            | Self::GetLink { source, .. }
            | Self::CreateBridge { source, .. }
            | Self::SetMtu { source, .. }
            | Self::CreateVeth { source, .. }
            | Self::SetMaster { source, .. }
            | Self::SetUp { source, .. }
            | Self::SetHairpin { source, .. }
            | Self::GetBridgePort { source, .. }
            | Self::AddAddress { source, .. }
            | Self::ListAddresses { source, .. }
            | Self::AddDefaultRoute { source, .. }
            | Self::DeleteLink { source, .. } => source.errno(),
            Self::ListLinks(c) | Self::ListRoutes(c) => c.errno(),
        }
    }
}
