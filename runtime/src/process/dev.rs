//! A minimal /dev: the spec's device nodes (mknod, as real root), the standard symlinks, and the
//! terminal as /dev/console.

use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::AtFlags;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{makedev, mknodat, Mode, SFlag};
use nix::unistd::{fchownat, symlinkat, Gid, Uid};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use super::paths::{FdPath, InRoot};
use super::sync::{Failure, Step};
use super::ProcessError;

/// One device node to create.
pub struct DevicePlan {
    pub path: InRoot,
    kind: SFlag,
    mode: Mode,
    dev: u64,
    owner: Option<(Uid, Gid)>,
    /// In a user namespace (no mknod there): the host's node at this path, bind-mounted (runc's
    /// way).
    host: Option<std::ffi::CString>,
}

impl DevicePlan {
    pub fn new(d: &LinuxDevice, bind: bool) -> Result<DevicePlan, ProcessError> {
        let invalid = |what| ProcessError::Invalid {
            what,
            value: d.path().display().to_string(),
        };
        let path = InRoot::new(d.path()).ok_or_else(|| invalid("device path"))?;
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            LinuxDeviceType::A => return Err(invalid("device type 'a' for")),
        };
        let (major, minor) = (u64::try_from(d.major()), u64::try_from(d.minor()));
        let (Ok(major), Ok(minor)) = (major, minor) else {
            return Err(invalid("device number of"));
        };
        let uid = d.uid().unwrap_or(0);
        let gid = d.gid().unwrap_or(0);
        Ok(DevicePlan {
            path,
            kind,
            mode: Mode::from_bits_truncate(d.file_mode().unwrap_or(0o666)),
            dev: makedev(major, minor),
            owner: (uid != 0 || gid != 0).then(|| (Uid::from_raw(uid), Gid::from_raw(gid))),
            host: bind
                .then(|| super::proc_plan::c("device path", d.path().as_os_str().as_bytes()))
                .transpose()?,
        })
    }

    fn apply(&self, root: BorrowedFd<'_>) -> Result<(), Errno> {
        if let Some(host) = &self.host {
            let target = self.path.ensure_file(root, Mode::empty())?;
            let none: Option<&CStr> = None;
            let to = FdPath::new(&target);
            return mount(
                Some(host.as_c_str()),
                to.as_cstr(),
                none,
                MsFlags::MS_BIND,
                none,
            );
        }
        let (dir, name) = self.path.parent(root)?;
        match mknodat(dir.as_fd(), name, self.kind, self.mode, self.dev) {
            Ok(()) => {}
            // A prepared rootfs (OCI bundle) may bring its own nodes.
            Err(Errno::EEXIST) => return Ok(()),
            Err(e) => return Err(e),
        }
        if let Some((uid, gid)) = self.owner {
            fchownat(
                dir.as_fd(),
                name,
                Some(uid),
                Some(gid),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )?;
        }
        Ok(())
    }
}

const SYMLINKS: [(&CStr, &CStr); 5] = [
    (c"fd", c"/proc/self/fd"),
    (c"stdin", c"/proc/self/fd/0"),
    (c"stdout", c"/proc/self/fd/1"),
    (c"stderr", c"/proc/self/fd/2"),
    (c"ptmx", c"pts/ptmx"),
];

/// Everything /dev needs, prepared before the clone.
pub struct DevPlan {
    pub devices: Vec<DevicePlan>,
    dev: InRoot,
    console: InRoot,
}

impl DevPlan {
    /// `bind`: in a user namespace, bind the host's nodes (see [`DevicePlan`]).
    pub fn new(devices: &[LinuxDevice], bind: bool) -> Result<DevPlan, ProcessError> {
        let devices = devices
            .iter()
            .map(|d| DevicePlan::new(d, bind))
            .collect::<Result<_, _>>()?;
        let fixed = |p: &str| {
            InRoot::new(Path::new(p)).ok_or(ProcessError::Invalid {
                what: "fixed /dev path",
                value: p.into(),
            })
        };
        Ok(DevPlan {
            devices,
            dev: fixed("/dev")?,
            console: fixed("/dev/console")?,
        })
    }

    /// In the child, after the spec's mounts (so /dev is the new tmpfs): device nodes, the
    /// symlinks, and `tty` (the pty slave's path) bind-mounted on /dev/console.
    pub fn apply(&self, root: BorrowedFd<'_>, tty: Option<&CStr>) -> Result<(), Failure> {
        for (i, d) in self.devices.iter().enumerate() {
            d.apply(root).map_err(|e| Failure::at(Step::Device, i, e))?;
        }
        let dev = self
            .dev
            .ensure_dir(root)
            .map_err(|e| Failure::new(Step::DevSymlink, e))?;
        for (i, (name, target)) in SYMLINKS.iter().enumerate() {
            match symlinkat(*target, dev.as_fd(), *name) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(Failure::at(Step::DevSymlink, i, e)),
            }
        }
        if let Some(tty) = tty {
            let console = |e| Failure::new(Step::Console, e);
            let target = self
                .console
                .ensure_file(root, Mode::empty())
                .map_err(console)?;
            let none: Option<&CStr> = None;
            let to = FdPath::new(&target);
            mount(Some(tty), to.as_cstr(), none, MsFlags::MS_BIND, none).map_err(console)?;
        }
        Ok(())
    }

    /// The symlink a DevSymlink failure at `index` refers to.
    pub fn symlink_name(index: u32) -> &'static str {
        [
            "/dev/fd",
            "/dev/stdin",
            "/dev/stdout",
            "/dev/stderr",
            "/dev/ptmx",
        ]
        .get(index as usize)
        .copied()
        .unwrap_or("/dev")
    }
}
