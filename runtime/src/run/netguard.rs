//! Step 4's guard: the container's network attachment, detached on drop unless detached explicitly.

use std::fs::File;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use den_netcfg::{AttachError, Attachment, DetachError, Plan};

use super::RunError;

pub struct NetGuard {
    root: PathBuf,
    attached: Option<Attachment>,
}

impl NetGuard {
    pub fn new(root: &Path) -> Self {
        NetGuard {
            root: root.to_path_buf(),
            attached: None,
        }
    }

    /// Attach the netns of `pid` (`/proc/PID/ns/net`) as `plan` says. Runs netcfg's async work on a
    /// current-thread runtime: the child has been cloned already, so threads are safe from here on.
    pub fn attach(&mut self, plan: Plan, pid: i32) -> Result<Attachment, AttachError> {
        let path = format!("/proc/{pid}/ns/net");
        let netns = File::open(&path).map_err(|e| AttachError::Netns { path, source: e })?;
        let att = den_netcfg::rt::block_on(plan.apply(netns.as_fd()))
            .expect("a current-thread tokio runtime")?;
        self.attached = Some(att.clone());
        Ok(att)
    }

    /// `--network none`: bring up `lo` in the netns of `pid`; nothing to undo.
    pub fn loopback_only(&mut self, pid: i32) -> Result<(), AttachError> {
        let path = format!("/proc/{pid}/ns/net");
        let netns = File::open(&path).map_err(|e| AttachError::Netns { path, source: e })?;
        den_netcfg::rt::block_on(den_netcfg::loopback_only(netns.as_fd()))
            .expect("a current-thread tokio runtime")
    }

    /// `--network isolated|hostonly`: seed 001's lab modes; they live and die with the netns.
    pub fn lab(&mut self, mode: den_netcfg::lab::Mode, pid: i32, id: &str) -> Result<(), RunError> {
        let path = format!("/proc/{pid}/ns/net");
        let netns = File::open(&path).map_err(|e| AttachError::Netns { path, source: e })?;
        let made = den_netcfg::lab::setup(mode, netns.as_fd(), &self.root, id).map_err(Box::new)?;
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
    }

    /// Detach now, reporting what could not be undone.
    pub fn detach(&mut self) -> Result<(), DetachError> {
        match self.attached.take() {
            Some(att) => den_netcfg::rt::block_on(den_netcfg::detach(&self.root, &att))
                .expect("a current-thread tokio runtime"),
            None => Ok(()),
        }
    }
}

impl Drop for NetGuard {
    fn drop(&mut self) {
        // Best effort on the error path; the explicit `detach` reports its errors.
        let _ = self.detach();
    }
}
