//! The spec's mounts: parsed into flags and data before the clone, mounted by the child onto
//! symlink-safe targets inside the rootfs (see `paths`).

use std::cell::Cell;
use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::Mode;
use oci_spec::runtime::Mount;

use super::paths::{FdPath, InRoot};
use super::ProcessError;

enum Kind {
    /// A bind mount of a host path; `file` when the source is not a directory.
    Bind { source: CString, file: bool },
    Fs {
        source: CString,
        fstype: CString,
        data: Option<CString>,
    },
}

/// One spec mount, ready for the child.
pub struct MountPlan {
    pub dest: InRoot,
    kind: Kind,
    /// MS_BIND / MS_REC for binds; for other kinds the flags of the mount itself.
    flags: MsFlags,
    /// Flags a bind needs applied by a remount (ro, nosuid, ...).
    remount: MsFlags,
    propagation: MsFlags,
    /// A `shared`/`slave` bind: its source tree, cloned (`open_tree`) by the child before it makes
    /// its mounts private, so that the copy stays in the host mount's peer group.
    early: Cell<Option<OwnedFd>>,
}

fn cstring(what: &'static str, bytes: &[u8]) -> Result<CString, ProcessError> {
    CString::new(bytes).map_err(|_| ProcessError::Invalid {
        what,
        value: String::from_utf8_lossy(bytes).into_owned(),
    })
}

/// fstab-style options as runc reads them: (set, clear) flags, propagation, or data.
fn parse_option(o: &str) -> Option<(MsFlags, MsFlags)> {
    use MsFlags as F;
    let none = F::empty();
    Some(match o {
        "defaults" => (none, none),
        "ro" => (F::MS_RDONLY, none),
        "rw" => (none, F::MS_RDONLY),
        "suid" => (none, F::MS_NOSUID),
        "nosuid" => (F::MS_NOSUID, none),
        "dev" => (none, F::MS_NODEV),
        "nodev" => (F::MS_NODEV, none),
        "exec" => (none, F::MS_NOEXEC),
        "noexec" => (F::MS_NOEXEC, none),
        "sync" => (F::MS_SYNCHRONOUS, none),
        "async" => (none, F::MS_SYNCHRONOUS),
        "dirsync" => (F::MS_DIRSYNC, none),
        "remount" => (F::MS_REMOUNT, none),
        "mand" => (F::MS_MANDLOCK, none),
        "nomand" => (none, F::MS_MANDLOCK),
        "atime" => (none, F::MS_NOATIME),
        "noatime" => (F::MS_NOATIME, none),
        "diratime" => (none, F::MS_NODIRATIME),
        "nodiratime" => (F::MS_NODIRATIME, none),
        "relatime" => (F::MS_RELATIME, none),
        "norelatime" => (none, F::MS_RELATIME),
        "strictatime" => (F::MS_STRICTATIME, none),
        "nostrictatime" => (none, F::MS_STRICTATIME),
        "bind" => (F::MS_BIND, none),
        "rbind" => (F::MS_BIND | F::MS_REC, none),
        _ => return None,
    })
}

fn parse_propagation(o: &str) -> Option<MsFlags> {
    use MsFlags as F;
    Some(match o {
        "private" => F::MS_PRIVATE,
        "rprivate" => F::MS_PRIVATE | F::MS_REC,
        "shared" => F::MS_SHARED,
        "rshared" => F::MS_SHARED | F::MS_REC,
        "slave" => F::MS_SLAVE,
        "rslave" => F::MS_SLAVE | F::MS_REC,
        "unbindable" => F::MS_UNBINDABLE,
        "runbindable" => F::MS_UNBINDABLE | F::MS_REC,
        _ => return None,
    })
}

/// Parse a propagation option for the rootfs (`linux.rootfsPropagation`); default rprivate.
pub fn root_propagation(value: Option<&str>) -> Result<MsFlags, ProcessError> {
    match value {
        None | Some("") => Ok(MsFlags::MS_PRIVATE | MsFlags::MS_REC),
        Some(v) => parse_propagation(v).ok_or_else(|| ProcessError::Invalid {
            what: "rootfsPropagation",
            value: v.into(),
        }),
    }
}

impl MountPlan {
    pub fn new(m: &Mount) -> Result<MountPlan, ProcessError> {
        let destination = m.destination();
        let dest = InRoot::new(destination).ok_or_else(|| ProcessError::Invalid {
            what: "mount destination",
            value: destination.display().to_string(),
        })?;
        let typ = m.typ().as_deref().unwrap_or("");
        if matches!(typ, "cgroup" | "cgroup2") {
            return Err(ProcessError::Unsupported {
                feature: format!("a {typ} mount"),
            });
        }
        let (mut flags, mut propagation, mut data) = (MsFlags::empty(), MsFlags::empty(), vec![]);
        for o in m.options().iter().flatten() {
            if let Some((set, clear)) = parse_option(o) {
                flags.insert(set);
                flags.remove(clear);
            } else if let Some(p) = parse_propagation(o) {
                propagation = p;
            } else {
                data.push(o.as_str());
            }
        }
        if typ == "bind" {
            flags.insert(MsFlags::MS_BIND);
        }
        let source = m.source().clone().unwrap_or_else(|| PathBuf::from(typ));
        let source_c = cstring("mount source", source.as_os_str().as_bytes())?;
        if flags.contains(MsFlags::MS_BIND) {
            let file = bind_source_is_file(destination, &source)?;
            let bind = flags & (MsFlags::MS_BIND | MsFlags::MS_REC);
            return Ok(MountPlan {
                dest,
                kind: Kind::Bind {
                    source: source_c,
                    file,
                },
                flags: bind,
                remount: flags - bind,
                propagation,
                early: Cell::new(None),
            });
        }
        let data = if data.is_empty() {
            None
        } else {
            Some(cstring("mount options", data.join(",").as_bytes())?)
        };
        Ok(MountPlan {
            dest,
            kind: Kind::Fs {
                source: source_c,
                fstype: cstring("mount type", typ.as_bytes())?,
                data,
            },
            flags,
            remount: MsFlags::empty(),
            propagation,
            early: Cell::new(None),
        })
    }

    /// In the child, while its copy of the host's mounts still propagates: clone the source of a
    /// bind whose propagation is shared or slave (the others need nothing here).
    pub fn clone_source(&self) -> Result<(), Errno> {
        let Kind::Bind { source, .. } = &self.kind else {
            return Ok(());
        };
        if self
            .propagation
            .intersects(MsFlags::MS_SHARED | MsFlags::MS_SLAVE)
        {
            self.early
                .set(Some(crate::syscall::open_tree_clone(source)?));
        }
        Ok(())
    }

    /// In the child, before pivot_root: create the target inside `root` and mount.
    pub fn apply(&self, root: BorrowedFd<'_>) -> Result<(), Errno> {
        let none: Option<&std::ffi::CStr> = None;
        let target = match &self.kind {
            Kind::Bind { file: true, .. } => self
                .dest
                .ensure_file(root, Mode::from_bits_truncate(0o644))?,
            _ => self.dest.ensure_dir(root)?,
        };
        let at = FdPath::new(&target);
        let early = self.early.take();
        match &self.kind {
            Kind::Bind { .. } if early.is_some() => {
                let tree = early.as_ref().map(|t| t.as_fd()).ok_or(Errno::EINVAL)?;
                crate::syscall::move_mount_to(tree, target.as_fd())?
            }
            Kind::Bind { source, .. } => mount(
                Some(source.as_c_str()),
                at.as_cstr(),
                none,
                self.flags,
                none,
            )?,
            Kind::Fs {
                source,
                fstype,
                data,
            } => match mount(
                Some(source.as_c_str()),
                at.as_cstr(),
                Some(fstype.as_c_str()),
                self.flags,
                data.as_deref(),
            ) {
                // In a user namespace that does not own the network namespace (one joined by
                // path) the kernel refuses a sysfs: bind the host's instead, as runc does.
                Err(Errno::EPERM) if fstype.as_c_str() == c"sysfs" => {
                    return self.bind_host_sys(root, at.as_cstr());
                }
                r => r?,
            },
        }
        if self.remount.is_empty() && self.propagation.is_empty() {
            return Ok(());
        }
        // The old fd points below the new mount: reopen to reach the mount itself.
        let mounted = self.dest.open(root)?;
        let at = FdPath::new(&mounted);
        if !self.remount.is_empty() {
            let flags = self.remount | MsFlags::MS_BIND | MsFlags::MS_REMOUNT;
            mount(none, at.as_cstr(), none, flags, none)?;
        }
        if !self.propagation.is_empty() {
            mount(none, at.as_cstr(), none, self.propagation, none)?;
        }
        Ok(())
    }
}

impl MountPlan {
    fn bind_host_sys(&self, root: BorrowedFd<'_>, at: &std::ffi::CStr) -> Result<(), Errno> {
        let none: Option<&std::ffi::CStr> = None;
        let rec = MsFlags::MS_BIND | MsFlags::MS_REC;
        mount(Some(c"/sys"), at, none, rec, none)?;
        let mounted = self.dest.open(root)?;
        let keep = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
        let flags = (self.flags & keep) | MsFlags::MS_BIND | MsFlags::MS_REMOUNT;
        mount(none, FdPath::new(&mounted).as_cstr(), none, flags, none)
    }
}

/// Bind sources are host paths: they must exist (checked before anything is created), and a
/// non-directory source needs a file, not a directory, as its target.
fn bind_source_is_file(destination: &Path, source: &Path) -> Result<bool, ProcessError> {
    if !source.is_absolute() {
        return Err(ProcessError::Invalid {
            what: "bind mount source (must be absolute)",
            value: source.display().to_string(),
        });
    }
    std::fs::metadata(source)
        .map(|m| !m.is_dir())
        .map_err(|e| ProcessError::MountSource {
            destination: destination.to_path_buf(),
            source_path: source.to_path_buf(),
            source: e,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::MountBuilder;

    fn plan(
        dest: &str,
        typ: &str,
        source: &str,
        options: &[&str],
    ) -> Result<MountPlan, ProcessError> {
        let m = MountBuilder::default()
            .destination(dest)
            .typ(typ)
            .source(source)
            .options(options.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .build()
            .expect("mount");
        MountPlan::new(&m)
    }

    #[test]
    fn options_become_flags_and_data() {
        let p = plan(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        )
        .expect("plan");
        assert_eq!(p.flags, MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC);
        match &p.kind {
            Kind::Fs { data, fstype, .. } => {
                assert_eq!(
                    data.as_deref(),
                    Some(c"newinstance,ptmxmode=0666,mode=0620,gid=5")
                );
                assert_eq!(fstype.as_c_str(), c"devpts");
            }
            Kind::Bind { .. } => panic!("devpts is not a bind"),
        }
        let p = plan("/sys", "sysfs", "sysfs", &["nosuid", "ro", "rw", "ro"]).expect("plan");
        assert_eq!(p.flags, MsFlags::MS_NOSUID | MsFlags::MS_RDONLY);
    }

    #[test]
    fn binds_check_their_source_and_remount_flags() {
        let p = plan(
            "/etc/hosts",
            "bind",
            "/etc/hostname",
            &["rbind", "ro", "rprivate"],
        )
        .expect("plan");
        assert_eq!(p.flags, MsFlags::MS_BIND | MsFlags::MS_REC);
        assert_eq!(p.remount, MsFlags::MS_RDONLY);
        assert_eq!(p.propagation, MsFlags::MS_PRIVATE | MsFlags::MS_REC);
        assert!(matches!(p.kind, Kind::Bind { file: true, .. }));
        let p = plan("/mnt", "none", "/tmp", &["bind"]).expect("plan");
        assert!(matches!(p.kind, Kind::Bind { file: false, .. }));
        let err = plan("/x", "bind", "/nonexistent/den-test", &["rbind"]).err();
        assert!(
            matches!(err, Some(ProcessError::MountSource { .. })),
            "{err:?}"
        );
        assert!(plan("/x", "bind", "relative", &["rbind"]).is_err());
        assert!(plan("relative", "tmpfs", "tmpfs", &[]).is_err());
        assert!(matches!(
            plan("/sys/fs/cgroup", "cgroup", "cgroup", &[]),
            Err(ProcessError::Unsupported { .. })
        ));
    }
}
