//! The OCI runtime spec den builds for every container.
//!
//! `den run` turns its flags and the image config into an [`oci_spec::runtime::Spec`] here, with
//! docker's defaults, so that the process code only ever starts containers from a `Spec` (and a
//! later OCI `den create --bundle` takes the same path).
//!
//! Deliberately left out (and why):
//! - `/sys/fs/cgroup`: den puts each container in its own cgroup but has no cgroup namespace yet,
//!   so mounting the hierarchy would show the host's tree.
//! - rlimits other than `--ulimit`'s: the machines lack `CAP_SYS_RESOURCE`, so den never raises
//!   limits by default; the container inherits den's.
//! - AppArmor profiles. (seccomp, capabilities, devices and the cgroup: `spec::security`.)

mod hostdev;
mod security;
mod user;

use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    Capabilities, Capability, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxDevice,
    LinuxDeviceBuilder, LinuxDeviceType, LinuxNamespace, LinuxNamespaceBuilder, LinuxNamespaceType,
    Mount, MountBuilder, ProcessBuilder, RootBuilder, Spec, SpecBuilder, UserBuilder,
};

#[cfg(test)]
pub(crate) use security::default_device_rules;
pub use security::Security;
pub(crate) use user::resolve as resolve_user;
pub use user::ResolvedUser;

/// The default `PATH` docker gives a container whose image sets none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Which network namespace the container gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetNs {
    /// A new, empty network namespace (`--network bridge` and `--network none`).
    New,
    /// The host's network namespace (`--network host`).
    Host,
    /// An existing namespace, e.g. `/proc/PID/ns/net` of another container (`container:NAME`).
    Join(PathBuf),
}

/// Everything `build` needs to know about one container.
#[derive(Debug, Clone)]
pub struct SpecInputs {
    /// Where the container's root filesystem is (or will be) mounted.
    pub rootfs: PathBuf,
    /// The command and its arguments (image entrypoint + cmd, after `den run` overrides).
    pub args: Vec<String>,
    /// `KEY=value` from the image config, then `-e`; later entries win. `build` adds docker's
    /// daemon defaults under them: `PATH`, `HOSTNAME`, `TERM=xterm` with a terminal, and `HOME`
    /// from the user's passwd entry.
    pub env: Vec<String>,
    /// Working directory inside the container; empty means `/`.
    pub cwd: String,
    /// `uid[:gid]` or `name[:group]` as in the image config or `-u`; `None` means root.
    pub user: Option<String>,
    pub hostname: String,
    pub terminal: bool,
    pub net: NetNs,
    /// Host files bind-mounted read-write at a container path (e.g. `/etc/hosts`).
    pub etc_files: Vec<(PathBuf, String)>,
    /// The image's layer directories, BOTTOM first (as the image lists them, same order as
    /// `process::Overlay::lower`). User and group names are looked up in `etc/passwd` and
    /// `etc/group` of the topmost layer that has the file. Empty: look in `rootfs`.
    pub lower_layers: Vec<PathBuf>,
    /// Capabilities, seccomp, devices and the cgroup's limits (`spec::security`).
    pub security: Security,
}

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("no command specified")]
    NoCommand,
    #[error("the working directory '{cwd}' is invalid, it needs to be an absolute path")]
    RelativeCwd { cwd: String },
    #[error("invalid environment entry '{entry}': expected KEY=value")]
    BadEnv { entry: String },
    #[error("container path '{path}' for {host} must be absolute")]
    RelativeMountPath { path: String, host: PathBuf },
    #[error("invalid user '{spec}': {reason}")]
    BadUser { spec: String, reason: &'static str },
    #[error("unable to find user {name}: no matching entries in passwd file")]
    UnknownUser { name: String },
    #[error("unable to find group {name}: no matching entries in group file")]
    UnknownGroup { name: String },
    #[error("cannot read {path}")]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Seccomp(#[from] crate::seccomp::SeccompError),
    #[error("cannot build the {what} of the OCI spec")]
    Build {
        what: &'static str,
        #[source]
        source: oci_spec::OciSpecError,
    },
}

fn built<T>(what: &'static str, r: Result<T, oci_spec::OciSpecError>) -> Result<T, SpecError> {
    r.map_err(|source| SpecError::Build { what, source })
}

/// docker's default capability set (moby `oci/caps/defaults.go`).
pub const DEFAULT_CAPS: [Capability; 14] = [
    Capability::Chown,
    Capability::DacOverride,
    Capability::Fsetid,
    Capability::Fowner,
    Capability::Mknod,
    Capability::NetRaw,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setfcap,
    Capability::Setpcap,
    Capability::NetBindService,
    Capability::SysChroot,
    Capability::Kill,
    Capability::AuditWrite,
];

/// docker's masked paths: a bind of /dev/null over files, a read-only tmpfs over directories.
pub const MASKED_PATHS: [&str; 11] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// docker's read-only paths.
pub const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Build the OCI spec for one container, with docker's defaults.
pub fn build(inputs: &SpecInputs) -> Result<Spec, SpecError> {
    if inputs.args.is_empty() {
        return Err(SpecError::NoCommand);
    }
    let cwd = if inputs.cwd.is_empty() {
        "/"
    } else {
        inputs.cwd.as_str()
    };
    if !cwd.starts_with('/') {
        return Err(SpecError::RelativeCwd {
            cwd: cwd.to_owned(),
        });
    }
    let layers: Vec<PathBuf> = if inputs.lower_layers.is_empty() {
        vec![inputs.rootfs.clone()]
    } else {
        inputs.lower_layers.clone()
    };
    let user = user::resolve(inputs.user.as_deref(), &layers)?;
    let env = environment(inputs, &user)?;

    let caps: Capabilities = DEFAULT_CAPS.iter().copied().collect();
    let capabilities = built(
        "capabilities",
        LinuxCapabilitiesBuilder::default()
            .bounding(caps.clone())
            .effective(caps.clone())
            .permitted(caps)
            .inheritable(Capabilities::new())
            .ambient(Capabilities::new())
            .build(),
    )?;
    let mut oci_user = UserBuilder::default().uid(user.uid).gid(user.gid);
    if !user.additional_gids.is_empty() {
        oci_user = oci_user.additional_gids(user.additional_gids.clone());
    }
    let mut process = built(
        "process",
        ProcessBuilder::default()
            .terminal(inputs.terminal)
            .user(built("user", oci_user.build())?)
            .args(inputs.args.clone())
            .env(env)
            .cwd(cwd)
            .capabilities(capabilities)
            .no_new_privileges(true)
            .build(),
    )?;
    // The builder starts from oci-spec's defaults: clear what docker does not set.
    process.set_rlimits(None);
    process.set_console_size(None);
    process.set_apparmor_profile(None);
    process.set_oom_score_adj(None);

    let masked: Vec<String> = MASKED_PATHS.iter().map(|p| p.to_string()).collect();
    let readonly: Vec<String> = READONLY_PATHS.iter().map(|p| p.to_string()).collect();
    let mut linux = built(
        "linux section",
        LinuxBuilder::default()
            .namespaces(namespaces(&inputs.net)?)
            .devices(devices()?)
            .masked_paths(masked)
            .readonly_paths(readonly)
            .build(),
    )?;
    linux.set_resources(None);

    let mut spec = built(
        "spec",
        SpecBuilder::default()
            .version("1.0.2")
            .root(built(
                "root",
                RootBuilder::default()
                    .path(inputs.rootfs.clone())
                    .readonly(false)
                    .build(),
            )?)
            .hostname(inputs.hostname.clone())
            .mounts(mounts(&inputs.etc_files)?)
            .process(process)
            .linux(linux)
            .build(),
    )?;
    spec.set_annotations(None);
    security::apply(&mut spec, &inputs.security, user.uid)?;
    Ok(spec)
}

/// docker's daemon environment (`PATH`, `HOSTNAME`, `TERM`), replaced or extended by the
/// container's own entries, then `HOME` from passwd if still unset (as runc does).
fn environment(inputs: &SpecInputs, user: &ResolvedUser) -> Result<Vec<String>, SpecError> {
    let mut env = vec![
        format!("PATH={DEFAULT_PATH}"),
        format!("HOSTNAME={}", inputs.hostname),
    ];
    if inputs.terminal {
        env.push("TERM=xterm".to_owned());
    }
    for entry in &inputs.env {
        let Some((key, _)) = entry.split_once('=') else {
            return Err(SpecError::BadEnv {
                entry: entry.clone(),
            });
        };
        if key.is_empty() {
            return Err(SpecError::BadEnv {
                entry: entry.clone(),
            });
        }
        let prefix = format!("{key}=");
        match env.iter_mut().find(|e| e.starts_with(&prefix)) {
            Some(existing) => existing.clone_from(entry),
            None => env.push(entry.clone()),
        }
    }
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", user.home));
    }
    Ok(env)
}

fn namespaces(net: &NetNs) -> Result<Vec<LinuxNamespace>, SpecError> {
    let new = |typ| {
        built(
            "namespaces",
            LinuxNamespaceBuilder::default().typ(typ).build(),
        )
    };
    let mut list = vec![
        new(LinuxNamespaceType::Pid)?,
        new(LinuxNamespaceType::Mount)?,
        new(LinuxNamespaceType::Uts)?,
        new(LinuxNamespaceType::Ipc)?,
    ];
    match net {
        NetNs::New => list.push(new(LinuxNamespaceType::Network)?),
        NetNs::Host => {}
        NetNs::Join(path) => list.push(built(
            "namespaces",
            LinuxNamespaceBuilder::default()
                .typ(LinuxNamespaceType::Network)
                .path(path.clone())
                .build(),
        )?),
    }
    Ok(list)
}

fn mount(dest: &str, typ: &str, source: &Path, options: &[&str]) -> Result<Mount, SpecError> {
    built(
        "mounts",
        MountBuilder::default()
            .destination(dest)
            .typ(typ)
            .source(source)
            .options(options.iter().map(|o| o.to_string()).collect::<Vec<_>>())
            .build(),
    )
}

/// docker's default mounts (minus `/sys/fs/cgroup`, see the module doc), then the etc files.
fn mounts(etc_files: &[(PathBuf, String)]) -> Result<Vec<Mount>, SpecError> {
    let p = Path::new;
    let mut list = vec![
        mount("/proc", "proc", p("proc"), &["nosuid", "noexec", "nodev"])?,
        mount(
            "/dev",
            "tmpfs",
            p("tmpfs"),
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        )?,
        mount(
            "/dev/pts",
            "devpts",
            p("devpts"),
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        )?,
        mount(
            "/sys",
            "sysfs",
            p("sysfs"),
            &["nosuid", "noexec", "nodev", "ro"],
        )?,
        mount(
            "/dev/mqueue",
            "mqueue",
            p("mqueue"),
            &["nosuid", "noexec", "nodev"],
        )?,
        mount(
            "/dev/shm",
            "tmpfs",
            p("shm"),
            &["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"],
        )?,
    ];
    for (host, dest) in etc_files {
        if !dest.starts_with('/') {
            return Err(SpecError::RelativeMountPath {
                path: dest.clone(),
                host: host.clone(),
            });
        }
        list.push(mount(dest, "bind", host, &["rbind", "rprivate"])?);
    }
    Ok(list)
}

/// The device nodes runc and docker give every container.
pub(crate) fn devices() -> Result<Vec<LinuxDevice>, SpecError> {
    let nodes: [(&str, i64, i64); 6] = [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ];
    nodes
        .iter()
        .map(|&(path, major, minor)| {
            built(
                "devices",
                LinuxDeviceBuilder::default()
                    .path(path)
                    .typ(LinuxDeviceType::C)
                    .major(major)
                    .minor(minor)
                    .file_mode(0o666u32)
                    .uid(0u32)
                    .gid(0u32)
                    .build(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests;
