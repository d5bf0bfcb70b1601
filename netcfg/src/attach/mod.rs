//! Attaching a container's network namespace to a bridge network (step 4 of `den run`, see
//! `runtime/src/run/mod.rs`).
//!
//! `Plan::new` validates everything (the only way to get a `Plan`), `Plan::apply` makes the changes:
//! bridge, lease, host ports, veth, addresses and routes inside, firewall — registering the undo of
//! each as it is made. Both are reached through [`crate::Networks`].

mod error;
mod inside;
mod more;

use std::net::Ipv4Addr;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::firewall::{ContainerRules, Firewall};
use crate::ipam;
use crate::lock::NetLock;
use crate::netlink::{mac_from_ip, mac_string, Netlink, NetlinkError};
use crate::network::{self, Network};
use crate::portalloc;
use crate::ports::{self, PortMapping, PortSpec};
use crate::sysctl;
use crate::trace;
pub use error::{AttachError, Reserved};

/// What a container got from its network: stored in its state, enough to tear it down again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub network: String,
    pub bridge: String,
    pub ip: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Ipv4Addr,
    pub mac: String,
    pub host_veth: String,
    pub ports: Vec<PortMapping>,
    pub container_id: String,
    pub container_name: String,
    pub internal: bool,
}

impl Attachment {
    pub(crate) fn rules(&self) -> ContainerRules<'_> {
        ContainerRules {
            id: &self.container_id,
            name: &self.container_name,
            ip: self.ip,
            ports: &self.ports,
        }
    }
}

/// What `den run --network NET [--ip IP] [-p ...]` asks for.
pub struct Request<'a> {
    pub network: &'a str,
    pub container_id: &'a str,
    pub container_name: &'a str,
    pub ip: Option<Ipv4Addr>,
    pub publish: &'a [PortSpec],
}

/// A validated request: network found and sane, `--ip` inside the subnet, published host ports free right now.
#[derive(Debug)]
pub struct Plan {
    root: PathBuf,
    network: Network,
    container_id: String,
    container_name: String,
    ip: Option<Ipv4Addr>,
    publish: Vec<PortSpec>,
    /// The interface's name inside the netns (`eth0` unless [`Plan::with_ifname`] says otherwise).
    ifname: String,
    /// `--mac-address` (else one made from the address, [`mac_from_ip`]).
    mac: Option<[u8; 6]>,
    /// `den network connect`: the container's Nth network (its `ethN`, host veth
    /// [`crate::gc::host_veth_name_nth`], no default route); 0 for its first.
    nth: u8,
}

impl Plan {
    /// Validate before anything is created. Port conflicts are checked again under the lock in `apply`.
    pub(crate) fn new(root: &Path, req: &Request<'_>) -> Result<Plan, AttachError> {
        let network = Network::load(root, req.network)?;
        if let Some(ip) = req.ip {
            check_ip(&network, ip)?;
        }
        if !req.publish.is_empty() {
            if network.internal {
                return Err(AttachError::PublishInternal(network.name));
            }
            ports::expand(req.publish, &portalloc::Published(root))?;
        }
        Ok(Plan {
            root: root.to_path_buf(),
            network,
            container_id: req.container_id.to_string(),
            container_name: req.container_name.to_string(),
            ip: req.ip,
            publish: req.publish.to_vec(),
            ifname: "eth0".into(),
            mac: None,
            nth: 0,
        })
    }

    /// Name the interface inside the netns `name` instead of `eth0` (a CNI plugin's `CNI_IFNAME`).
    pub fn with_ifname(mut self, name: &str) -> Result<Plan, AttachError> {
        crate::netlink::check_ifname(name).map_err(|reason| AttachError::InvalidIfname {
            name: name.into(),
            reason,
        })?;
        self.ifname = name.into();
        Ok(self)
    }

    /// The host ports this plan publishes, as they will be reserved (for a record made before
    /// `apply`, so that an interrupted attach can be undone).
    pub fn host_ports(&self) -> Result<Vec<PortMapping>, AttachError> {
        Ok(ports::expand(
            &self.publish,
            &portalloc::Published(&self.root),
        )?)
    }

    /// Bridge, veth, lease, addresses and routes, firewall — under the network lock. Must run inside a
    /// tokio runtime (current-thread is enough). On error everything made so far is undone.
    pub(crate) async fn apply(self, netns: BorrowedFd<'_>) -> Result<Attachment, AttachError> {
        let lock = NetLock::acquire(&self.root)?;
        trace::step(|| "# network lock taken (net.lock)".into());
        // `den network rm` may have removed the network since `Plan::new`: look again under the lock.
        Network::load(&self.root, &self.network.name)?;
        let host = Netlink::open_current()?;
        let mut fw = Firewall::new()?;
        let bridge = self.ensure_bridge(&host, &mut fw).await?;
        let mut undo = Undo {
            lock,
            fw,
            root: self.root.clone(),
            network: self.network.name.clone(),
            owner: self.container_id.clone(),
            lease: false,
            ports: Vec::new(),
            rules: None,
        };
        match self.attach(&host, &mut undo, bridge, netns).await {
            Ok(att) => {
                undo.commit();
                Ok(att)
            }
            Err((e, veth)) => {
                if let Some(index) = veth {
                    // The peer dies with the netns too; deleting here makes rollback immediate.
                    let _ = host.delete_link(index).await;
                }
                Err(e)
            }
        }
    }

    async fn ensure_bridge(&self, nl: &Netlink, fw: &mut Firewall) -> Result<u32, AttachError> {
        let net = &self.network;
        if let Some(index) = nl.link_index(&net.bridge).await? {
            return Ok(index);
        }
        net.check_overlap(&nl.routes_v4(None).await?)?;
        trace::step(|| {
            format!(
                "ip link add {} type bridge && ip link set {0} up",
                net.bridge
            )
        });
        // The bridge's own MAC, from its gateway address (never a container's: the gateway is never
        // leased), so it stays the same as containers come and go.
        let (index, _) = nl
            .ensure_bridge(&net.bridge, None, Some(mac_from_ip(net.gateway)))
            .await?;
        trace::step(|| format!("ip addr add {} dev {}", net.gateway_net(), net.bridge));
        match nl.add_address(index, net.gateway_net()).await {
            Err(e) if e.errno() == Some(libc::EEXIST) => {}
            r => r?,
        }
        trace::step(|| "sysctl net.ipv4.ip_forward=1".into());
        sysctl::set("net.ipv4.ip_forward", "1")?;
        trace::step(|| format!("sysctl net.ipv4.conf.{}.route_localnet=1", net.bridge));
        sysctl::set(&format!("net.ipv4.conf.{}.route_localnet", net.bridge), "1")?;
        trace::step(|| {
            format!(
                "nft add rule ip den ... # masquerade {} (network {})",
                net.subnet, net.name
            )
        });
        let all = network::list(&self.root)?;
        let bridges: Vec<&str> = all.iter().map(|n| n.bridge.as_str()).collect();
        fw.ensure_network(&net.name, &net.bridge, net.subnet, !net.internal, &bridges)?;
        Ok(index)
    }

    async fn attach(
        &self,
        host: &Netlink,
        undo: &mut Undo,
        bridge: u32,
        netns: BorrowedFd<'_>,
    ) -> Result<Attachment, (AttachError, Option<u32>)> {
        let net = &self.network;
        let ip = ipam::allocate(
            &undo.lock,
            &self.root,
            &net.name,
            net.subnet,
            net.gateway,
            &self.container_id,
            self.ip,
        )
        .map_err(|e| (e.into(), None))?;
        undo.lease = true;
        crate::fault::point("after-lease");
        trace::step(|| {
            format!(
                "# IPAM: lease {ip} on {} to {} (networks/{}/ipam/leases/{ip})",
                net.subnet, self.container_name, net.name
            )
        });
        let ports = if self.publish.is_empty() {
            Vec::new()
        } else {
            let published = portalloc::Published(&self.root);
            let ports = ports::expand(&self.publish, &published).map_err(|e| (e.into(), None))?;
            portalloc::reserve(&undo.lock, &self.container_id, &ports)
                .map_err(|e| (e.into(), None))?;
            undo.ports.clone_from(&ports);
            ports
        };
        trace::step(|| {
            format!(
                "# host ports checked: {}",
                ports
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
        let (inner, v6_was) = self.open_inside(netns).map_err(|e| (e, None))?;
        let mtu = host.link_mtu(bridge).await.map_err(|e| (e.into(), None))?;
        let mac = self.mac.unwrap_or_else(|| mac_from_ip(ip));
        let (veth, index) = self
            .create_veth(host, netns, mtu, mac)
            .await
            .map_err(|e| (e, None))?;
        crate::fault::point("after-veth");
        self.restore_default_v6(netns, v6_was)
            .map_err(|e| (e, Some(index)))?;
        let inside = |e: NetlinkError| (AttachError::from(e), Some(index));
        trace::step(|| {
            format!("ip link set {veth} master {} && bridge link set dev {veth} hairpin on && ip link set {veth} up", net.bridge)
        });
        host.set_master(index, bridge).await.map_err(inside)?;
        host.set_hairpin(index, true).await.map_err(inside)?;
        host.set_up(index).await.map_err(inside)?;
        self.configure_inside(&inner, ip)
            .await
            .map_err(|e| (e, Some(index)))?;
        let att = Attachment {
            network: net.name.clone(),
            bridge: net.bridge.clone(),
            ip,
            prefix_len: net.subnet.prefix_len(),
            gateway: net.gateway,
            mac: mac_string(mac),
            host_veth: veth,
            ports,
            container_id: self.container_id.clone(),
            container_name: self.container_name.clone(),
            internal: net.internal,
        };
        trace::step(|| {
            Firewall::render_add_container(&att.rules())
                .trim_end()
                .replace('\n', "\n+ ")
        });
        undo.fw
            .add_container(&att.rules())
            .map_err(|e| (e.into(), Some(index)))?;
        undo.rules = Some(att.clone());
        crate::fault::point("after-firewall");
        Ok(att)
    }
}

/// `--ip` must be an address of the network's subnet that a container may hold.
fn check_ip(network: &Network, ip: Ipv4Addr) -> Result<(), AttachError> {
    let s = network.subnet;
    let role = if !s.contains(&ip) {
        return Err(AttachError::IpOutside {
            ip,
            network: network.name.clone(),
            subnet: s,
        });
    } else if ip == network.gateway {
        Reserved::Gateway
    } else if ip == s.network() {
        Reserved::NetworkAddress
    } else if ip == s.broadcast() {
        Reserved::Broadcast
    } else {
        return Ok(());
    };
    Err(AttachError::IpReserved {
        ip,
        network: network.name.clone(),
        role,
    })
}

/// The undo of what `apply` made so far: the firewall elements and the lease are undone on drop unless
/// committed. Holding the lock here also keeps it until the undo is done.
struct Undo {
    lock: NetLock,
    fw: Firewall,
    root: PathBuf,
    network: String,
    owner: String,
    lease: bool,
    /// The host ports reserved so far.
    ports: Vec<PortMapping>,
    rules: Option<Attachment>,
}

impl Undo {
    fn commit(mut self) {
        self.lease = false;
        self.ports.clear();
        self.rules = None;
    }
}

impl Drop for Undo {
    fn drop(&mut self) {
        if let Some(att) = self.rules.take() {
            let _ = self.fw.remove_container(&att.rules());
        }
        if !self.ports.is_empty() {
            let _ = portalloc::release(&self.lock, &self.owner, &self.ports);
        }
        if self.lease {
            let _ = ipam::release(&self.lock, &self.root, &self.network, &self.owner);
        }
    }
}
