//! The security and resource half of the spec: docker's rules for `--cap-add/--cap-drop`,
//! `--privileged`, a non-root user's capabilities, no_new_privs, the seccomp profile, the device
//! rules and nodes, and the cgroup's limits (`linux.resources`, `linux.cgroupsPath`).

use std::str::FromStr;

use oci_spec::runtime::{
    Capabilities, Capability, LinuxCapabilitiesBuilder, LinuxCpuBuilder, LinuxDeviceBuilder,
    LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxMemoryBuilder,
    LinuxPidsBuilder, LinuxResources, LinuxResourcesBuilder, PosixRlimit, PosixRlimitBuilder, Spec,
};

use super::{built, SpecError, DEFAULT_CAPS};
use crate::hostconfig::limits::rlimit;
use crate::hostconfig::HostConfig;
use crate::seccomp::{Profile, Target};

/// What `build` needs for this half.
#[derive(Debug, Clone)]
pub struct Security {
    pub host: HostConfig,
    /// The OCI `cgroupsPath` (`<parent>/den-<id>`); `None`: no cgroup.
    pub cgroups_path: Option<String>,
    /// Whether the machine has device control (v1 devices controller). Without it den fails
    /// closed: no CAP_MKNOD.
    pub device_control: bool,
}

impl Default for Security {
    /// docker's defaults, no cgroup, and the device rules taken as enforced by whoever runs it.
    fn default() -> Security {
        Security {
            host: HostConfig::default(),
            cgroups_path: None,
            device_control: true,
        }
    }
}

/// The caps den itself may hand out: its own bounding set (docker's "all").
fn all_caps() -> Capabilities {
    let mine = caps::read(None, caps::CapSet::Bounding).unwrap_or_default();
    mine.iter()
        .filter_map(|c| {
            let name = c.to_string();
            Capability::from_str(name.strip_prefix("CAP_").unwrap_or(&name)).ok()
        })
        .collect()
}

fn cap(name: &str) -> Option<Capability> {
    Capability::from_str(name.strip_prefix("CAP_").unwrap_or(name)).ok()
}

/// docker's TweakCapabilities: `--privileged` is all; `--cap-drop ALL` starts from nothing;
/// `--cap-add ALL` from all; otherwise the defaults less the drops plus the adds.
pub fn capabilities(h: &HostConfig) -> Capabilities {
    if h.privileged {
        return all_caps();
    }
    let has_all = |v: &[String]| v.iter().any(|c| c == "ALL");
    let named = |v: &[String]| -> Vec<Capability> { v.iter().filter_map(|c| cap(c)).collect() };
    let mut set: Capabilities = if has_all(&h.cap_add) {
        all_caps()
    } else if has_all(&h.cap_drop) {
        Capabilities::new()
    } else {
        DEFAULT_CAPS.iter().copied().collect()
    };
    if !has_all(&h.cap_drop) {
        for c in named(&h.cap_drop) {
            set.remove(&c);
        }
    }
    if !has_all(&h.cap_add) {
        set.extend(named(&h.cap_add));
    }
    set
}

/// docker's default device rules (moby `oci/defaults.go`): deny all, allow the usual character
/// devices, and `mknod` of any (`m`), but no read or write of anything else.
pub(crate) fn default_device_rules() -> Result<Vec<LinuxDeviceCgroup>, SpecError> {
    let rule = |allow: bool, typ: Option<LinuxDeviceType>, major, minor, access: &str| {
        let mut b = LinuxDeviceCgroupBuilder::default()
            .allow(allow)
            .access(access.to_owned());
        if let Some(t) = typ {
            b = b.typ(t);
        }
        if let Some(m) = major {
            b = b.major(m);
        }
        if let Some(m) = minor {
            b = b.minor(m);
        }
        built("device rules", b.build())
    };
    use LinuxDeviceType::{B, C};
    let c = Some(C);
    Ok(vec![
        rule(false, None, None, None, "rwm")?,
        rule(true, c, Some(1), Some(5), "rwm")?,     // zero
        rule(true, c, Some(1), Some(3), "rwm")?,     // null
        rule(true, c, Some(1), Some(9), "rwm")?,     // urandom
        rule(true, c, Some(1), Some(8), "rwm")?,     // random
        rule(true, c, Some(5), Some(0), "rwm")?,     // tty
        rule(true, c, Some(5), Some(1), "rwm")?,     // console
        rule(false, c, Some(10), Some(229), "rwm")?, // fuse
        rule(true, c, None, None, "m")?,
        rule(true, Some(B), None, None, "m")?,
        rule(true, c, Some(1), Some(7), "rwm")?,    // full
        rule(true, c, Some(136), None, "rwm")?,     // pts
        rule(true, c, Some(5), Some(2), "rwm")?,    // ptmx
        rule(true, c, Some(10), Some(200), "rwm")?, // tun
    ])
}

fn resources(h: &HostConfig) -> Result<LinuxResources, SpecError> {
    let mut devices = if h.privileged {
        vec![built(
            "device rules",
            LinuxDeviceCgroupBuilder::default()
                .allow(true)
                .access("rwm".to_owned())
                .build(),
        )?]
    } else {
        default_device_rules()?
    };
    for d in &h.devices {
        let Some((t, major, minor)) = d.node else {
            continue;
        };
        let typ = if t == 'b' {
            LinuxDeviceType::B
        } else {
            LinuxDeviceType::C
        };
        devices.push(built(
            "device rules",
            LinuxDeviceCgroupBuilder::default()
                .allow(true)
                .typ(typ)
                .major(major)
                .minor(minor)
                .access(d.cgroup_permissions.clone())
                .build(),
        )?);
    }
    let mut r = LinuxResourcesBuilder::default().devices(devices);
    if h.memory > 0 {
        let mut m = LinuxMemoryBuilder::default().limit(h.memory);
        if h.memory_swap != 0 {
            m = m.swap(h.memory_swap);
        }
        r = r.memory(built("memory limits", m.build())?);
    }
    if h.nano_cpus > 0 || h.cpu_shares > 0 || !h.cpuset_cpus.is_empty() {
        let mut c = LinuxCpuBuilder::default();
        if h.nano_cpus > 0 {
            // docker: a 100 ms period, the quota in proportion.
            c = c.period(100_000u64).quota(h.nano_cpus / 10_000);
        }
        if h.cpu_shares > 0 {
            c = c.shares(h.cpu_shares as u64);
        }
        if !h.cpuset_cpus.is_empty() {
            c = c.cpus(h.cpuset_cpus.clone());
        }
        r = r.cpu(built("cpu limits", c.build())?);
    }
    if let Some(p) = h.pids_limit {
        let limit = if p <= 0 { -1 } else { p };
        r = r.pids(built(
            "pids limit",
            LinuxPidsBuilder::default().limit(limit).build(),
        )?);
    }
    built("resources", r.build())
}

/// Apply `sec` to a spec built with docker's defaults for user `uid`.
pub fn apply(spec: &mut Spec, sec: &Security, uid: u32) -> Result<(), SpecError> {
    let h = &sec.host;
    let mut bounding = capabilities(h);
    if !sec.device_control {
        bounding.remove(&Capability::Mknod);
    }
    // docker: a non-root user starts with empty effective and permitted sets.
    let working = if uid == 0 {
        bounding.clone()
    } else {
        Capabilities::new()
    };
    let caps = built(
        "capabilities",
        LinuxCapabilitiesBuilder::default()
            .bounding(bounding.clone())
            .effective(working.clone())
            .permitted(working)
            .inheritable(Capabilities::new())
            .ambient(Capabilities::new())
            .build(),
    )?;
    let seccomp = match (&h.seccomp_profile, h.privileged || h.seccomp_unconfined) {
        (_, true) => None,
        (Some(text), false) => Some(Profile::parse(text, "the container's seccomp profile")?),
        (None, false) => Some(Profile::default_profile()),
    };
    let names: Vec<String> = bounding.iter().map(|c| format!("CAP_{c}")).collect();
    let seccomp = seccomp
        .map(|p| {
            p.resolve(&Target {
                arch: Target::host_arch(),
                caps: &names,
                kernel: Target::host_kernel(),
            })
        })
        .transpose()?;
    let rlimits: Vec<PosixRlimit> = h
        .ulimits
        .iter()
        .filter_map(|u| Some((u, rlimit(&u.name)?.0)))
        .map(|(u, typ)| {
            built(
                "rlimits",
                PosixRlimitBuilder::default()
                    .typ(typ)
                    .soft(u.soft)
                    .hard(u.hard)
                    .build(),
            )
        })
        .collect::<Result<_, _>>()?;
    if let Some(p) = spec.process_mut() {
        p.set_capabilities(Some(caps));
        p.set_no_new_privileges(Some(h.no_new_privs()));
        p.set_rlimits((!rlimits.is_empty()).then_some(rlimits));
    }
    let devices: Vec<_> = h
        .devices
        .iter()
        .filter_map(|d| d.node.map(|n| (d, n)))
        .map(|(d, (t, major, minor))| {
            built(
                "devices",
                LinuxDeviceBuilder::default()
                    .path(d.path_in_container.clone())
                    .typ(if t == 'b' {
                        LinuxDeviceType::B
                    } else {
                        LinuxDeviceType::C
                    })
                    .major(major)
                    .minor(minor)
                    .file_mode(0o660u32)
                    .uid(0u32)
                    .gid(0u32)
                    .build(),
            )
        })
        .collect::<Result<_, _>>()?;
    let resources = resources(h)?;
    if let Some(linux) = spec.linux_mut() {
        linux.set_seccomp(seccomp);
        if !h.sysctls.is_empty() {
            linux.set_sysctl(Some(h.sysctls.clone().into_iter().collect()));
        }
        linux.set_cgroups_path(sec.cgroups_path.clone().map(Into::into));
        if sec.cgroups_path.is_some() {
            linux.set_resources(Some(resources));
        }
        let mut all = linux.devices().clone().unwrap_or_default();
        all.extend(devices);
        if h.privileged {
            // As docker: the host's device nodes too.
            super::hostdev::add_host_devices(&mut all)?;
        }
        linux.set_devices(Some(all));
        if h.privileged {
            // As docker: nothing masked or read-only.
            linux.set_masked_paths(None);
            linux.set_readonly_paths(None);
        }
    }
    if h.privileged {
        if let Some(mounts) = spec.mounts_mut() {
            for m in mounts
                .iter_mut()
                .filter(|m| m.destination().as_os_str() == "/sys")
            {
                let opts: Vec<String> = m
                    .options()
                    .iter()
                    .flatten()
                    .filter(|o| *o != "ro")
                    .cloned()
                    .collect();
                m.set_options(Some(opts));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(add: &[&str], drop: &[&str]) -> HostConfig {
        HostConfig {
            cap_add: add.iter().map(|s| s.to_string()).collect(),
            cap_drop: drop.iter().map(|s| s.to_string()).collect(),
            ..HostConfig::default()
        }
    }

    fn bounding(sec: Security) -> Capabilities {
        let spec = crate::spec::build(&crate::spec::SpecInputs {
            rootfs: "/nonexistent-rootfs".into(),
            args: vec!["true".into()],
            env: Vec::new(),
            cwd: String::new(),
            user: None,
            hostname: "h".into(),
            terminal: false,
            net: crate::spec::NetNs::New,
            etc_files: Vec::new(),
            lower_layers: Vec::new(),
            security: sec,
        })
        .expect("spec");
        let caps = spec
            .process()
            .as_ref()
            .and_then(|p| p.capabilities().clone());
        caps.and_then(|c| c.bounding().clone()).unwrap_or_default()
    }

    #[test]
    fn without_device_control_mknod_is_dropped() {
        assert!(bounding(Security::default()).contains(&Capability::Mknod));
        let closed = Security {
            device_control: false,
            ..Security::default()
        };
        assert!(!bounding(closed).contains(&Capability::Mknod));
    }

    #[test]
    fn cap_add_and_drop_follow_docker() {
        assert_eq!(capabilities(&h(&[], &[])).len(), DEFAULT_CAPS.len());
        assert!(capabilities(&h(&[], &["ALL"])).is_empty());
        let only = capabilities(&h(&["CAP_NET_ADMIN"], &["ALL"]));
        assert_eq!(only, [Capability::NetAdmin].into_iter().collect());
        let less = capabilities(&h(&[], &["CAP_NET_RAW"]));
        assert!(!less.contains(&Capability::NetRaw) && less.contains(&Capability::Chown));
    }
}
