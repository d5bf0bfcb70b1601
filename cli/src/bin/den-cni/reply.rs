//! What den-cni prints: a result in the shape of the requested version, or the spec's error JSON.

use std::fmt;

use den_netcfg::netlink::{mac_from_ip, mac_string};
use den_netcfg::{AttachError, Attachment};
use serde_json::{json, Value};

/// The versions whose result shapes den-cni writes (VERSION's `supportedVersions`).
pub const SUPPORTED: [&str; 5] = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

/// The spec's well-known error codes (1–7, 11, 50–51), and 100 for den's own failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    IncompatibleVersion = 1,
    UnsupportedField = 2,
    UnknownContainer = 3,
    InvalidEnv = 4,
    Io = 5,
    Decode = 6,
    InvalidConfig = 7,
    TryAgainLater = 11,
    NotAvailable = 50,
    /// den's own failures (netlink, nftables): the spec leaves 100 and up to plugins.
    Den = 100,
}

/// One error, as the spec's JSON: `{cniVersion, code, msg, details}`.
#[derive(Debug)]
pub struct CniError {
    pub code: Code,
    pub msg: String,
    pub details: Option<String>,
}

impl CniError {
    pub fn new(code: Code, msg: String) -> CniError {
        CniError {
            code,
            msg,
            details: None,
        }
    }

    pub fn details(mut self, details: String) -> CniError {
        self.details = Some(details);
        self
    }

    pub fn to_json(&self, cni_version: &str) -> Value {
        let mut v = json!({"cniVersion": cni_version, "code": self.code as u32, "msg": self.msg});
        if let Some(d) = &self.details {
            v["details"] = d.clone().into();
        }
        v
    }

    /// netcfg's error, with the code a runtime can act on.
    pub fn attach(e: AttachError) -> CniError {
        let code = match &e {
            // A host port or address someone holds, a full subnet: may free up.
            _ if e.is_conflict() => Code::TryAgainLater,
            AttachError::Netns { .. } | AttachError::NotNetns { .. } => Code::InvalidEnv,
            AttachError::InvalidIfname { .. } => Code::InvalidEnv,
            AttachError::Network(_)
            | AttachError::Ports(_)
            | AttachError::IpOutside { .. }
            | AttachError::IpReserved { .. }
            | AttachError::PublishInternal(_) => Code::InvalidConfig,
            AttachError::Lock(_) | AttachError::PortAlloc(_) => Code::Io,
            _ => Code::Den,
        };
        CniError::new(code, den_netcfg::one_line(&e))
    }
}

impl fmt::Display for CniError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

/// ADD's result for `att` (interface `ifname` in `netns`), like the reference bridge's: the
/// bridge, the host veth and the container's interface, its address and the default route.
pub fn result(version: &str, att: &Attachment, ifname: &str, netns: &str) -> Value {
    let mut ip = json!({
        "address": format!("{}/{}", att.ip, att.prefix_len),
        "gateway": att.gateway.to_string(),
        "interface": 2,
    });
    if version.starts_with("0.") {
        ip["version"] = "4".into();
    }
    let routes = match att.internal {
        true => json!([]),
        false => json!([{"dst": "0.0.0.0/0", "gw": att.gateway.to_string()}]),
    };
    json!({
        "cniVersion": version,
        "interfaces": [
            {"name": att.bridge, "mac": mac_string(mac_from_ip(att.gateway))},
            {"name": att.host_veth},
            {"name": ifname, "mac": att.mac, "sandbox": netns},
        ],
        "ips": [ip],
        "routes": routes,
        "dns": {},
    })
}

/// den-cni after another plugin in a chain: the earlier plugins' result with ours added
/// (interfaces appended, so our ips' `interface` indexes shift by the interfaces already there).
pub fn merge(prev: &Value, mut ours: Value) -> Value {
    let list = |v: &Value, key: &str| v[key].as_array().cloned().unwrap_or_default();
    let mut interfaces = list(prev, "interfaces");
    let shift = interfaces.len() as u64;
    let mut ips = list(prev, "ips");
    for mut ip in list(&ours, "ips") {
        if let Some(i) = ip["interface"].as_u64() {
            ip["interface"] = (i + shift).into();
        }
        ips.push(ip);
    }
    interfaces.extend(list(&ours, "interfaces"));
    let mut routes = list(prev, "routes");
    routes.extend(list(&ours, "routes"));
    ours["interfaces"] = interfaces.into();
    ours["ips"] = ips.into();
    ours["routes"] = routes.into();
    if prev["dns"].is_object() {
        ours["dns"] = prev["dns"].clone();
    }
    ours
}

/// VERSION's answer.
pub fn versions(version: &str) -> Value {
    json!({"cniVersion": version, "supportedVersions": SUPPORTED})
}
