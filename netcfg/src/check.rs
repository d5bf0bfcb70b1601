//! Is an attachment still what `attach` made? (a CNI plugin's CHECK): the lease, the host veth on
//! its bridge, and the interface with its address inside the netns.

use std::os::fd::BorrowedFd;
use std::path::Path;

use crate::attach::{AttachError, Attachment};
use crate::ipam;
use crate::lock::NetLock;
use crate::netlink::Netlink;

/// Compare the kernel and the leases with `att` (its interface in the netns called `ifname`); the
/// first difference is the error. Must run inside a tokio runtime.
pub(crate) async fn check(
    root: &Path,
    att: &Attachment,
    netns: BorrowedFd<'_>,
    ifname: &str,
) -> Result<(), AttachError> {
    let differs = |what: String| Err(AttachError::CheckFailed(what));
    {
        let lock = NetLock::acquire(root)?;
        let holder = ipam::holder(&lock, root, &att.network, att.ip)?;
        if holder.as_ref() != Some(&att.container_id) {
            return differs(format!(
                "{} is no longer leased to this attachment on network {}",
                att.ip, att.network
            ));
        }
    }
    let host = Netlink::open_current()?;
    let Some(bridge) = host.link_index(&att.bridge).await? else {
        return differs(format!("bridge {} is gone", att.bridge));
    };
    match host.link_by_name(&att.host_veth).await? {
        None => return differs(format!("host veth {} is gone", att.host_veth)),
        Some(l) if l.master != Some(bridge) => {
            return differs(format!(
                "host veth {} is not on {}",
                att.host_veth, att.bridge
            ))
        }
        Some(_) => {}
    }
    let inside = Netlink::open_in(netns)?;
    let Some(link) = inside.link_by_name(ifname).await? else {
        return differs(format!("the netns has no {ifname}"));
    };
    if !link.up {
        return differs(format!("{ifname} is down in the netns"));
    }
    let want = ipnet::Ipv4Net::new(att.ip, att.prefix_len).expect("prefix of a valid subnet");
    if !inside.addresses_v4(link.index).await?.contains(&want) {
        return differs(format!("{ifname} in the netns lacks {want}"));
    }
    Ok(())
}
