//! The spec, validated and turned into everything the child needs, before the clone: C strings,
//! flags, capability sets, exec candidates. The child then only makes syscalls on this data.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use super::caps::{bounding_name, CapsPlan, IdsPlan};
use super::dev::DevPlan;
use super::mounts::{root_propagation, MountPlan};
use super::paths::InRoot;
use super::sync::{Failure, Step};
use super::{Launch, Overlay, ProcessError};
use crate::spec::DEFAULT_PATH;
use crate::syscall::ExecArgs;

/// A namespace to join by path (setns in the child before it reports Ready).
pub struct Join {
    pub path: PathBuf,
    pub flag: CloneFlags,
}

pub struct ChildPlan {
    pub clone_flags: CloneFlags,
    pub joins: Vec<Join>,
    pub terminal: bool,
    pub propagation: MsFlags,
    pub root_path: PathBuf,
    pub root: CString,
    /// Overlay mount data; `None`: bind the prepared rootfs onto itself.
    pub overlay: Option<CString>,
    pub mounts: Vec<MountPlan>,
    pub dev: DevPlan,
    /// The working directory, created if missing; `None` for `/`.
    pub workdir: Option<InRoot>,
    pub cwd: CString,
    pub masked: Vec<CString>,
    pub readonly: Vec<CString>,
    pub root_readonly: bool,
    pub hostname: Option<OsString>,
    pub ids: IdsPlan,
    pub caps: CapsPlan,
    pub no_new_privs: bool,
    pub umask: Mode,
    pub cmd: String,
    pub candidates: Vec<CString>,
    pub exec: ExecArgs,
}

fn c(what: &'static str, s: impl AsRef<[u8]>) -> Result<CString, ProcessError> {
    CString::new(s.as_ref()).map_err(|_| ProcessError::Invalid {
        what,
        value: String::from_utf8_lossy(s.as_ref()).into_owned(),
    })
}

fn unsupported(feature: &str) -> ProcessError {
    ProcessError::Unsupported {
        feature: feature.to_owned(),
    }
}

pub fn build(launch: &Launch<'_>) -> Result<ChildPlan, ProcessError> {
    let spec = launch.spec;
    refuse_unsupported(spec)?;
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
    let args = process.args().clone().unwrap_or_default();
    let cmd = args.first().cloned().ok_or(ProcessError::MissingField {
        field: "process args",
    })?;
    if !root.path().is_absolute() {
        return Err(ProcessError::Invalid {
            what: "root path",
            value: root.path().display().to_string(),
        });
    }
    let (clone_flags, joins) = namespaces(spec)?;
    let hostname = match spec.hostname().as_deref() {
        None | Some("") => None,
        Some(h) if clone_flags.contains(CloneFlags::CLONE_NEWUTS) => Some(OsString::from(h)),
        Some(_) => return Err(unsupported("a hostname without a private UTS namespace")),
    };
    let cwd = process.cwd();
    if !cwd.is_absolute() {
        return Err(ProcessError::Invalid {
            what: "process cwd",
            value: cwd.display().to_string(),
        });
    }
    let env = process.env().clone().unwrap_or_default();
    let argv = args
        .iter()
        .map(|a| c("argument", a))
        .collect::<Result<Vec<_>, _>>()?;
    let envp = env
        .iter()
        .map(|e| c("environment entry", e))
        .collect::<Result<Vec<_>, _>>()?;
    let paths = |v: &Option<Vec<String>>| -> Result<Vec<CString>, ProcessError> {
        v.iter().flatten().map(|p| c("path", p)).collect()
    };
    Ok(ChildPlan {
        clone_flags,
        joins,
        terminal: process.terminal().unwrap_or(false),
        propagation: root_propagation(linux.rootfs_propagation().as_deref())?,
        root_path: root.path().clone(),
        root: c("root path", root.path().as_os_str().as_bytes())?,
        overlay: launch.overlay.as_ref().map(overlay_data).transpose()?,
        mounts: spec
            .mounts()
            .iter()
            .flatten()
            .map(MountPlan::new)
            .collect::<Result<_, _>>()?,
        dev: DevPlan::new(linux.devices().as_deref().unwrap_or_default())?,
        workdir: InRoot::new(cwd),
        cwd: c("process cwd", cwd.as_os_str().as_bytes())?,
        masked: paths(linux.masked_paths())?,
        readonly: paths(linux.readonly_paths())?,
        root_readonly: root.readonly().unwrap_or(false),
        hostname,
        ids: IdsPlan::new(process.user()),
        caps: CapsPlan::new(process.capabilities().as_ref())?,
        no_new_privs: process.no_new_privileges().unwrap_or(false),
        umask: Mode::from_bits_truncate(process.user().umask().unwrap_or(0o022)),
        candidates: exec_candidates(&cmd, &env)?,
        cmd,
        exec: ExecArgs::new(argv, envp),
    })
}

impl ChildPlan {
    /// The path, name or id a child failure refers to, for the error message.
    pub fn culprit(&self, f: &Failure) -> String {
        let i = f.index as usize;
        let nth = |v: &[CString]| v.get(i).map(|p| p.to_string_lossy().into_owned());
        let some = match f.step {
            Step::JoinNamespace => self.joins.get(i).map(|j| j.path.display().to_string()),
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
            Step::Workdir | Step::Chdir => Some(self.cwd.to_string_lossy().into_owned()),
            Step::MaskPath => nth(&self.masked),
            Step::ReadonlyPath => nth(&self.readonly),
            Step::Hostname => self
                .hostname
                .as_ref()
                .map(|h| h.to_string_lossy().into_owned()),
            Step::BoundingSet => Some(bounding_name(&self.caps, f.index)),
            Step::Setuid => Some(format!("uid {}", self.ids.uid)),
            Step::Setgid => Some(format!("gid {}", self.ids.gid)),
            Step::Exec => nth(&self.candidates),
            _ => None,
        };
        some.unwrap_or_default()
    }
}

/// Refuse what den cannot honour, rather than run a container weaker than its spec asks.
fn refuse_unsupported(spec: &Spec) -> Result<(), ProcessError> {
    if let Some(linux) = spec.linux() {
        if linux.seccomp().is_some() {
            return Err(unsupported("a seccomp profile"));
        }
        if linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
            || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty())
        {
            return Err(unsupported("user namespace id mappings"));
        }
        if linux.sysctl().as_ref().is_some_and(|s| !s.is_empty()) {
            return Err(unsupported("sysctls"));
        }
    }
    if let Some(p) = spec.process() {
        if p.rlimits().as_ref().is_some_and(|r| !r.is_empty()) {
            return Err(unsupported("rlimits"));
        }
        if p.apparmor_profile().as_ref().is_some_and(|a| !a.is_empty()) {
            return Err(unsupported("an AppArmor profile"));
        }
        if p.selinux_label().as_ref().is_some_and(|l| !l.is_empty()) {
            return Err(unsupported("an SELinux label"));
        }
    }
    if spec.hooks().is_some() {
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
                    LinuxNamespaceType::Pid | LinuxNamespaceType::Mount
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

/// `lowerdir=TOP:...:BOTTOM,upperdir=U,workdir=W`.
fn overlay_data(o: &Overlay) -> Result<CString, ProcessError> {
    if o.lower.is_empty() {
        return Err(ProcessError::MissingField {
            field: "overlay lower layer",
        });
    }
    let all = o.lower.iter().chain([&o.upper, &o.work]);
    for p in all {
        let bytes = p.as_os_str().as_bytes();
        if !p.is_absolute() || bytes.iter().any(|b| matches!(b, b',' | b':' | b'\\')) {
            return Err(ProcessError::Invalid {
                what: "overlay directory",
                value: p.display().to_string(),
            });
        }
    }
    let lower: Vec<&[u8]> = o
        .lower
        .iter()
        .rev()
        .map(|p| p.as_os_str().as_bytes())
        .collect();
    let mut data = b"lowerdir=".to_vec();
    data.extend(lower.join(&b':'));
    data.extend(b",upperdir=");
    data.extend(o.upper.as_os_str().as_bytes());
    data.extend(b",workdir=");
    data.extend(o.work.as_os_str().as_bytes());
    if data.len() > 4095 {
        return Err(ProcessError::OverlayTooLong { len: data.len() });
    }
    c("overlay options", data)
}

/// Where `execve` looks for `cmd`, in order: `cmd` itself if it holds a `/`, else each entry of
/// the container's own `PATH` (docker's lookup; not den's PATH).
fn exec_candidates(cmd: &str, env: &[String]) -> Result<Vec<CString>, ProcessError> {
    if cmd.is_empty() {
        return Err(ProcessError::Invalid {
            what: "command",
            value: String::new(),
        });
    }
    if cmd.contains('/') {
        return Ok(vec![c("command", cmd)?]);
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    path.split(':')
        .map(|dir| {
            let dir = if dir.is_empty() { "." } else { dir };
            c("command", Path::new(dir).join(cmd).as_os_str().as_bytes())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_layers_go_top_first() {
        let o = Overlay {
            lower: vec!["/l/base".into(), "/l/mid".into(), "/l/top".into()],
            upper: "/c/upper".into(),
            work: "/c/work".into(),
        };
        assert_eq!(
            overlay_data(&o).expect("data").as_c_str(),
            c"lowerdir=/l/top:/l/mid:/l/base,upperdir=/c/upper,workdir=/c/work"
        );
        let bad = Overlay {
            lower: vec!["/l/a:b".into()],
            ..o
        };
        assert!(overlay_data(&bad).is_err());
    }

    #[test]
    fn commands_are_searched_in_the_containers_path() {
        let env = vec!["PATH=/usr/bin::/bin".to_string()];
        let got = exec_candidates("ls", &env).expect("candidates");
        assert_eq!(
            got,
            [
                c"/usr/bin/ls".to_owned(),
                c"./ls".to_owned(),
                c"/bin/ls".to_owned()
            ]
        );
        assert_eq!(
            exec_candidates("./x", &env).expect("x"),
            [c"./x".to_owned()]
        );
        assert_eq!(exec_candidates("ls", &[]).expect("default").len(), 6);
    }
}
