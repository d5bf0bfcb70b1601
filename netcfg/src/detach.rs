//! Taking a container off its network (the undo of `attach`), and `--network none`'s loopback.

use std::os::fd::BorrowedFd;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::attach::{AttachError, Attachment};
use crate::firewall::{ContainerRules, Firewall, FirewallError};
use crate::ipam;
use crate::lock::NetLock;
use crate::netlink::Netlink;
use crate::portalloc;

/// Everything a teardown could not do; teardown goes on past each failure.
#[derive(Debug, thiserror::Error)]
#[error("detaching {container} from network {network}: {}", .errors.iter().map(|e| crate::one_line(e)).collect::<Vec<_>>().join("; "))]
pub struct DetachError {
    pub container: String,
    pub network: String,
    pub errors: Vec<AttachError>,
}

/// Who deletes the host veth while `detach` updates the firewall and the records.
pub(crate) enum VethDeletion {
    /// A thread of this process, joined before `detach` returns.
    Thread,
    /// Another process (see [`Unplug`]), already started: `detach` waits only until the link is no
    /// longer listed, not for the kernel's RCU waits that follow.
    Elsewhere,
}

/// The kernel's part of taking a container's host veth away, for the caller to run in a process
/// of its own (netcfg never forks). RTM_DELLINK makes the link vanish from every listing early,
/// then blocks its sender in the kernel's RCU waits (`synchronize_net`, `rcu_barrier`) for tens of
/// milliseconds on a busy machine: a process that does not hold the user's terminal can wait them
/// out. [`crate::Networks::detach_with`] returns only once the link is gone from listings.
#[derive(Debug)]
pub struct Unplug {
    pub(crate) name: String,
}

impl Unplug {
    /// Delete the host veth (gone already is fine). Blocks for the kernel's waits; must not be
    /// called inside a tokio runtime.
    pub fn run(self) -> Result<(), AttachError> {
        delete_host_veth_blocking(&self.name)
    }
}

/// Remove what `att` describes: firewall elements, host ports, lease, host veth (gone already if the
/// netns died). Idempotent; goes on past each failure. Must run inside a tokio runtime.
///
/// Both kernel-side deletions end in an RCU grace period (a veth's unregister; nftables frees deleted
/// elements after one, and closing the nft socket waits for that), several milliseconds each on a busy
/// machine. So the veth is deleted elsewhere (a thread, or another process: `veth`) while the
/// firewall, the port allocator and IPAM are updated here, and the nft context is closed last: the
/// waits overlap instead of adding up.
pub(crate) async fn detach(
    root: &Path,
    att: &Attachment,
    veth: VethDeletion,
    fw: Result<Firewall, FirewallError>,
) -> Result<(), DetachError> {
    let mut errors = Vec::new();
    let veth_name = att.host_veth.clone();
    let thread = match veth {
        VethDeletion::Thread => Some(std::thread::spawn(move || {
            delete_host_veth_blocking(&veth_name)
        })),
        VethDeletion::Elsewhere => None,
    };
    let mut fw = fw.map_err(|e| errors.push(e.into())).ok();
    match NetLock::acquire(root) {
        Ok(lock) => {
            // The host ports the allocator says were this container's are its elements' keys:
            // deleted by key, with no listing of den's table; any other mapping it lists (its
            // reservation lost) only where the element still leads to this container.
            // An attachment that publishes nothing (a `den network connect`) leaves the
            // container's other reservations alone.
            let owned = portalloc::release(&lock, &att.container_id, &att.ports);
            let owned = owned.unwrap_or_else(|e| {
                errors.push(e.into());
                Vec::new()
            });
            let (mine, unsure): (Vec<_>, Vec<_>) =
                att.ports.iter().cloned().partition(|m| owned.contains(m));
            if let Some(f) = fw.as_mut() {
                let rules = att.rules();
                let removed = f
                    .remove_owned(&ContainerRules {
                        ports: &mine,
                        ..rules
                    })
                    .and_then(|()| {
                        f.remove_container(&ContainerRules {
                            ports: &unsure,
                            ..rules
                        })
                    });
                if let Err(e) = removed {
                    errors.push(e.into());
                }
                crate::trace::step(|| {
                    format!("nft delete element ... # ports of {}", att.container_name)
                });
            }
            if let Err(e) = ipam::release(&lock, root, &att.network, &att.container_id) {
                errors.push(e.into());
            }
            crate::trace::step(|| format!("# lease {} and host ports released", att.ip));
        }
        Err(e) => errors.push(e.into()),
    }
    let deleted = match thread {
        Some(t) => t.join().unwrap_or(Err(AttachError::VethThread)),
        None => wait_unlisted(&att.host_veth).await,
    };
    if let Err(e) = deleted {
        errors.push(e);
    }
    crate::trace::step(|| format!("ip link del {}", att.host_veth));
    drop(fw);
    crate::trace::step(|| "# nft context closed".into());
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DetachError {
            container: att.container_name.clone(),
            network: att.network.clone(),
            errors,
        })
    }
}

/// How long another process may take to make the host veth vanish before `detach` deletes it itself.
const UNLIST_WAIT: Duration = Duration::from_secs(5);

/// Wait until no link called `name` is listed (the deleting process got past the kernel's unlist);
/// past [`UNLIST_WAIT`], delete it here.
async fn wait_unlisted(name: &str) -> Result<(), AttachError> {
    let nl = Netlink::open_current()?;
    let deadline = Instant::now() + UNLIST_WAIT;
    while nl.link_index(name).await?.is_some() {
        if Instant::now() >= deadline {
            return delete_host_veth(name).await;
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    Ok(())
}

fn delete_host_veth_blocking(name: &str) -> Result<(), AttachError> {
    crate::rt::block_on(delete_host_veth(name)).map_err(AttachError::Runtime)?
}

async fn delete_host_veth(name: &str) -> Result<(), AttachError> {
    let nl = Netlink::open_current()?;
    if let Some(index) = nl.link_index(name).await? {
        match nl.delete_link(index).await {
            Err(e) if e.errno() != Some(libc::ENODEV) => return Err(e.into()),
            _ => {}
        }
    }
    Ok(())
}

/// `--network none`: the container's own netns with only `lo`, brought up (as docker does).
/// Must run inside a tokio runtime.
pub(crate) async fn loopback_only(netns: BorrowedFd<'_>) -> Result<(), AttachError> {
    let nl = Netlink::open_in(netns)?;
    let lo = nl
        .link_index("lo")
        .await?
        .ok_or_else(|| AttachError::MissingLink("lo".into()))?;
    Ok(nl.set_up(lo).await?)
}
