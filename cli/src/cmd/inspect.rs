use std::path::Path;

use anyhow::Result;
use den_runtime::lifecycle;
use den_runtime::logs;
use den_runtime::state::{rfc3339, Container, Status, Store};
use den_runtime::volume::{self, MountKind, MountPoint, Mounts, Origin};
use serde_json::{json, Value};

#[derive(clap::Args)]
pub struct Args {
    #[arg(required = true)]
    containers: Vec<String>,
}

#[derive(clap::Args)]
pub struct PortArgs {
    container: String,
    /// Only this container port: PORT[/tcp|udp]; prints its host addresses.
    port: Option<String>,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    let store = Store::new(root);
    let mut out = Vec::new();
    for key in &a.containers {
        let c = lifecycle::find(&store, key)?;
        let mut v = inspect(&c, &store);
        v["Kernel"] = super::topology::kernel_view(&c);
        super::life_view::add(&mut v, &c);
        out.push(v);
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(0)
}

/// `den port NAME`: docker's `80/tcp -> 0.0.0.0:8080` lines.
pub fn port(root: &Path, a: PortArgs) -> Result<i32> {
    let c = Store::new(root).find(&a.container)?;
    let ports = c.network.iter().flat_map(|n| &n.ports);
    let Some(want) = &a.port else {
        for p in ports {
            println!(
                "{}/{} -> {}:{}",
                p.container_port, p.proto, p.host_ip, p.host_port
            );
        }
        return Ok(0);
    };
    // docker's `port NAME 80[/tcp]`: the host addresses of that one.
    let (num, proto) = want.split_once('/').unwrap_or((want, "tcp"));
    let hits: Vec<String> = ports
        .filter(|p| p.container_port.to_string() == num && p.proto.to_string() == proto)
        .map(|p| format!("{}:{}", p.host_ip, p.host_port))
        .collect();
    if hits.is_empty() {
        eprintln!(
            "den: no public port '{num}/{proto}' published for {}",
            c.name
        );
        return Ok(1);
    }
    hits.iter().for_each(|h| println!("{h}"));
    Ok(0)
}

fn time(t: Option<i64>) -> Value {
    t.map(|t| Value::String(rfc3339(t))).unwrap_or(Value::Null)
}

/// docker-like keys, plus den's HostVeth; `c` as observed (`lifecycle::observed`).
fn inspect(c: &Container, store: &Store) -> Value {
    let running = c.status == Status::Running;
    let net = c.network.as_ref();
    let ports: Vec<Value> = net
        .iter()
        .flat_map(|n| &n.ports)
        .map(|p| {
            json!({"HostIp": p.host_ip.to_string(), "HostPort": p.host_port.to_string(),
                   "ContainerPort": p.container_port.to_string(), "Protocol": p.proto.to_string()})
        })
        .collect();
    let mut networks = serde_json::Map::new();
    if let Some(n) = net {
        networks.insert(
            n.network.clone(),
            json!({"IPAddress": n.ip.to_string(), "IPPrefixLen": n.prefix_len,
                   "Gateway": n.gateway.to_string(), "MacAddress": n.mac,
                   "HostVeth": n.host_veth}),
        );
    }
    let mounts = volume::mounts_of(&store.dir(&c.id));
    let mut config =
        json!({"Cmd": c.command, "Env": c.env, "Hostname": c.hostname, "Image": c.image});
    let anonymous: serde_json::Map<String, Value> = mounts
        .mounts
        .iter()
        .filter(|m| m.origin == Origin::Volume(String::new()))
        .map(|m| (m.destination.clone(), json!({})))
        .collect();
    if !anonymous.is_empty() {
        config["Volumes"] = Value::Object(anonymous);
    }
    json!({
        "Id": c.id,
        "Name": c.name,
        "Image": c.image,
        "ImageId": c.image_id,
        "Created": rfc3339(c.created),
        "State": {
            "Status": c.status,
            "Running": running,
            "Pid": c.pid.filter(|_| running).unwrap_or(0),
            "ExitCode": c.exit_code.unwrap_or(0),
            "OOMKilled": c.oom_killed,
            "StartedAt": time(c.started_at),
            "FinishedAt": time(c.finished_at),
        },
        "Config": config,
        "LogPath": logs::path(&store.dir(&c.id)),
        "Supervisor": c.supervisor.map(|(pid, _)| pid).filter(|_| running).unwrap_or(0),
        "HostVeth": net.map(|n| n.host_veth.clone()).unwrap_or_default(),
        "HostConfig": host_config(c, store, &mounts),
        "Mounts": mounts.mounts.iter().filter(|m| m.origin != Origin::Tmpfs).map(mount_point)
            .collect::<Vec<_>>(),
        "NetworkSettings": {
            "IPAddress": net.map(|n| n.ip.to_string()).unwrap_or_default(),
            "IPPrefixLen": net.map(|n| n.prefix_len).unwrap_or(0),
            "Gateway": net.map(|n| n.gateway.to_string()).unwrap_or_default(),
            "MacAddress": net.map(|n| n.mac.clone()).unwrap_or_default(),
            "Bridge": net.map(|n| n.bridge.clone()).unwrap_or_default(),
            "HostVeth": net.map(|n| n.host_veth.clone()).unwrap_or_default(),
            "SandboxKey": c.pid.filter(|_| running)
                .map(|p| format!("/proc/{p}/ns/net")).unwrap_or_default(),
            "Ports": ports,
            "Networks": networks,
        },
    })
}

/// docker's HostConfig keys for what den run was given: the security and resource flags, and Binds
/// (`-v` binds and named volumes), Mounts (`--mount`), Tmpfs, VolumesFrom, ReadonlyRootfs.
fn host_config(c: &Container, store: &Store, m: &Mounts) -> Value {
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
fn mount_point(p: &MountPoint) -> Value {
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
