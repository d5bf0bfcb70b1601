//! The commands: each checks its environment and configuration, calls netcfg's front once or
//! twice, and keeps den-cni's record of the attachment (see `store`).

use std::net::Ipv4Addr;
use std::path::Path;

use den_netcfg::network::{self, CreateRequest, Network, NetworkError};
use den_netcfg::{host_veth_name, Attachment, Networks, Request};
use serde_json::Value;

use crate::conf::NetConf;
use crate::reply::{self, CniError, Code};
use crate::store::{self, Record};

/// The `CNI_*` environment.
pub struct Env {
    pub container_id: Option<String>,
    pub netns: Option<String>,
    pub ifname: Option<String>,
}

fn required<'a>(v: &'a Option<String>, name: &str) -> Result<&'a str, CniError> {
    match v.as_deref() {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(CniError::new(
            Code::InvalidEnv,
            format!("{name} is not set"),
        )),
    }
}

/// Is `version` at least `min` (both from [`reply::SUPPORTED`])?
fn at_least(version: &str, min: &str) -> bool {
    let key = |v: &str| reply::SUPPORTED.iter().position(|s| *s == v);
    key(version) >= key(min)
}

fn needs(conf: &NetConf, min: &str, command: &str) -> Result<(), CniError> {
    match at_least(&conf.cni_version, min) {
        true => Ok(()),
        false => Err(CniError::new(
            Code::IncompatibleVersion,
            format!(
                "{command} needs cniVersion {min} or later, not {}",
                conf.cni_version
            ),
        )),
    }
}

pub fn add(env: &Env, conf: &NetConf) -> Result<Value, CniError> {
    let cid = required(&env.container_id, "CNI_CONTAINERID")?;
    let netns = required(&env.netns, "CNI_NETNS")?;
    let ifname = required(&env.ifname, "CNI_IFNAME")?;
    let nets = Networks::new(&conf.data_dir);
    // Bad environment first, so that refusing it leaves nothing (not even a new network).
    den_netcfg::netlink::check_ifname(ifname).map_err(|reason| {
        CniError::new(Code::InvalidEnv, format!("CNI_IFNAME {ifname:?} {reason}"))
    })?;
    nets.check_netns(Path::new(netns)).map_err(|e| {
        CniError::new(
            Code::InvalidEnv,
            format!("CNI_NETNS: {}", den_netcfg::one_line(&e)),
        )
    })?;
    let owner = store::owner(&conf.network, cid, ifname);
    if let Some(old) = store::load(&conf.data_dir, &owner)? {
        // An ADD with no DEL since (the runtime crashed, or this plugin did): start afresh.
        undo(&nets, &conf.data_dir, &old)?;
    }
    let (net, created) = ensure_network(conf)?;
    let added = attach(&nets, conf, &net, &owner, cid, ifname, netns);
    if added.is_err() && created {
        let _ = network::remove(&conf.data_dir, &net.name);
    }
    let att = added?;
    let ours = reply::result(&conf.cni_version, &att, ifname, netns);
    Ok(match &conf.prev_result {
        Some(prev) => reply::merge(prev, ours),
        None => ours,
    })
}

fn attach(
    nets: &Networks,
    conf: &NetConf,
    net: &Network,
    owner: &str,
    cid: &str,
    ifname: &str,
    netns: &str,
) -> Result<Attachment, CniError> {
    let name = format!("cni-{}", cid.chars().take(12).collect::<String>());
    let req = Request {
        network: &net.name,
        container_id: owner,
        container_name: &name,
        ip: conf.ip,
        publish: &conf.publish,
    };
    let plan = nets
        .plan(&req)
        .and_then(|p| p.with_ifname(ifname))
        .map_err(CniError::attach)?;
    let mut rec = Record {
        container_id: cid.into(),
        ifname: ifname.into(),
        netns: netns.into(),
        complete: false,
        attachment: Attachment {
            network: net.name.clone(),
            bridge: net.bridge.clone(),
            ip: Ipv4Addr::UNSPECIFIED,
            prefix_len: net.subnet.prefix_len(),
            gateway: net.gateway,
            mac: String::new(),
            host_veth: host_veth_name(owner),
            ports: plan.host_ports().map_err(CniError::attach)?,
            container_id: owner.into(),
            container_name: name.clone(),
            internal: net.internal,
        },
    };
    store::save(&conf.data_dir, &rec)?;
    match nets.attach(plan, Path::new(netns)) {
        Ok(att) => {
            rec.attachment = att.clone();
            rec.complete = true;
            if let Err(e) = store::save(&conf.data_dir, &rec) {
                let _ = undo(nets, &conf.data_dir, &rec);
                return Err(e);
            }
            Ok(att)
        }
        Err(e) => {
            let _ = store::remove(&conf.data_dir, owner);
            Err(CniError::attach(e))
        }
    }
}

/// The conflist's network, the same as `den network create`'s: used if it exists (its bridge and
/// subnet must be the configured ones), else created from the configuration. Says whether it was
/// created here.
fn ensure_network(conf: &NetConf) -> Result<(Network, bool), CniError> {
    let root = &conf.data_dir;
    let net = match Network::load(root, &conf.network) {
        Ok(net) => net,
        Err(NetworkError::NotFound(_)) => {
            let req = CreateRequest {
                root,
                name: &conf.network,
                subnet: conf.subnet,
                gateway: conf.gateway,
                bridge: conf.bridge.as_deref(),
                internal: false,
                uplink: None,
                force: false,
            };
            match network::create(&req) {
                Ok(net) => return Ok((net, true)),
                // Another ADD made it meanwhile.
                Err(NetworkError::NameInUse(_)) => {
                    Network::load(root, &conf.network).map_err(|e| CniError::attach(e.into()))?
                }
                Err(e) => return Err(CniError::attach(e.into())),
            }
        }
        Err(e) => return Err(CniError::attach(e.into())),
    };
    let differs = |what: &str, have: String, want: String| {
        CniError::new(
            Code::InvalidConfig,
            format!("network {} exists with {what} {have}, not {want}", net.name),
        )
    };
    if let Some(b) = conf.bridge.as_ref().filter(|b| **b != net.bridge) {
        return Err(differs("bridge", net.bridge.clone(), b.clone()));
    }
    if let Some(s) = conf.subnet.filter(|s| s.trunc() != net.subnet.trunc()) {
        return Err(differs("subnet", net.subnet.to_string(), s.to_string()));
    }
    if let Some(g) = conf.gateway.filter(|g| *g != net.gateway) {
        return Err(differs("gateway", net.gateway.to_string(), g.to_string()));
    }
    Ok((net, false))
}

/// Detach what `rec` describes and forget it (the record stays if detaching failed, for a retry).
fn undo(nets: &Networks, data_dir: &Path, rec: &Record) -> Result<(), CniError> {
    nets.detach(&rec.attachment)
        .map_err(|e| CniError::new(Code::Den, den_netcfg::one_line(&e)))?;
    store::remove(data_dir, &rec.attachment.container_id)
}

/// DEL: idempotent; nothing recorded (never added, or deleted already) is success.
pub fn del(env: &Env, conf: &NetConf) -> Result<(), CniError> {
    let cid = required(&env.container_id, "CNI_CONTAINERID")?;
    let ifname = required(&env.ifname, "CNI_IFNAME")?;
    let owner = store::owner(&conf.network, cid, ifname);
    match store::load(&conf.data_dir, &owner)? {
        Some(rec) => undo(&Networks::new(&conf.data_dir), &conf.data_dir, &rec),
        None => Ok(()),
    }
}

pub fn check(env: &Env, conf: &NetConf) -> Result<(), CniError> {
    needs(conf, "0.4.0", "CHECK")?;
    let cid = required(&env.container_id, "CNI_CONTAINERID")?;
    let netns = required(&env.netns, "CNI_NETNS")?;
    let ifname = required(&env.ifname, "CNI_IFNAME")?;
    let unknown = || {
        CniError::new(
            Code::UnknownContainer,
            format!(
                "no attachment of {cid} {ifname} on network {}",
                conf.network
            ),
        )
    };
    let rec = store::load(&conf.data_dir, &store::owner(&conf.network, cid, ifname))?
        .filter(|r| r.complete && r.attachment.network == conf.network)
        .ok_or_else(unknown)?;
    let att = &rec.attachment;
    let address = format!("{}/{}", att.ip, att.prefix_len);
    let listed = conf
        .prev_result
        .as_ref()
        .and_then(|p| p["ips"].as_array())
        .is_some_and(|ips| ips.iter().any(|i| i["address"] == address.as_str()));
    if !listed {
        return Err(CniError::new(
            Code::InvalidConfig,
            format!("prevResult does not list this attachment's address {address}"),
        ));
    }
    Networks::new(&conf.data_dir)
        .check(att, Path::new(netns), ifname)
        .map_err(|e| CniError::new(Code::Den, den_netcfg::one_line(&e)))
}

/// GC: detach every attachment of this network that `cni.dev/valid-attachments` does not list.
/// Goes on past each failure; the first is the error.
pub fn gc(conf: &NetConf) -> Result<(), CniError> {
    needs(conf, "1.1.0", "GC")?;
    let valid = conf.valid_attachments.as_deref().unwrap_or_default();
    let nets = Networks::new(&conf.data_dir);
    let mut first = None;
    for rec in store::all(&conf.data_dir, &conf.network)? {
        let kept = valid
            .iter()
            .any(|v| v.container_id == rec.container_id && v.ifname == rec.ifname);
        if !kept {
            if let Err(e) = undo(&nets, &conf.data_dir, &rec) {
                first.get_or_insert(e);
            }
        }
    }
    first.map_or(Ok(()), Err)
}

/// STATUS: can den-cni attach now? Its state root is writable, the network lock and leases can
/// be read, and den's nftables table can be opened.
pub fn status(conf: &NetConf) -> Result<(), CniError> {
    needs(conf, "1.1.0", "STATUS")?;
    let unavailable = |msg: String| CniError::new(Code::NotAvailable, msg);
    let dir = conf.data_dir.join("cni");
    std::fs::create_dir_all(&dir)
        .map_err(|e| unavailable(format!("creating {}: {e}", dir.display())))?;
    match Network::load(&conf.data_dir, &conf.network) {
        Ok(_) | Err(NetworkError::NotFound(_)) => {}
        Err(e) => return Err(unavailable(den_netcfg::one_line(&e))),
    }
    Networks::new(&conf.data_dir)
        .members(&conf.network, |_| ())
        .map_err(|e| unavailable(den_netcfg::one_line(&e)))?;
    den_netcfg::firewall::Firewall::new()
        .map(drop)
        .map_err(|e| unavailable(den_netcfg::one_line(&e)))
}
