//! netcfg's one front: a [`Networks`] handle over a state root, synchronous, for any caller that
//! holds a network namespace by its path (`den run` has `/proc/PID/ns/net`, a CNI plugin
//! `CNI_NETNS`).
//!
//! `plan` validates a request before anything exists, `attach` applies a plan to a netns, `check`
//! compares an attachment with the kernel, `detach` undoes an attachment, `loopback_only` is `--network none`, `ip_free` and `members` read the
//! leases, `collect` is gc's network sweep. Each call takes the network lock and runs its netlink
//! work on a current-thread runtime of its own, both inside netcfg: callers see neither (threads
//! are safe by the time anyone calls: `den run` clones the container first).
//!
//! ```compile_fail
//! // The network lock, leases, the port allocator, the async runtime and gc's internals are
//! // netcfg's own: nothing outside can name them.
//! use den_netcfg::lock::NetLock;
//! ```
//! ```compile_fail
//! use den_netcfg::ipam::leases;
//! ```
//! ```compile_fail
//! use den_netcfg::portalloc::Reservation;
//! ```
//! ```compile_fail
//! use den_netcfg::rt::block_on;
//! ```
//! ```compile_fail
//! use den_netcfg::gc::sweep;
//! ```

use std::fs::File;
use std::future::Future;
use std::net::Ipv4Addr;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use crate::attach::{AttachError, Attachment, Plan, Request};
use crate::detach::{DetachError, Unplug, VethDeletion};
use crate::firewall::{Firewall, FirewallError};
use crate::gc::{Owners, Sweep, SweepError};
use crate::ipam;
use crate::lock::NetLock;

/// den's networks under one state root (`--root`): `networks/`, `net.lock`, the leases and the
/// host-port records. Holds nothing open; each call locks what it needs.
#[derive(Debug, Clone)]
pub struct Networks {
    root: PathBuf,
}

/// One container on a network, as its lease says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub ip: Ipv4Addr,
    /// The full container id that holds the lease.
    pub owner: String,
}

/// gc's view of the networks while it holds the network lock (see [`Networks::collect`]).
pub struct Collection<'a> {
    lock: &'a NetLock,
}

impl Networks {
    /// The networks of state root `root` (made absolute against the current directory).
    pub fn new(root: &Path) -> Networks {
        Networks {
            root: std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf()),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Validate `req` before anything is created: the network exists and is sane, `--ip` may be
    /// leased, the host ports are free now (checked again under the lock by `attach`).
    pub fn plan(&self, req: &Request<'_>) -> Result<Plan, AttachError> {
        Plan::new(&self.root, req)
    }

    /// Attach the network namespace at `netns` as `plan` says: bridge, veth, lease, addresses and
    /// routes, firewall. On error everything made so far is undone.
    pub fn attach(&self, plan: Plan, netns: &Path) -> Result<Attachment, AttachError> {
        let ns = open_netns(netns)?;
        block_on(plan.apply(ns.as_fd()))?
    }

    /// Remove what `att` describes; idempotent, goes on past each failure.
    pub fn detach(&self, att: &Attachment) -> Result<(), DetachError> {
        self.detach_by(att, VethDeletion::Thread, Firewall::new())
    }

    /// [`Networks::detach`], with the host veth's deletion handed to `spawn`, which should start
    /// [`Unplug::run`] in a process of its own and say whether it did (if not, netcfg deletes it
    /// here). That process inherits den's nftables socket; it should keep its fds until it ends. Returns once the firewall elements, host ports and lease are gone and the veth is no
    /// longer listed; the kernel's RCU waits after that are the other process's. Call it before
    /// any tokio runtime exists in this thread (a fork inside one would copy it).
    pub fn detach_with(
        &self,
        att: &Attachment,
        spawn: impl FnOnce(Unplug) -> bool,
    ) -> Result<(), DetachError> {
        let unplug = Unplug {
            name: att.host_veth.clone(),
        };
        // Made before `spawn`: a process started there holds the context's socket too, so the
        // close that waits for an RCU grace period (the last one) is that process's, not ours.
        let fw = Firewall::new();
        let how = match spawn(unplug) {
            true => VethDeletion::Elsewhere,
            false => VethDeletion::Thread,
        };
        self.detach_by(att, how, fw)
    }

    fn detach_by(
        &self,
        att: &Attachment,
        how: VethDeletion,
        fw: Result<Firewall, FirewallError>,
    ) -> Result<(), DetachError> {
        block_on(crate::detach::detach(&self.root, att, how, fw)).unwrap_or_else(|e| {
            Err(DetachError {
                container: att.container_name.clone(),
                network: att.network.clone(),
                errors: vec![e],
            })
        })
    }

    /// Is `path` a network namespace `attach` could open? (For a caller that must refuse a bad
    /// path before it makes anything, as a CNI plugin must.)
    pub fn check_netns(&self, path: &Path) -> Result<(), AttachError> {
        open_netns(path).map(drop)
    }

    /// Is `att` (its interface called `ifname` in the netns at `netns`) still as attached? The
    /// first difference found is [`AttachError::CheckFailed`].
    pub fn check(&self, att: &Attachment, netns: &Path, ifname: &str) -> Result<(), AttachError> {
        let ns = open_netns(netns)?;
        block_on(crate::check::check(&self.root, att, ns.as_fd(), ifname))?
    }

    /// `--network none`: only `lo` in the netns at `netns`, brought up.
    pub fn loopback_only(&self, netns: &Path) -> Result<(), AttachError> {
        let ns = open_netns(netns)?;
        block_on(crate::detach::loopback_only(ns.as_fd()))?
    }

    /// `--network isolated|hostonly`: seed 001's lab modes in the netns at `netns` (container `id`);
    /// what they make lives and dies with that namespace.
    pub fn lab(
        &self,
        mode: crate::lab::Mode,
        netns: &Path,
        id: &str,
    ) -> Result<Option<crate::lab::HostOnly>, crate::lab::LabError> {
        let ns = File::open(netns).map_err(|source| crate::lab::LabError::Netns {
            path: netns.to_path_buf(),
            source,
        })?;
        crate::lab::setup(mode, ns.as_fd(), &self.root, id)
    }

    /// Is `ip` on `network` free for container `owner` (unleased, or leased to it already)?
    pub fn ip_free(&self, network: &str, ip: Ipv4Addr, owner: &str) -> Result<bool, AttachError> {
        let lock = NetLock::acquire(&self.root)?;
        let holder = ipam::holder(&lock, &self.root, network, ip)?;
        Ok(holder.is_none_or(|o| o == owner))
    }

    /// Run `f` on the members of `network` while holding the network lock, so that what `f` writes
    /// from them (every member's /etc/hosts) cannot be overtaken by a staler list: a lease exists
    /// from attach to detach, exactly while its container is on the network.
    pub fn members<R>(
        &self,
        network: &str,
        f: impl FnOnce(&[Member]) -> R,
    ) -> Result<R, AttachError> {
        let lock = NetLock::acquire(&self.root)?;
        let members: Vec<Member> = ipam::leases(&lock, &self.root, network)?
            .into_iter()
            .map(|(ip, owner)| Member { ip, owner })
            .collect();
        let out = f(&members);
        drop(lock);
        Ok(out)
    }

    /// Run `f` while holding the network lock: no attach can make an object meanwhile, so the
    /// owners `f` reads from the container records are complete, and [`Collection::sweep`] removes
    /// exactly what dead ones left.
    pub fn collect<R>(&self, f: impl FnOnce(&Collection<'_>) -> R) -> Result<R, AttachError> {
        let lock = NetLock::acquire(&self.root)?;
        let out = f(&Collection { lock: &lock });
        drop(lock);
        Ok(out)
    }
}

impl Collection<'_> {
    /// Remove every network object whose owner is dead (see [`Owners`]); goes on past each failure.
    pub fn sweep(&self, owners: &Owners) -> Sweep {
        crate::rt::block_on(crate::gc::sweep(self.lock, owners)).unwrap_or_else(|e| Sweep {
            removed: Vec::new(),
            failed: vec![SweepError::Runtime(e)],
        })
    }
}

/// Open `path`, which must be a network namespace (nsfs: `/proc/PID/ns/net`, `/run/netns/NAME`).
fn open_netns(path: &Path) -> Result<File, AttachError> {
    let err = |source| AttachError::Netns {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(err)?;
    let fs = nix::sys::statfs::fstatfs(&file).map_err(|e| err(e.into()))?;
    if fs.filesystem_type() != nix::sys::statfs::NSFS_MAGIC {
        return Err(AttachError::NotNetns {
            path: path.to_path_buf(),
        });
    }
    Ok(file)
}

fn block_on<F: Future>(f: F) -> Result<F::Output, AttachError> {
    crate::rt::block_on(f).map_err(AttachError::Runtime)
}
