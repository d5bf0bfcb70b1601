//! den-specific helpers: `den inspect` as typed accessors, waiting for a container to run,
//! and the contract for rejected input.

use serde_json::Value;
use std::time::Duration;

use crate::exec::Output;
use crate::sandbox::Sandbox;
use crate::spawn::Proc;
use crate::wait::{wait_for, START_TIMEOUT};

/// The exit status of every rejected `den` invocation.
pub const USAGE_EXIT: i32 = 125;

/// `den inspect NAME`'s JSON, with accessors for the fields of the contract. Numbers and
/// strings are both accepted where the contract leaves the JSON type open (ports, pids).
#[derive(Debug, Clone)]
pub struct Inspect(pub Value);

/// One entry of `NetworkSettings.Ports`, every field as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMap {
    pub host_ip: String,
    pub host_port: String,
    pub container_port: String,
    pub protocol: String,
}

/// A JSON string or number as text.
pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Inspect {
    /// Parses `den inspect` output: an object, or (docker style) an array of one object.
    pub fn parse(json: &str) -> Result<Inspect, String> {
        let v: Value = serde_json::from_str(json).map_err(|e| format!("{e} in {json:?}"))?;
        match v {
            Value::Array(mut items) if items.len() == 1 => Ok(Inspect(items.remove(0))),
            Value::Object(_) => Ok(Inspect(v)),
            other => Err(format!("not one JSON object: {other}")),
        }
    }

    /// The value at `path` (object keys), if present and not null.
    pub fn get(&self, path: &[&str]) -> Option<&Value> {
        let mut v = &self.0;
        for key in path {
            v = v.get(key)?;
        }
        (!v.is_null()).then_some(v)
    }

    fn text_at(&self, path: &[&str]) -> Option<String> {
        self.get(path).and_then(text).filter(|s| !s.is_empty())
    }

    pub fn id(&self) -> Option<String> {
        self.text_at(&["Id"])
    }

    pub fn status(&self) -> Option<String> {
        self.text_at(&["State", "Status"])
    }

    /// The container's host pid; `None` if absent or 0.
    pub fn pid(&self) -> Option<u32> {
        self.text_at(&["State", "Pid"])?
            .parse()
            .ok()
            .filter(|&p| p > 0)
    }

    pub fn exit_code(&self) -> Option<i64> {
        self.text_at(&["State", "ExitCode"])?.parse().ok()
    }

    pub fn ip(&self) -> Option<String> {
        self.text_at(&["NetworkSettings", "IPAddress"])
    }

    pub fn gateway(&self) -> Option<String> {
        self.text_at(&["NetworkSettings", "Gateway"])
    }

    pub fn mac(&self) -> Option<String> {
        self.text_at(&["NetworkSettings", "MacAddress"])
    }

    pub fn bridge(&self) -> Option<String> {
        self.text_at(&["NetworkSettings", "Bridge"])
    }

    pub fn host_veth(&self) -> Option<String> {
        self.text_at(&["NetworkSettings", "HostVeth"])
    }

    /// `NetworkSettings.Ports` (docker's `{"80/tcp": [{"HostIp", "HostPort"}]}`), one entry per
    /// binding; empty if absent.
    pub fn ports(&self) -> Vec<PortMap> {
        let Some(Value::Object(map)) = self.get(&["NetworkSettings", "Ports"]) else {
            return Vec::new();
        };
        let field = |p: &Value, k: &str| p.get(k).and_then(text).unwrap_or_default();
        map.iter()
            .flat_map(|(port, bindings)| {
                let (number, proto) = port.split_once('/').unwrap_or((port, "tcp"));
                bindings
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(move |b| PortMap {
                        host_ip: field(b, "HostIp"),
                        host_port: field(b, "HostPort"),
                        container_port: number.to_string(),
                        protocol: proto.to_string(),
                    })
            })
            .collect()
    }
}

impl Sandbox {
    /// `den inspect NAME`, or `None` if den says there is no such container (non-zero exit).
    pub fn try_inspect(&self, name: &str) -> Option<Inspect> {
        let out = self.den(&["inspect", name]);
        if !out.success() {
            return None;
        }
        Some(Inspect::parse(&out.stdout).unwrap_or_else(|e| panic!("den inspect {name}: {e}")))
    }

    /// `den inspect NAME`; panics if it fails.
    #[track_caller]
    pub fn inspect(&self, name: &str) -> Inspect {
        let out = self.den(&["inspect", name]).ok();
        Inspect::parse(&out.stdout).unwrap_or_else(|e| panic!("den inspect {name}: {e}"))
    }

    /// Polls `den inspect NAME` until the container runs with a pid; panics with den's
    /// output if `den` (the spawned `run`) exits first, or after a timeout.
    pub fn wait_running(&self, den: &Proc, name: &str) -> Inspect {
        self.wait_running_for(den, name, START_TIMEOUT)
    }

    /// [`Sandbox::wait_running`] with an explicit timeout.
    pub fn wait_running_for(&self, den: &Proc, name: &str, timeout: Duration) -> Inspect {
        wait_for(timeout, &format!("container {name} to run"), || {
            if let Some(out) = den.exited_output() {
                panic!("den exited before container {name} was seen running\n{out}");
            }
            let i = self.try_inspect(name)?;
            (i.status().as_deref() == Some("running") && i.pid().is_some()).then_some(i)
        })
    }

    /// The leases of network `net`, address -> container id: den's lease records
    /// (`networks/NET/ipam/leases/ADDRESS`, a symlink to its owner).
    pub fn leases(&self, net: &str) -> std::collections::BTreeMap<String, String> {
        let dir = self.root().join("networks").join(net).join("ipam/leases");
        symlinks(&dir)
    }

    /// den's host-port reservations, one `PROTO/PORT/ADDRESS -> CPORT@OWNER` line each (the
    /// records under `networks/.ports`).
    pub fn reserved_ports(&self) -> String {
        let store = self.root().join("networks/.ports");
        let mut out = String::new();
        for proto in ["tcp", "udp"] {
            let Ok(ports) = std::fs::read_dir(store.join(proto)) else {
                continue;
            };
            for port in ports.flatten() {
                for (ip, v) in symlinks(&port.path()) {
                    let port = port.file_name();
                    out += &format!("{proto}/{}/{ip} -> {v}\n", port.to_string_lossy());
                }
            }
        }
        out
    }
}

/// The symlinks in `dir`: name -> target (none if `dir` does not exist).
fn symlinks(dir: &std::path::Path) -> std::collections::BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Default::default();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let target = std::fs::read_link(e.path()).ok()?;
            let name = e.file_name().to_string_lossy().into_owned();
            Some((name, target.to_string_lossy().into_owned()))
        })
        .collect()
}

/// Asserts den's contract for rejected input: exit 125 and exactly one stderr line that
/// starts with `den: ` and contains at least one of `culprits`.
#[track_caller]
pub fn assert_rejected(out: &Output, culprits: &[&str]) {
    assert_eq!(
        out.code(),
        USAGE_EXIT,
        "expected den to reject the input\n{out}"
    );
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 1, "expected exactly one stderr line\n{out}");
    assert!(
        lines[0].starts_with("den: "),
        "stderr must start with 'den: '\n{out}"
    );
    assert!(
        culprits.iter().any(|c| lines[0].contains(c)),
        "the error must name the culprit (one of {culprits:?})\n{out}"
    );
}
