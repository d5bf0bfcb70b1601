//! A container in docker's `inspect` shape, from its record and its dir; den's extras under keys
//! of their own (HostVeth, Supervisor, Kernel) and everything docker has where docker has it.

use std::collections::BTreeMap;

use den_netcfg::network::Network;
use den_runtime::logs;
use den_runtime::state::{rfc3339, Container, Status, Store};
use den_runtime::volume::{self, Origin};
use serde_json::{json, Map, Value};

use super::storage::{host_config, mount_point};

/// Go's zero time, which docker prints for a start or finish that never happened.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn time(t: Option<i64>) -> Value {
    json!(t.map(rfc3339).unwrap_or_else(|| ZERO_TIME.into()))
}

/// docker's `{"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}` for `c`'s published ports;
/// `asked`: as HostConfig.PortBindings, where an address not given is `""` (as docker keeps it).
fn port_map(c: &Container, asked: bool) -> Map<String, Value> {
    let mut m: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for p in c.network.iter().flat_map(|n| &n.ports) {
        let ip = match p.host_ip.is_unspecified() && asked {
            true => String::new(),
            false => p.host_ip.to_string(),
        };
        m.entry(format!("{}/{}", p.container_port, p.proto))
            .or_default()
            .push(json!({"HostIp": ip, "HostPort": p.host_port.to_string()}));
    }
    m.into_iter().map(|(k, v)| (k, Value::Array(v))).collect()
}

/// `c` (as observed: `lifecycle::observed`) in docker's shape.
pub fn inspect(c: &Container, store: &Store) -> Value {
    let dir = store.dir(&c.id);
    let running = c.status == Status::Running;
    let proc = den_runtime::run::process_settings(&dir);
    let mounts = volume::mounts_of(&dir);
    let entrypoint = proc.entrypoint.clone().unwrap_or_default();
    let cmd: Vec<String> = c.command.iter().skip(entrypoint.len()).cloned().collect();
    let ports = port_map(c, false);
    // docker's Config.ExposedPorts: the image's, `--expose`'s and the published ports.
    let image_exposed = den_runtime::image::ImageStore::new(store.root())
        .config_of_id(&c.image_id)
        .map(|i| i.exposed().to_vec())
        .unwrap_or_default();
    let exposed: Map<String, Value> = ports
        .keys()
        .chain(&c.exposed_ports)
        .chain(&image_exposed)
        .map(|k| (k.clone(), json!({})))
        .collect();
    let mut config = json!({
        "Hostname": c.hostname, "Domainname": "", "User": proc.user.clone().unwrap_or_default(),
        "Env": c.env, "Cmd": (!cmd.is_empty()).then_some(cmd),
        "Entrypoint": (!entrypoint.is_empty()).then_some(entrypoint),
        "Image": c.image, "WorkingDir": proc.working_dir.clone().unwrap_or_default(),
        "Labels": c.labels, "ExposedPorts": (!exposed.is_empty()).then_some(exposed),
        "Volumes": null,
    });
    let anonymous: Map<String, Value> = mounts
        .mounts
        .iter()
        .filter(|m| m.origin == Origin::Volume(String::new()))
        .map(|m| (m.destination.clone(), json!({})))
        .collect();
    if !anonymous.is_empty() {
        config["Volumes"] = Value::Object(anonymous);
    }
    let mut host = host_config(c, store, &mounts);
    host["PortBindings"] = json!(port_map(c, true));
    // Where the restart policy goes (den has none yet: docker's default).
    host["RestartPolicy"] = json!({"Name": "no", "MaximumRetryCount": 0});
    host["LogConfig"] = json!({"Type": "json-file", "Config": {}});
    let file = |name: &str| {
        let p = dir.join(name);
        json!(if p.exists() {
            p.display().to_string()
        } else {
            String::new()
        })
    };
    json!({
        "Id": c.id,
        "Created": rfc3339(c.created),
        "Path": c.command.first().cloned().unwrap_or_default(),
        "Args": c.command.iter().skip(1).collect::<Vec<_>>(),
        "State": {
            "Status": c.status,
            "Running": running,
            "Paused": false,
            "Restarting": false,
            "OOMKilled": c.oom_killed,
            "Dead": false,
            "Pid": c.pid.filter(|_| running).unwrap_or(0),
            "ExitCode": c.exit_code.unwrap_or(0),
            "Error": "",
            "StartedAt": time(c.started_at),
            "FinishedAt": time(c.finished_at),
            // docker's State.Health ({Status, FailingStreak, Log}) goes here once den runs
            // health checks.
        },
        "Image": sha256(&c.image_id),
        "ResolvConfPath": file("resolv.conf"),
        "HostnamePath": file("hostname"),
        "HostsPath": file("hosts"),
        "LogPath": logs::path(&dir),
        "Name": format!("/{}", c.name),
        // The supervisor's restarts, once den has restart policies.
        "RestartCount": 0,
        "Driver": "overlay",
        "Platform": "linux",
        "HostConfig": host,
        "Mounts": mounts.mounts.iter().filter(|m| m.origin != Origin::Tmpfs).map(mount_point)
            .collect::<Vec<_>>(),
        "Config": config,
        "NetworkSettings": network_settings(c, store, ports),
        // den's own: the process that waits for the container, and its host-side veth.
        "Supervisor": c.supervisor.map(|(pid, _)| pid).filter(|_| running).unwrap_or(0),
        "HostVeth": c.network.as_ref().map(|n| n.host_veth.clone()).unwrap_or_default(),
    })
}

fn sha256(id: &str) -> String {
    if id.is_empty() || id.starts_with("sha256:") {
        id.to_string()
    } else {
        format!("sha256:{id}")
    }
}

/// docker's NetworkSettings (the top-level IPAddress etc. are the default bridge's in docker; den
/// fills them for whichever network the container is on, and adds HostVeth).
fn network_settings(c: &Container, store: &Store, ports: Map<String, Value>) -> Value {
    let running = c.status == Status::Running;
    let net = c.network.as_ref().filter(|_| running);
    let mut networks = Map::new();
    if let Some(n) = net {
        let id = Network::load(store.root(), &n.network)
            .map(|n| n.id)
            .unwrap_or_default();
        // docker names a container on a user network by its name and short id (DNSNames);
        // --network-alias adds Aliases.
        let user = n.network != "bridge";
        networks.insert(
            n.network.clone(),
            json!({"IPAMConfig": null, "Links": null, "Aliases": null,
                   "MacAddress": n.mac, "NetworkID": id, "EndpointID": "",
                   "Gateway": n.gateway.to_string(), "IPAddress": n.ip.to_string(),
                   "IPPrefixLen": n.prefix_len, "IPv6Gateway": "", "GlobalIPv6Address": "",
                   "GlobalIPv6PrefixLen": 0,
                   "DNSNames": user.then(|| vec![c.name.clone(), c.short_id().to_string()]),
                   "HostVeth": n.host_veth}),
        );
    } else if running && c.network_mode != "bridge" {
        networks.insert(c.network_mode.clone(), json!({"IPAddress": "", "Gateway": "", "MacAddress": "", "NetworkID": "", "Aliases": null}));
    }
    json!({
        "Bridge": net.map(|n| n.bridge.clone()).unwrap_or_default(),
        "SandboxKey": c.pid.filter(|_| running)
            .map(|p| format!("/proc/{p}/ns/net")).unwrap_or_default(),
        "Ports": if running { ports } else { Map::new() },
        "IPAddress": net.map(|n| n.ip.to_string()).unwrap_or_default(),
        "IPPrefixLen": net.map(|n| n.prefix_len).unwrap_or(0),
        "Gateway": net.map(|n| n.gateway.to_string()).unwrap_or_default(),
        "MacAddress": net.map(|n| n.mac.clone()).unwrap_or_default(),
        "HostVeth": net.map(|n| n.host_veth.clone()).unwrap_or_default(),
        "Networks": networks,
    })
}
