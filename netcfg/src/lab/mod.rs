//! Seed 001's lab modes for `den run --network`:
//! - `isolated`: the container's own netns with `lo` and a `dummy0` holding 192.168.222.10/24
//!   (seed 001's address): an address to serve on, and no way in or out;
//! - `hostonly`: a veth straight to the host, a /31 of its own from 169.254.0.0/16 (link-local:
//!   never routed), no bridge, no NAT and no default route: the container reaches the host and
//!   nothing else.
//!
//! And seed 001's bridged mode, `den network create --uplink` ([`uplink`]).
//!
//! The two `--network` modes live and die with the container's netns: the dummy is inside it, and the veth's host end
//! goes when its peer's namespace does. Nothing to record, nothing for gc.

mod hostonly;
pub mod uplink;

use std::fs::File;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, BorrowedFd};

use ipnet::Ipv4Net;
use rtnetlink::LinkDummy;

use crate::lock::LockError;
use crate::netlink::{Cause, Netlink, NetlinkError};

pub use hostonly::HostOnly;

/// The address seed 001 gives dummy0.
pub const ISOLATED_ADDR: &str = "192.168.222.10/24";

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("--network isolated needs the kernel's dummy link type, which this kernel lacks (`ip link add dummy0 type dummy`: {0}); use --network none for lo only")]
    NoDummy(#[source] Cause),
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("--network hostonly: no free /31 in 169.254.0.0/16 that no host route covers")]
    NoSubnet,
    #[error("starting a tokio runtime for netlink")]
    Runtime(#[source] io::Error),
    #[error("uplink {uplink}: {why}")]
    Uplink { uplink: String, why: String },
    #[error("moving the uplink: {what}")]
    Move {
        what: &'static str,
        #[source]
        source: Cause,
    },
    #[error("saving what was on the uplink in {}", path.display())]
    Save {
        path: std::path::PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("opening the network namespace {}", path.display())]
    Netns {
        path: std::path::PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("--network isolated: checking for the dummy link type in a scratch namespace")]
    Scratch(#[source] io::Error),
}

/// A lab mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Isolated,
    HostOnly,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "isolated" => Some(Mode::Isolated),
            "hostonly" => Some(Mode::HostOnly),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Isolated => "isolated",
            Mode::HostOnly => "hostonly",
        }
    }

    /// Step 1: whether this kernel can make the mode at all (isolated: the dummy link type,
    /// tried in a scratch netns of a thread of ours, so nothing is left anywhere). Must not be
    /// called inside a tokio runtime.
    pub fn check(self) -> Result<(), LabError> {
        if self == Mode::HostOnly {
            return Ok(());
        }
        let ns = std::thread::spawn(|| -> io::Result<File> {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)?;
            File::open("/proc/thread-self/ns/net")
        })
        .join()
        .map_err(|_| LabError::Scratch(io::Error::other("thread panicked")))?
        .map_err(LabError::Scratch)?;
        crate::rt::block_on(async {
            let nl = Netlink::open_in(ns.as_fd())?;
            add_dummy(&nl).await.map(|_| ())
        })
        .map_err(LabError::Runtime)?
    }
}

/// Sets the mode up in `netns` (the container's): `lo` up, then dummy0 or the host-only veth.
/// `root` is den's state root (hostonly takes den's network lock while it picks a /31).
pub fn setup(
    mode: Mode,
    netns: BorrowedFd<'_>,
    root: &std::path::Path,
    id: &str,
) -> Result<Option<HostOnly>, LabError> {
    crate::rt::block_on(async {
        let inside = Netlink::open_in(netns)?;
        if let Some(lo) = inside.link_index("lo").await? {
            inside.set_up(lo).await?;
        }
        match mode {
            Mode::Isolated => {
                let index = add_dummy(&inside).await?;
                let addr: Ipv4Net = ISOLATED_ADDR.parse().expect("constant");
                inside.add_address(index, addr).await?;
                inside.set_up(index).await?;
                Ok(None)
            }
            Mode::HostOnly => hostonly::setup(&inside, netns, root, id).await.map(Some),
        }
    })
    .map_err(LabError::Runtime)?
}

/// `ip link add dummy0 type dummy`; returns its index.
async fn add_dummy(nl: &Netlink) -> Result<u32, LabError> {
    let added = nl
        .handle()
        .link()
        .add(LinkDummy::new("dummy0").build())
        .execute()
        .await;
    added.map_err(|e| LabError::NoDummy(e.into()))?;
    let index = nl.link_index("dummy0").await?;
    index.ok_or(LabError::NoDummy(Cause::Missing(
        "dummy0 after creating it",
    )))
}

/// The addresses of a host-only pair: the host's end and the container's.
pub fn pair(net: Ipv4Net) -> (Ipv4Addr, Ipv4Addr) {
    let base = u32::from(net.network());
    (Ipv4Addr::from(base), Ipv4Addr::from(base + 1))
}
