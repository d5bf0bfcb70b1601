//! Taking a container off its network: the undo of `attach`, and `--network none`'s loopback.

use std::os::fd::BorrowedFd;
use std::path::Path;

use crate::attach::{AttachError, Attachment};
use crate::firewall::Firewall;
use crate::ipam;
use crate::lock::NetLock;
use crate::netlink::Netlink;
use crate::portalloc;

/// Everything a teardown could not do; teardown goes on past each failure.
#[derive(Debug, thiserror::Error)]
#[error("detaching {container} from network {network}: {}", .errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
pub struct DetachError {
    pub container: String,
    pub network: String,
    pub errors: Vec<AttachError>,
}

/// Remove what `att` describes: firewall elements, lease, host veth (gone already if the netns died).
/// Idempotent. Must run inside a tokio runtime.
pub async fn detach(root: &Path, att: &Attachment) -> Result<(), DetachError> {
    let mut errors = Vec::new();
    match NetLock::acquire(root) {
        Ok(lock) => {
            match Firewall::new() {
                Ok(mut fw) => {
                    if let Err(e) = fw.remove_container(&att.rules()) {
                        errors.push(e.into());
                    }
                }
                Err(e) => errors.push(e.into()),
            }
            if let Err(e) = portalloc::release(&lock, &att.container_id) {
                errors.push(e.into());
            }
            if let Err(e) = ipam::release(&lock, root, &att.network, &att.container_id) {
                errors.push(e.into());
            }
        }
        Err(e) => errors.push(e.into()),
    }
    if let Err(e) = delete_host_veth(&att.host_veth).await {
        errors.push(e);
    }
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
pub async fn loopback_only(netns: BorrowedFd<'_>) -> Result<(), AttachError> {
    let nl = Netlink::open_in(netns)?;
    let lo = nl
        .link_index("lo")
        .await?
        .ok_or(AttachError::MissingLink("lo"))?;
    Ok(nl.set_up(lo).await?)
}
