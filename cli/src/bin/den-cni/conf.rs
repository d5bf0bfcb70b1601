//! The network configuration on stdin, with the keys of the reference `bridge` + `host-local` +
//! `portmap` plugins that den has a meaning for, checked into one [`NetConf`].

use std::net::Ipv4Addr;
use std::path::PathBuf;

use den_netcfg::network::Ipv4Net;
use den_netcfg::{PortSpec, Proto};
use serde::Deserialize;
use serde_json::Value;

use crate::reply::{CniError, Code, SUPPORTED};

/// den's default state root, the one `den` itself uses without `--root`.
const DEFAULT_DATA_DIR: &str = "/var/lib/den";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    cni_version: String,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    bridge: Option<String>,
    is_gateway: Option<bool>,
    ip_masq: Option<bool>,
    mtu: Option<u32>,
    hairpin_mode: Option<bool>,
    data_dir: Option<PathBuf>,
    ipam: Option<RawIpam>,
    #[serde(default)]
    capabilities: serde_json::Map<String, Value>,
    #[serde(default)]
    runtime_config: RawRuntime,
    prev_result: Option<Value>,
    #[serde(rename = "cni.dev/valid-attachments")]
    valid_attachments: Option<Vec<ValidAttachment>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawIpam {
    #[serde(rename = "type")]
    kind: String,
    subnet: Option<Ipv4Net>,
    gateway: Option<Ipv4Addr>,
    #[serde(default)]
    ranges: Vec<Vec<RawRange>>,
    #[serde(default)]
    routes: Vec<RawRoute>,
    data_dir: Option<PathBuf>,
}

#[derive(Deserialize)]
struct RawRange {
    subnet: Ipv4Net,
    gateway: Option<Ipv4Addr>,
}

#[derive(Deserialize)]
struct RawRoute {
    dst: Ipv4Net,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawRuntime {
    #[serde(default)]
    port_mappings: Vec<RawPort>,
    #[serde(default)]
    ips: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPort {
    host_port: u16,
    container_port: u16,
    protocol: Option<String>,
    #[serde(rename = "hostIP")]
    host_ip: Option<String>,
}

/// One entry of `cni.dev/valid-attachments` (GC).
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ValidAttachment {
    #[serde(rename = "containerID")]
    pub container_id: String,
    pub ifname: String,
}

/// A checked configuration.
#[derive(Debug)]
pub struct NetConf {
    pub cni_version: String,
    /// The den network: `den network create NAME` and the conflist's `name` are one namespace.
    pub network: String,
    pub bridge: Option<String>,
    pub subnet: Option<Ipv4Net>,
    pub gateway: Option<Ipv4Addr>,
    /// den's state root (`ipam.dataDir`, else `dataDir`, else den's default).
    pub data_dir: PathBuf,
    pub publish: Vec<PortSpec>,
    pub ip: Option<Ipv4Addr>,
    pub prev_result: Option<Value>,
    pub valid_attachments: Option<Vec<ValidAttachment>>,
}

/// Only the version (VERSION's stdin may hold nothing else).
pub fn version_of(stdin: &[u8]) -> Result<String, CniError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct V {
        cni_version: String,
    }
    let v: V = serde_json::from_slice(stdin).map_err(decode)?;
    Ok(v.cni_version)
}

pub fn parse(stdin: &[u8]) -> Result<NetConf, CniError> {
    let raw: Raw = serde_json::from_slice(stdin).map_err(decode)?;
    if !SUPPORTED.contains(&raw.cni_version.as_str()) {
        return Err(CniError::new(
            Code::IncompatibleVersion,
            format!("cniVersion {:?} is not supported", raw.cni_version),
        )
        .details(format!("den-cni supports {}", SUPPORTED.join(", "))));
    }
    if raw.kind != "den-cni" {
        return Err(invalid(format!(
            "type is {:?}, this plugin is den-cni",
            raw.kind
        )));
    }
    refuse_unsupported(&raw)?;
    let ipam = raw.ipam;
    if let Some(i) = &ipam {
        if i.kind != "den" {
            return Err(invalid(format!(
                "ipam type {:?}: den-cni leases addresses itself (ipam type \"den\")",
                i.kind
            )));
        }
        if let Some(r) = i.routes.iter().find(|r| r.dst.prefix_len() != 0) {
            return Err(invalid(format!(
                "ipam route {}: den-cni gives only the default route via the gateway",
                r.dst
            )));
        }
    }
    let range = ipam.as_ref().and_then(|i| match i.ranges.as_slice() {
        [] => None,
        [set, ..] => set.first(),
    });
    if ipam
        .as_ref()
        .is_some_and(|i| i.ranges.len() > 1 || i.ranges.first().is_some_and(|s| s.len() > 1))
    {
        return Err(invalid("ipam ranges: den-cni takes one IPv4 range".into()));
    }
    let subnet = range
        .map(|r| r.subnet)
        .or(ipam.as_ref().and_then(|i| i.subnet));
    let gateway = range
        .and_then(|r| r.gateway)
        .or(ipam.as_ref().and_then(|i| i.gateway));
    let data_dir = ipam
        .as_ref()
        .and_then(|i| i.data_dir.clone())
        .or(raw.data_dir)
        .unwrap_or_else(|| DEFAULT_DATA_DIR.into());
    let wants = |cap: &str| raw.capabilities.get(cap) == Some(&Value::Bool(true));
    let publish = if wants("portMappings") {
        raw.runtime_config
            .port_mappings
            .iter()
            .map(port_spec)
            .collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    let ip = match raw.runtime_config.ips.as_slice() {
        _ if !wants("ips") => None,
        [] => None,
        [one] => Some(runtime_ip(one)?),
        _ => {
            return Err(invalid(
                "runtimeConfig.ips: den-cni gives one IPv4 address".into(),
            ))
        }
    };
    Ok(NetConf {
        cni_version: raw.cni_version,
        network: raw.name,
        bridge: raw.bridge,
        subnet,
        gateway,
        data_dir,
        publish,
        ip,
        prev_result: raw.prev_result,
        valid_attachments: raw.valid_attachments,
    })
}

/// Keys of the reference plugins whose other values den does not do: refused rather than ignored.
fn refuse_unsupported(raw: &Raw) -> Result<(), CniError> {
    let refuse = |what: &str| Err(CniError::new(Code::UnsupportedField, what.into()));
    if raw.is_gateway == Some(false) {
        return refuse("isGateway false: den's bridge always holds the gateway address");
    }
    if raw.ip_masq == Some(false) {
        return refuse("ipMasq false: den masquerades every network's traffic leaving the host");
    }
    if raw.hairpin_mode == Some(false) {
        return refuse("hairpinMode false: den's bridge ports always hairpin (published ports reach their own container)");
    }
    if raw.mtu.is_some() {
        return refuse("mtu: den's veths take their bridge's MTU");
    }
    if raw.capabilities.get("mac") == Some(&Value::Bool(true)) {
        return refuse("capability mac: den derives each MAC from its address");
    }
    Ok(())
}

fn port_spec(p: &RawPort) -> Result<PortSpec, CniError> {
    let proto = match p.protocol.as_deref().unwrap_or("tcp") {
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        other => {
            return Err(invalid(format!(
                "runtimeConfig.portMappings: protocol {other:?} (tcp or udp)"
            )))
        }
    };
    let host_ip = match p.host_ip.as_deref() {
        None | Some("") | Some("0.0.0.0") => None,
        Some(s) => Some(s.parse().map_err(|_| {
            invalid(format!(
                "runtimeConfig.portMappings: hostIP {s:?} is not an IPv4 address"
            ))
        })?),
    };
    if p.host_port == 0 || p.container_port == 0 {
        return Err(invalid("runtimeConfig.portMappings: port 0".into()));
    }
    Ok(PortSpec {
        host_ip,
        host_ports: Some((p.host_port, p.host_port)),
        container_ports: (p.container_port, p.container_port),
        proto,
    })
}

/// `runtimeConfig.ips` entries are addresses, with or without a prefix (`10.1.2.3/24`).
fn runtime_ip(s: &str) -> Result<Ipv4Addr, CniError> {
    s.split('/')
        .next()
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| invalid(format!("runtimeConfig.ips: {s:?} is not an IPv4 address")))
}

fn decode(e: serde_json::Error) -> CniError {
    CniError::new(
        Code::Decode,
        "the network configuration is not valid".into(),
    )
    .details(e.to_string())
}

fn invalid(msg: String) -> CniError {
    CniError::new(Code::InvalidConfig, msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_json(v: Value) -> Result<NetConf, CniError> {
        parse(v.to_string().as_bytes())
    }

    fn base() -> Value {
        json!({"cniVersion": "1.0.0", "name": "n", "type": "den-cni"})
    }

    #[test]
    fn reference_keys_become_a_den_request() {
        let mut v = base();
        v["ipam"] = json!({"type": "den", "ranges": [[{"subnet": "10.9.0.0/24",
                           "gateway": "10.9.0.254"}]], "dataDir": "/d"});
        v["capabilities"] = json!({"portMappings": true, "ips": true});
        v["runtimeConfig"] = json!({
            "portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "udp",
                              "hostIP": "127.0.0.1"}],
            "ips": ["10.9.0.7/24"],
        });
        let c = parse_json(v).unwrap();
        assert_eq!(c.subnet, Some("10.9.0.0/24".parse().unwrap()));
        assert_eq!(c.gateway, Some(Ipv4Addr::new(10, 9, 0, 254)));
        assert_eq!(c.data_dir, PathBuf::from("/d"));
        assert_eq!(c.ip, Some(Ipv4Addr::new(10, 9, 0, 7)));
        assert_eq!(
            c.publish,
            vec![PortSpec {
                host_ip: Some(Ipv4Addr::LOCALHOST),
                host_ports: Some((8080, 8080)),
                container_ports: (80, 80),
                proto: Proto::Udp,
            }]
        );
    }

    #[test]
    fn runtime_config_needs_its_capability() {
        let mut v = base();
        v["runtimeConfig"] = json!({"portMappings": [{"hostPort": 1, "containerPort": 2}],
                                    "ips": ["10.0.0.2"]});
        let c = parse_json(v).unwrap();
        assert!(c.publish.is_empty() && c.ip.is_none());
        assert_eq!(c.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
    }

    #[test]
    fn what_den_does_not_do_is_refused_with_its_code() {
        let cases = [
            (json!({"isGateway": false}), Code::UnsupportedField),
            (json!({"ipMasq": false}), Code::UnsupportedField),
            (json!({"hairpinMode": false}), Code::UnsupportedField),
            (json!({"mtu": 1400}), Code::UnsupportedField),
            (
                json!({"capabilities": {"mac": true}}),
                Code::UnsupportedField,
            ),
            (json!({"type": "bridge"}), Code::InvalidConfig),
            (json!({"ipam": {"type": "host-local"}}), Code::InvalidConfig),
            (
                json!({"ipam": {"type": "den", "routes": [{"dst": "10.0.0.0/8"}]}}),
                Code::InvalidConfig,
            ),
            (json!({"cniVersion": "0.2.0"}), Code::IncompatibleVersion),
            (json!({"name": 5}), Code::Decode),
        ];
        for (extra, code) in cases {
            let mut v = base();
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            let e = parse_json(v.clone()).expect_err(&v.to_string());
            assert_eq!(e.code, code, "{v}: {}", e.msg);
        }
        assert_eq!(parse(b"{").unwrap_err().code, Code::Decode);
    }
}
