//! A CNI protocol driver (the spec's conventions: `CNI_*` in the environment, the configuration
//! on stdin, a result or an error JSON on stdout), container network namespaces to attach, and
//! checks of the spec's JSON shapes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{json, Value};

use crate::bin::den_cni_bin;
use crate::exec::{self, Output, CMD_TIMEOUT};
use crate::netns;
use crate::sandbox::Sandbox;

/// The reference plugins' directory (Debian's containernetworking-plugins).
pub const CNI_PATH: &str = "/usr/lib/cni";

static NS_COUNTER: AtomicU32 = AtomicU32::new(0);

/// A plugin's answer: its exit code and its stdout as JSON (`Null` if it printed nothing).
#[derive(Debug)]
pub struct CniReply {
    pub output: Output,
    pub json: Value,
}

impl CniReply {
    /// Panics with the output unless the plugin succeeded.
    #[track_caller]
    pub fn ok(self) -> Value {
        assert!(self.output.success(), "CNI call failed\n{}", self.output);
        self.json
    }

    /// Panics unless the plugin failed with the spec's error JSON carrying `code`; returns `msg`.
    #[track_caller]
    pub fn error(self, code: u64) -> String {
        assert!(
            !self.output.success(),
            "CNI call succeeded\n{}",
            self.output
        );
        assert_error_shape(&self.json);
        assert_eq!(self.json["code"], code, "error code\n{}", self.output);
        self.json["msg"].as_str().unwrap_or_default().to_string()
    }
}

/// One CNI call: which command, for which container and interface, in which netns.
pub struct CniCall<'a> {
    pub plugin: &'a Path,
    pub command: &'a str,
    pub container_id: &'a str,
    pub ifname: &'a str,
    /// `None`: CNI_NETNS unset.
    pub netns: Option<&'a Path>,
    /// `DEN_FAULT` for the plugin: the point of netcfg's attach where it kills itself.
    pub fault: Option<&'a str>,
}

impl Sandbox {
    /// Runs `call` in the host netns with `conf` on stdin.
    pub fn cni(&self, call: &CniCall<'_>, conf: &Value) -> CniReply {
        self.cni_raw(call, &conf.to_string())
    }

    /// Runs `call` with `stdin` as it is (for configurations that are not JSON).
    pub fn cni_raw(&self, call: &CniCall<'_>, stdin: &str) -> CniReply {
        let capture = self.capture(&format!("cni-{}", call.command.to_lowercase()));
        let input = self.scratch().join(format!(
            "cni-in-{}.json",
            NS_COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        fs::write(&input, stdin).unwrap_or_else(|e| panic!("write {}: {e}", input.display()));
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net={}", self.host_ns_path().display()))
            .args(["--", "sh", "-c", "exec \"$0\" < \"$1\""])
            .arg(call.plugin)
            .arg(&input)
            .env("CNI_COMMAND", call.command)
            .env("CNI_CONTAINERID", call.container_id)
            .env("CNI_IFNAME", call.ifname)
            .env("CNI_PATH", CNI_PATH)
            .env_remove("CNI_NETNS")
            .env_remove("DEN_FAULT");
        if let Some(point) = call.fault {
            cmd.env("DEN_FAULT", point);
        }
        if let Some(ns) = call.netns {
            cmd.env("CNI_NETNS", ns);
        }
        let output = exec::run(&mut cmd, &capture, CMD_TIMEOUT);
        let json = match output.out() {
            "" => Value::Null,
            text => serde_json::from_str(text)
                .unwrap_or_else(|e| panic!("plugin stdout is not JSON ({e})\n{output}")),
        };
        CniReply { output, json }
    }

    /// A CNI call of den-cni.
    pub fn den_cni<'a>(
        &self,
        command: &'a str,
        container_id: &'a str,
        ifname: &'a str,
        netns: Option<&'a Path>,
    ) -> CniCall<'a> {
        CniCall {
            plugin: den_cni_path(),
            command,
            container_id,
            ifname,
            netns,
            fault: None,
        }
    }
}

fn den_cni_path() -> &'static Path {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(den_cni_bin)
}

/// A container's network namespace, `ip netns add`ed with the sandbox's name (so a crashed
/// run's is swept) and deleted on drop.
pub struct ContainerNs {
    name: String,
}

impl ContainerNs {
    pub fn new(sb: &Sandbox) -> ContainerNs {
        let n = NS_COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("{}-c{n}", sb.name());
        netns::add(&name).unwrap_or_else(|e| panic!("{e}"));
        ContainerNs { name }
    }

    pub fn path(&self) -> PathBuf {
        netns::path(&self.name)
    }
}

impl Drop for ContainerNs {
    fn drop(&mut self) {
        if let Err(e) = netns::delete(&self.name) {
            eprintln!("den-tests: deleting netns {}: {e}", self.name);
        }
    }
}

/// An ADD result per the spec for `version`: interfaces with names, ips whose `interface` indexes
/// them (with `version` "4" before 1.0.0), routes.
#[track_caller]
pub fn assert_result_shape(v: &Value, version: &str) {
    assert_eq!(v["cniVersion"], version, "cniVersion of {v:#}");
    let ifs = v["interfaces"].as_array().expect("interfaces array");
    for i in ifs {
        assert!(i["name"].is_string(), "interface without a name: {v:#}");
        if let Some(mac) = i.get("mac") {
            let m = mac.as_str().expect("mac is a string");
            assert_eq!(m.split(':').count(), 6, "mac {m}");
        }
    }
    let ips = v["ips"].as_array().expect("ips array");
    assert!(!ips.is_empty(), "no ips: {v:#}");
    for ip in ips {
        let address = ip["address"].as_str().expect("ips[].address");
        let (a, p) = address.split_once('/').expect("address in CIDR form");
        a.parse::<std::net::Ipv4Addr>().expect("an IPv4 address");
        p.parse::<u8>().expect("a prefix length");
        if let Some(gw) = ip.get("gateway") {
            let gw = gw.as_str().expect("ips[].gateway is a string");
            gw.parse::<std::net::Ipv4Addr>().expect("gateway is IPv4");
        }
        if let Some(at) = ip.get("interface") {
            let at = at.as_u64().expect("ips[].interface is an index") as usize;
            assert!(
                at < ifs.len(),
                "ips[].interface {at} indexes no interface: {v:#}"
            );
        }
        match version.starts_with("0.") {
            true => assert_eq!(ip["version"], "4", "ips[].version before 1.0.0"),
            false => assert!(ip.get("version").is_none(), "no ips[].version from 1.0.0"),
        }
    }
    for r in v["routes"].as_array().expect("routes array") {
        assert!(r["dst"].is_string(), "route without dst: {v:#}");
    }
    assert!(v["dns"].is_object(), "dns object: {v:#}");
}

/// The spec's error JSON: `cniVersion`, a numeric `code`, a `msg`, maybe `details`.
#[track_caller]
pub fn assert_error_shape(v: &Value) {
    assert!(
        v["cniVersion"].is_string(),
        "error without cniVersion: {v:#}"
    );
    assert!(v["code"].is_u64(), "error without a numeric code: {v:#}");
    assert!(
        v["msg"].as_str().is_some_and(|m| !m.is_empty()),
        "error without msg: {v:#}"
    );
    if let Some(d) = v.get("details") {
        assert!(d.is_string(), "details is a string: {v:#}");
    }
}

/// A conflist-style plugin configuration for network `denbr` on `cni0`, 10.88.0.0/16.
pub fn den_cni_conf(data_dir: &Path, version: &str) -> Value {
    json!({
        "cniVersion": version,
        "name": "denbr",
        "type": "den-cni",
        "bridge": "cni0",
        "isGateway": true,
        "ipMasq": true,
        "hairpinMode": true,
        "ipam": {
            "type": "den",
            "ranges": [[{"subnet": "10.88.0.0/16", "gateway": "10.88.0.1"}]],
            "routes": [{"dst": "0.0.0.0/0"}],
            "dataDir": data_dir,
        },
        "capabilities": {"portMappings": true},
    })
}

/// `conf` with `runtimeConfig.portMappings` of `(hostPort, containerPort)` over tcp.
pub fn with_ports(mut conf: Value, ports: &[(u16, u16)]) -> Value {
    let maps: Vec<Value> = ports
        .iter()
        .map(|(h, c)| json!({"hostPort": h, "containerPort": c, "protocol": "tcp"}))
        .collect();
    conf["runtimeConfig"] = json!({ "portMappings": maps });
    conf
}

/// `conf` with `prevResult` set (CHECK, DEL and chained plugins get one).
pub fn with_prev(mut conf: Value, prev: &Value) -> Value {
    conf["prevResult"] = prev.clone();
    conf
}

/// busybox httpd serving `page` as `/index.html` on port 80 inside the netns at `ns`, started
/// from the sandbox's host netns (and ended with the sandbox).
pub fn serve_page(sb: &Sandbox, ns: &Path, page: &str) {
    let www = sb.scratch().join("www");
    fs::create_dir_all(&www).unwrap_or_else(|e| panic!("create {}: {e}", www.display()));
    fs::write(www.join("index.html"), page).unwrap_or_else(|e| panic!("write index.html: {e}"));
    sb.host_spawn(&format!(
        "exec nsenter --net={} busybox httpd -f -p 80 -h {}",
        ns.display(),
        www.display()
    ));
}
