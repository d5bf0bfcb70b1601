//! A bundle: `config.json` read and checked, `root.path` made absolute.

use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use super::OciError;

#[derive(Debug)]
pub struct Bundle {
    /// The bundle directory, absolute.
    pub dir: PathBuf,
    pub spec: Spec,
    /// `root.path`, absolute (relative ones are the bundle's).
    pub rootfs: PathBuf,
}

/// Read `DIR/config.json`: JSON, an ociVersion of major 1, the fields den honours.
pub fn load_bundle(dir: &Path) -> Result<Bundle, OciError> {
    let dir = std::path::absolute(dir).map_err(OciError::io("resolving the bundle", dir))?;
    let path = dir.join("config.json");
    let body = fs::read(&path).map_err(|source| OciError::NoConfig {
        path: path.clone(),
        source,
    })?;
    let bad = |source| OciError::BadConfig {
        path: path.clone(),
        source,
    };
    let value: serde_json::Value = serde_json::from_slice(&body).map_err(bad)?;
    let version = value
        .get("ociVersion")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    if version.split('.').next() != Some("1") {
        return Err(OciError::Version {
            version: version.to_owned(),
        });
    }
    let mut spec: Spec = serde_json::from_value(value).map_err(bad)?;
    refuse_unsupported(&spec)?;
    let root = spec
        .root()
        .as_ref()
        .map(|r| r.path().clone())
        .ok_or(OciError::Unsupported {
            field: "a spec without root",
        })?;
    let rootfs = match root.is_absolute() {
        true => root,
        false => dir.join(root),
    };
    if let Some(r) = spec.root_mut() {
        r.set_path(rootfs.clone());
    }
    super::devices::add_defaults(&mut spec)?;
    Ok(Bundle { dir, spec, rootfs })
}

/// Fields den cannot honour, refused by name rather than ignored (the process's own AppArmor
/// and SELinux fields, and id mappings, are refused where the process plan is built).
fn refuse_unsupported(spec: &Spec) -> Result<(), OciError> {
    let refuse = |field| Err(OciError::Unsupported { field });
    if let Some(linux) = spec.linux() {
        if linux.intel_rdt().is_some() {
            return refuse("linux.intelRdt");
        }
        if linux.mount_label().as_ref().is_some_and(|l| !l.is_empty()) {
            return refuse("linux.mountLabel (SELinux)");
        }
        if linux.personality().is_some() {
            return refuse("linux.personality");
        }
        if linux.time_offsets().is_some() {
            return refuse("linux.timeOffsets");
        }
        if linux.memory_policy().is_some() {
            return refuse("linux.memoryPolicy");
        }
        if linux.net_devices().as_ref().is_some_and(|d| !d.is_empty()) {
            return refuse("linux.netDevices");
        }
        if let Some(s) = linux.seccomp() {
            if s.listener_path().is_some() {
                return refuse("linux.seccomp.listenerPath");
            }
            if s.flags().as_ref().is_some_and(|f| !f.is_empty()) {
                return refuse("linux.seccomp.flags");
            }
        }
        if let Some(r) = linux.resources() {
            refuse_unsupported_resources(r)?;
        }
    }
    let idmapped = |m: &oci_spec::runtime::Mount| {
        m.uid_mappings().as_ref().is_some_and(|v| !v.is_empty())
            || m.gid_mappings().as_ref().is_some_and(|v| !v.is_empty())
    };
    if spec.mounts().iter().flatten().any(idmapped) {
        return refuse("mounts[].uidMappings/gidMappings (idmapped mounts)");
    }
    if let Some(p) = spec.process() {
        if p.io_priority().is_some() {
            return refuse("process.ioPriority");
        }
        if p.scheduler().is_some() {
            return refuse("process.scheduler");
        }
        if p.exec_cpu_affinity().is_some() {
            return refuse("process.execCPUAffinity");
        }
        if p.apparmor_profile().as_ref().is_some_and(|a| !a.is_empty()) {
            return refuse("process.apparmorProfile");
        }
        if p.selinux_label().as_ref().is_some_and(|a| !a.is_empty()) {
            return refuse("process.selinuxLabel");
        }
    }
    Ok(())
}

/// The `linux.resources` fields den's cgroups do not write (they honour memory limit and swap,
/// cpu shares, quota, period, cpus and mems, pids, devices), refused rather than ignored.
fn refuse_unsupported_resources(r: &oci_spec::runtime::LinuxResources) -> Result<(), OciError> {
    fn given<T: serde::Serialize>(v: &Option<T>) -> bool {
        let value = serde_json::to_value(v).unwrap_or_default();
        let empty = |v: &serde_json::Value| match v {
            serde_json::Value::Null => true,
            serde_json::Value::Array(a) => a.is_empty(),
            serde_json::Value::Object(o) => o.values().all(|v| v.is_null()),
            _ => false,
        };
        match &value {
            serde_json::Value::Object(o) => !o.values().all(empty),
            v => !empty(v),
        }
    }
    let refuse = |field| Err(OciError::Unsupported { field });
    if given(r.block_io()) {
        return refuse("linux.resources.blockIO");
    }
    if given(r.hugepage_limits()) {
        return refuse("linux.resources.hugepageLimits");
    }
    if given(r.network()) {
        return refuse("linux.resources.network");
    }
    if given(r.rdma()) {
        return refuse("linux.resources.rdma");
    }
    if given(r.unified()) {
        return refuse("linux.resources.unified");
    }
    if let Some(m) = r.memory() {
        if m.reservation().is_some() {
            return refuse("linux.resources.memory.reservation");
        }
        if m.kernel().is_some() || m.kernel_tcp().is_some() {
            return refuse("linux.resources.memory.kernel/kernelTCP");
        }
        if m.swappiness().is_some() {
            return refuse("linux.resources.memory.swappiness");
        }
        if m.disable_oom_killer() == Some(true) {
            return refuse("linux.resources.memory.disableOOMKiller");
        }
    }
    if let Some(c) = r.cpu() {
        if c.realtime_runtime().is_some() || c.realtime_period().is_some() {
            return refuse("linux.resources.cpu.realtimeRuntime/realtimePeriod");
        }
        if c.idle().is_some() || c.burst().is_some() {
            return refuse("linux.resources.cpu.idle/burst");
        }
    }
    Ok(())
}
