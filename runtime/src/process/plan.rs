//! The spec, validated and turned into everything the child needs, before the clone: C strings,
//! flags, capability sets, exec candidates. The child then only makes syscalls on this data.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use super::dev::DevPlan;
use super::mounts::{root_propagation, MountPlan};
use super::overlay_opts::overlay_data;
use super::paths::InRoot;
use super::proc_plan::{c, unsupported, ProcPlan};
use super::sync::{Failure, Step};
use super::{Launch, ProcessError};
use crate::seccomp::compile_cached;

/// A namespace to join by path (setns in the child before it reports Ready).
pub struct Join {
    pub path: PathBuf,
    pub flag: CloneFlags,
}

pub struct ChildPlan {
    pub clone_flags: CloneFlags,
    pub joins: Vec<Join>,
    pub propagation: MsFlags,
    pub root_path: PathBuf,
    pub root: CString,
    /// Overlay mount data; `None`: bind the prepared rootfs onto itself.
    pub overlay: Option<CString>,
    /// Where to chdir before mounting the overlay when its lower dirs are named relative to one
    /// directory (many layers: docker's overlay2 way around the 4095-byte option limit).
    pub overlay_cwd: Option<CString>,
    pub mounts: Vec<MountPlan>,
    pub dev: DevPlan,
    /// The working directory, created if missing; `None` for `/`.
    pub workdir: Option<InRoot>,
    pub masked: Vec<CString>,
    pub readonly: Vec<CString>,
    pub root_readonly: bool,
    /// Remount the rootfs `nodev` right after mounting it.
    pub root_nodev: bool,
    /// `/proc/sys/...` path and value, written after pivot_root (before /proc/sys goes read-only).
    pub sysctls: Vec<(CString, CString)>,
    pub hostname: Option<OsString>,
    pub process: ProcPlan,
    /// The cgroup files the child moves itself in through (for the message if that fails).
    pub cgroup: Vec<PathBuf>,
    /// Stop after the mounts, before pivot_root (OCI createContainer hooks).
    pub stop_before_pivot: bool,
    /// A new user namespace's maps (`clone_flags` has CLONE_NEWUSER).
    pub id_maps: Option<super::userns::IdMaps>,
    /// Build the root (mounts, /dev, pivot_root; without sysctls also the masked and read-only
    /// paths) between Ready and Go, while den attaches the network: the detach of the old root
    /// waits for an RCU grace period, milliseconds that then overlap den's own work. Not with an
    /// exec gate (OCI `create`: its hooks and its parent's protocol expect the mounts after Go).
    pub root_before_go: bool,
    /// Bring up `lo` of its new network namespace (runc's "loopback" network).
    pub loopback_up: bool,
}

pub fn build(launch: &Launch<'_>) -> Result<ChildPlan, ProcessError> {
    let spec = launch.spec;
    refuse_unsupported(spec, launch.gate.is_some())?;
    let root = spec
        .root()
        .as_ref()
        .ok_or(ProcessError::MissingField { field: "root" })?;
    let process = spec
        .process()
        .as_ref()
        .ok_or(ProcessError::MissingField { field: "process" })?;
    let linux = spec.linux().as_ref().ok_or(ProcessError::MissingField {
        field: "linux section",
    })?;
    let mut process_plan = ProcPlan::new(process)?;
    let cache = launch.seccomp_cache.as_deref();
    process_plan.seccomp = linux
        .seccomp()
        .as_ref()
        .map(|s| compile_cached(s, cache))
        .transpose()?;
    if !root.path().is_absolute() {
        return Err(ProcessError::Invalid {
            what: "root path",
            value: root.path().display().to_string(),
        });
    }
    let (clone_flags, joins) = namespaces(spec)?;
    let id_maps = super::userns::from_spec(linux, clone_flags.contains(CloneFlags::CLONE_NEWUSER))?;
    let hostname = match spec.hostname().as_deref() {
        None | Some("") => None,
        Some(h) if clone_flags.contains(CloneFlags::CLONE_NEWUTS) => Some(OsString::from(h)),
        Some(_) => return Err(unsupported("a hostname without a private UTS namespace")),
    };
    let paths = |v: &Option<Vec<String>>| -> Result<Vec<CString>, ProcessError> {
        v.iter().flatten().map(|p| c("path", p)).collect()
    };
    let overlay = launch.overlay.as_ref().map(overlay_data).transpose()?;
    Ok(ChildPlan {
        clone_flags,
        joins,
        propagation: root_propagation(linux.rootfs_propagation().as_deref())?,
        root_path: root.path().clone(),
        root: c("root path", root.path().as_os_str().as_bytes())?,
        overlay: overlay.as_ref().map(|o| o.0.clone()),
        overlay_cwd: overlay.and_then(|o| o.1),
        mounts: mount_plans(
            spec,
            &launch
                .cgroup
                .iter()
                .filter_map(|e| e.path.parent().map(PathBuf::from))
                .collect::<Vec<_>>(),
            clone_flags.contains(CloneFlags::CLONE_NEWCGROUP),
        )?,
        dev: DevPlan::new(
            linux.devices().as_deref().unwrap_or_default(),
            clone_flags.contains(CloneFlags::CLONE_NEWUSER),
        )?,
        workdir: InRoot::new(process.cwd()),
        masked: paths(linux.masked_paths())?,
        readonly: paths(linux.readonly_paths())?,
        root_readonly: root.readonly().unwrap_or(false),
        root_nodev: launch.rootfs_nodev,
        // `domainname` is the UTS namespace's kernel.domainname, written as that sysctl first.
        sysctls: domainname(spec, clone_flags)?
            .iter()
            .chain(linux.sysctl().iter().flatten())
            .map(|(k, v)| {
                let path = format!("/proc/sys/{}", k.replace('.', "/"));
                Ok((c("sysctl", path)?, c("sysctl value", v)?))
            })
            .collect::<Result<_, ProcessError>>()?,
        hostname,
        process: process_plan,
        cgroup: launch.cgroup.iter().map(|e| e.path.clone()).collect(),
        stop_before_pivot: launch.gate.as_ref().is_some_and(|g| g.stop_before_pivot),
        id_maps,
        root_before_go: launch.gate.is_none(),
        loopback_up: clone_flags.contains(CloneFlags::CLONE_NEWNET),
    })
}

impl ChildPlan {
    /// The path, name or id a child failure refers to, for the error message.
    pub fn culprit(&self, f: &Failure) -> String {
        if let Some(culprit) = self.process.culprit(f) {
            return culprit;
        }
        let i = f.index as usize;
        let nth = |v: &[CString]| v.get(i).map(|p| p.to_string_lossy().into_owned());
        let some = match f.step {
            Step::JoinNamespace => self.joins.get(i).map(|j| j.path.display().to_string()),
            Step::JoinCgroup => self.cgroup.get(i).map(|p| p.display().to_string()),
            Step::MakePrivate => Some("/".into()),
            Step::MountRootfs | Step::OpenRootfs | Step::PivotRoot | Step::ReadonlyRoot => {
                Some(self.root_path.display().to_string())
            }
            Step::Mount => self
                .mounts
                .get(i)
                .map(|m| m.dest.path().display().to_string()),
            Step::Device => self
                .dev
                .devices
                .get(i)
                .map(|d| d.path.path().display().to_string()),
            Step::DevSymlink => Some(DevPlan::symlink_name(f.index).into()),
            Step::Console => Some("/dev/console".into()),
            Step::Workdir => self
                .workdir
                .as_ref()
                .map(|w| w.path().display().to_string()),
            Step::MaskPath => nth(&self.masked),
            Step::Sysctl => self
                .sysctls
                .get(i)
                .map(|(p, _)| p.to_string_lossy().into_owned()),
            Step::ReadonlyPath => nth(&self.readonly),
            Step::Hostname => self
                .hostname
                .as_ref()
                .map(|h| h.to_string_lossy().into_owned()),
            _ => None,
        };
        some.unwrap_or_default()
    }
}

fn domainname(
    spec: &Spec,
    flags: CloneFlags,
) -> Result<std::collections::HashMap<String, String>, ProcessError> {
    match spec.domainname().as_deref() {
        None | Some("") => Ok(Default::default()),
        Some(d) if flags.contains(CloneFlags::CLONE_NEWUTS) => {
            Ok([("kernel.domainname".to_owned(), d.to_owned())].into())
        }
        Some(_) => Err(unsupported("a domainname without a private UTS namespace")),
    }
}

/// The spec's mounts, a `cgroup` one expanded (see `cgroupfs`: `own` are the container's cgroup
/// dirs).
fn mount_plans(
    spec: &Spec,
    own: &[PathBuf],
    cgroupns: bool,
) -> Result<Vec<MountPlan>, ProcessError> {
    let mut plans = Vec::new();
    for m in spec.mounts().iter().flatten() {
        match m.typ().as_deref() {
            Some("cgroup") => {
                for part in super::cgroupfs::expand(m, own, cgroupns)? {
                    plans.push(MountPlan::new(&part)?);
                }
            }
            _ => plans.push(MountPlan::new(m)?),
        }
    }
    Ok(plans)
}

/// A process in a running container (`den exec`): its namespaces, and so its root, are joined
/// through the container's pidfd.
pub struct EnterPlan {
    pub process: ProcPlan,
}

impl EnterPlan {
    pub fn culprit(&self, f: &Failure) -> String {
        match f.step {
            Step::JoinNamespace => "the container's namespaces".into(),
            _ => self.process.culprit(f).unwrap_or_default(),
        }
    }
}

/// Refuse what den cannot honour, rather than run a container weaker than its spec asks (the
/// process's own part is checked by [`ProcPlan::new`]).
/// Hooks are run by the OCI front (`oci::hooks`), only where the container stops for them.
fn refuse_unsupported(spec: &Spec, gated: bool) -> Result<(), ProcessError> {
    if spec.hooks().is_some() && !gated {
        return Err(unsupported("hooks"));
    }
    Ok(())
}

fn namespaces(spec: &Spec) -> Result<(CloneFlags, Vec<Join>), ProcessError> {
    let list = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    let (mut flags, mut joins, mut seen) = (CloneFlags::empty(), Vec::new(), CloneFlags::empty());
    for ns in &list {
        let flag = match ns.typ() {
            LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
            LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
            LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
            LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
            LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
            LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
            LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
            other => return Err(unsupported(&format!("a {other} namespace"))),
        };
        if seen.contains(flag) {
            return Err(ProcessError::Invalid {
                what: "namespace list (duplicate)",
                value: ns.typ().to_string(),
            });
        }
        seen.insert(flag);
        match ns.path() {
            None => flags.insert(flag),
            Some(path)
                if matches!(
                    ns.typ(),
                    LinuxNamespaceType::Pid | LinuxNamespaceType::Mount | LinuxNamespaceType::User
                ) =>
            {
                return Err(unsupported(&format!(
                    "joining the {} namespace {}",
                    ns.typ(),
                    path.display()
                )));
            }
            Some(path) => joins.push(Join {
                path: path.clone(),
                flag,
            }),
        }
    }
    if !flags.contains(CloneFlags::CLONE_NEWNS) {
        // Every mount the child makes would land in the host's mount namespace.
        return Err(ProcessError::MissingField {
            field: "new mount namespace",
        });
    }
    Ok((flags, joins))
}
