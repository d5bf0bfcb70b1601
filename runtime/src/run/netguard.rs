//! Step 4's guard: the container's network attachment, detached on drop unless detached explicitly.

use std::path::{Path, PathBuf};

use den_netcfg::{AttachError, Attachment, DetachError, Networks, Plan};

use super::RunError;

pub struct NetGuard {
    networks: Networks,
    attached: Option<Attachment>,
    /// The networks `den network connect` had added, attached again by `den start`.
    more: Vec<Attachment>,
}

/// The network namespace of process `pid`, as netcfg opens it.
fn netns_of(pid: i32) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/ns/net"))
}

impl NetGuard {
    pub fn new(root: &Path) -> Self {
        NetGuard {
            networks: Networks::new(root),
            attached: None,
            more: Vec::new(),
        }
    }

    /// Attach the netns of `pid` as `plan` says (the child has been cloned already, so netcfg's
    /// threads are safe from here on).
    pub fn attach(&mut self, plan: Plan, pid: i32) -> Result<Attachment, AttachError> {
        let att = self.networks.attach(plan, &netns_of(pid))?;
        self.attached = Some(att.clone());
        Ok(att)
    }

    /// One more network (a `den start` of a container `den network connect` had connected).
    pub fn attach_more(&mut self, plan: Plan, pid: i32) -> Result<Attachment, AttachError> {
        let att = self.networks.attach(plan, &netns_of(pid))?;
        self.more.push(att.clone());
        Ok(att)
    }

    /// `--network isolated|hostonly`: seed 001's lab modes; they live and die with the netns.
    pub fn lab(&mut self, mode: den_netcfg::lab::Mode, pid: i32, id: &str) -> Result<(), RunError> {
        let made = self
            .networks
            .lab(mode, &netns_of(pid), id)
            .map_err(Box::new)?;
        if let Some(h) = made {
            den_netcfg::trace::step(|| {
                format!("ip link add {} type veth peer name eth0 netns <container>; ip addr add {}/31 dev {0} (hostonly)", h.host_veth, den_netcfg::lab::pair(h.net).0)
            });
        }
        Ok(())
    }

    /// Forget the attachment: someone else detaches it (from the container's record).
    pub fn disarm(&mut self) {
        self.attached = None;
        self.more.clear();
    }

    /// Detach now, reporting what could not be undone (every attachment is tried; the first
    /// error is kept).
    pub fn detach(&mut self) -> Result<(), DetachError> {
        let mut out = match self.attached.take() {
            Some(att) => self.networks.detach(&att),
            None => Ok(()),
        };
        for att in std::mem::take(&mut self.more) {
            let r = self.networks.detach(&att);
            if out.is_ok() {
                out = r;
            }
        }
        out
    }
}

impl Drop for NetGuard {
    fn drop(&mut self) {
        // Best effort on the error path; the explicit `detach` reports its errors.
        let _ = self.detach();
    }
}
