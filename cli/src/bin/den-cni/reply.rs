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

#[cfg(test)]
mod tests {
    use super::*;

    fn att() -> Attachment {
        Attachment {
            network: "n".into(),
            bridge: "cni0".into(),
            ip: "10.9.0.2".parse().unwrap(),
            prefix_len: 24,
            gateway: "10.9.0.1".parse().unwrap(),
            mac: "02:42:0a:09:00:02".into(),
            host_veth: "veth0123456789a".into(),
            ports: Vec::new(),
            container_id: "0".repeat(64),
            container_name: "cni-x".into(),
            internal: false,
        }
    }

    #[test]
    fn ips_carry_a_version_only_before_1_0_0() {
        for (v, with) in [
            ("0.3.1", true),
            ("0.4.0", true),
            ("1.0.0", false),
            ("1.1.0", false),
        ] {
            let r = result(v, &att(), "eth0", "/run/netns/x");
            assert_eq!(r["cniVersion"], v);
            assert_eq!(r["ips"][0].get("version").is_some(), with, "{v}");
            assert_eq!(r["ips"][0]["address"], "10.9.0.2/24");
            assert_eq!(r["interfaces"][2]["sandbox"], "/run/netns/x");
        }
    }

    #[test]
    fn errors_are_the_spec_json() {
        let e = CniError::new(Code::InvalidEnv, "CNI_NETNS is not set".into());
        assert_eq!(
            e.to_json("1.1.0"),
            json!({"cniVersion": "1.1.0", "code": 4, "msg": "CNI_NETNS is not set"})
        );
    }

    #[test]
    fn merge_appends_and_reindexes() {
        let prev = json!({"interfaces": [{"name": "a"}, {"name": "b"}],
                          "ips": [{"address": "192.0.2.1/24", "interface": 1}],
                          "routes": [{"dst": "192.0.2.0/24"}], "dns": {"nameservers": ["1.1.1.1"]}});
        let m = merge(&prev, result("1.0.0", &att(), "eth0", "/ns"));
        assert_eq!(m["interfaces"].as_array().unwrap().len(), 5);
        assert_eq!(m["ips"][0]["interface"], 1);
        assert_eq!(m["ips"][1]["interface"], 4);
        assert_eq!(m["routes"].as_array().unwrap().len(), 2);
        assert_eq!(m["dns"]["nameservers"][0], "1.1.1.1");
    }
}
