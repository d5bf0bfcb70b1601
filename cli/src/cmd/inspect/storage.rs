//! The storage and security parts of a container's inspect: HostConfig's flags and docker's
//! `Mounts`.

use den_runtime::state::{Container, Store};
use den_runtime::volume::{MountKind, MountPoint, Mounts, Origin};
use serde_json::{json, Value};

/// docker's HostConfig keys for what den run was given: the security and resource flags, and Binds
/// (`-v` binds and named volumes), Mounts (`--mount`), Tmpfs, VolumesFrom, ReadonlyRootfs.
pub fn host_config(c: &Container, store: &Store, m: &Mounts) -> Value {
    let h = den_runtime::run::host_config(&store.dir(&c.id));
    let devices: Vec<Value> = h
        .devices
        .iter()
        .map(|d| {
            json!({"PathOnHost": d.path_on_host, "PathInContainer": d.path_in_container,
                   "CgroupPermissions": d.cgroup_permissions})
        })
        .collect();
    let list = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    let binds: Vec<&str> = m
        .mounts
        .iter()
        .filter_map(|p| match &p.origin {
            Origin::Volume(spec) if !spec.is_empty() => Some(spec.as_str()),
            _ => None,
        })
        .collect();
    let api_mounts: Vec<Value> = m
        .mounts
        .iter()
        .filter(|p| p.origin == Origin::Mount)
        .map(|p| {
            let source = match p.kind {
                MountKind::Bind => p.source.display().to_string(),
                MountKind::Volume if !p.anonymous => p.name.clone(),
                _ => String::new(),
            };
            json!({"Type": p.kind, "Source": source, "Target": p.destination, "ReadOnly": !p.rw})
        })
        .collect();
    let tmpfs: serde_json::Map<String, Value> = m
        .mounts
        .iter()
        .filter(|p| p.origin == Origin::Tmpfs)
        .map(|p| (p.destination.clone(), json!(p.tmpfs)))
        .collect();
    let none_if_empty = |v: Value, empty: bool| if empty { Value::Null } else { v };
    json!({
        "NetworkMode": c.network_mode, "AutoRemove": c.auto_remove,
        "Memory": h.memory, "MemorySwap": h.memory_swap, "NanoCpus": h.nano_cpus,
        "CpuShares": h.cpu_shares, "CpusetCpus": h.cpuset_cpus, "PidsLimit": h.pids_limit,
        "CgroupParent": h.cgroup_parent, "CapAdd": list(&h.cap_add), "CapDrop": list(&h.cap_drop),
        "Privileged": h.privileged, "SecurityOpt": list(&h.security_opt), "Devices": devices,
        "Binds": none_if_empty(json!(binds), binds.is_empty()),
        "Mounts": none_if_empty(json!(api_mounts), api_mounts.is_empty()),
        "Tmpfs": none_if_empty(json!(tmpfs), tmpfs.is_empty()),
        "VolumesFrom": none_if_empty(json!(m.volumes_from), m.volumes_from.is_empty()),
        "ReadonlyRootfs": m.read_only,
    })
}

/// One entry of docker's `Mounts`.
pub fn mount_point(p: &MountPoint) -> Value {
    let mut v = json!({
        "Type": p.kind,
        "Source": p.source,
        "Destination": p.destination,
        "Mode": p.mode,
        "RW": p.rw,
        "Propagation": p.propagation,
    });
    if p.kind == MountKind::Volume {
        v["Name"] = json!(p.name);
        v["Driver"] = json!("local");
    }
    v
}
