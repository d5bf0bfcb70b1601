//! The devices every OCI container gets (runtime-spec "Default Devices"): the nodes, when the
//! spec does not list them, and cgroup rules that allow them after the spec's own (runc's
//! `AllowedDevices`: a spec that denies all still has /dev/null).

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType, LinuxResources, Spec};

use super::OciError;

/// (major, minor; `None`: any) of the character devices allowed after the spec's rules:
/// null, zero, full, random, urandom, tty, console, ptmx, and the pty slaves.
const ALLOWED: [(i64, Option<i64>); 9] = [
    (1, Some(3)),
    (1, Some(5)),
    (1, Some(7)),
    (1, Some(8)),
    (1, Some(9)),
    (5, Some(0)),
    (5, Some(1)),
    (5, Some(2)),
    (136, None),
];

pub fn add_defaults(spec: &mut Spec) -> Result<(), OciError> {
    let defaults = crate::spec::devices().map_err(|_| OciError::Unsupported {
        field: "the default devices",
    })?;
    let Some(linux) = spec.linux_mut() else {
        return Ok(());
    };
    let mut devices = linux.devices().clone().unwrap_or_default();
    for d in defaults {
        if !devices.iter().any(|have| have.path() == d.path()) {
            devices.push(d);
        }
    }
    linux.set_devices(Some(devices));
    let mut resources = linux
        .resources()
        .clone()
        .unwrap_or_else(LinuxResources::default);
    let mut rules = resources.devices().clone().unwrap_or_default();
    for (major, minor) in ALLOWED {
        let mut rule = LinuxDeviceCgroup::default();
        rule.set_allow(true)
            .set_typ(Some(LinuxDeviceType::C))
            .set_major(Some(major))
            .set_minor(minor)
            .set_access(Some("rwm".into()));
        rules.push(rule);
    }
    resources.set_devices(Some(rules));
    linux.set_resources(Some(resources));
    Ok(())
}
