//! What [`super::snapshot`] returns: plain data, serialisable as the stable JSON of
//! `den topology --format json` (schema: `docs/topology.schema.json`). Field names are part of that
//! contract: add fields, never rename or remove them.

use std::fmt;

use serde::Serialize;

/// The network as the kernel sees it from one namespace (the one den runs in, "host").
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// Version of this shape; bumped only for an incompatible change.
    pub schema: u32,
    /// Inode of the namespace den runs in (`stat -L /proc/self/ns/net`); `namespaces[0]`.
    pub host: u64,
    /// The host first, then the others ordered by their lowest PID.
    pub namespaces: Vec<Namespace>,
    /// den's published ports (its nftables maps in the host namespace), with per-element counters.
    pub published: Vec<Published>,
    /// den's networks as its nftables table names them (set `networks`: subnet . bridge, with the
    /// network's name in the comment).
    pub den_networks: Vec<DenNetwork>,
    /// Namespaces seen but left out (not linked to the host, not den's, not isolated); `--all`
    /// keeps them.
    pub hidden: usize,
}

/// One network namespace.
#[derive(Debug, Clone, Serialize)]
pub struct Namespace {
    /// The nsfs inode, as `ls -L -i /proc/PID/ns/net` or `lsns -t net` print it.
    pub inode: u64,
    pub owner: Owner,
    /// Other den containers whose processes live in it (`--network host` on the host,
    /// `--network container:NAME` in NAME's).
    pub shared_with: Vec<Owner>,
    /// Names under /run/netns bound to it (`ip netns add`).
    pub netns_names: Vec<String>,
    /// The lowest PID in it and that process's name; `None` for a namespace kept only by a mount.
    pub pid: Option<u32>,
    pub comm: Option<String>,
    /// How many processes (thread-group leaders) live in it.
    pub processes: usize,
    pub links: Vec<Link>,
    /// The main table's IPv4 routes.
    pub routes: Vec<Route>,
}

/// Who a namespace belongs to, and how den knows (see [`super::owner`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Owner {
    /// The namespace den runs in.
    Host,
    /// A den container: from den's state (name known) or from its host veth's name (`veth` + the
    /// first 11 digits of its id; name unknown).
    Den { id: String, name: Option<String> },
    /// From the owning process's cgroup (`docker-ID.scope`, `/docker/ID`) or its parent
    /// `containerd-shim -namespace moby -id ID`; the name from docker's `config.v2.json`.
    Docker { id: String, name: Option<String> },
    /// From the cgroup (`libpod-ID.scope`, `/libpod_parent/libpod-ID`) or the parent
    /// `conmon ... -c ID -n NAME`.
    Podman { id: String, name: Option<String> },
    /// The parent `containerd-shim -namespace NS -id ID` (NS other than docker's `moby`), or a
    /// `cri-containerd-ID.scope` cgroup.
    Containerd { namespace: String, id: String },
    /// A name under /run/netns and nothing better.
    Netns { name: String },
    /// Just a process.
    Process { pid: u32, comm: String },
}

impl Owner {
    /// Short label: `web`, `docker 0123456789ab`, `netns lab`, `pid 42 (sleep)`, `host`.
    pub fn label(&self) -> String {
        let short = |id: &str| id.chars().take(12).collect::<String>();
        match self {
            Owner::Host => "host".into(),
            Owner::Den { name: Some(n), .. } => n.clone(),
            Owner::Den { id, name: None } => format!("den {}", short(id)),
            Owner::Docker { name: Some(n), .. } => format!("docker {n}"),
            Owner::Docker { id, name: None } => format!("docker {}", short(id)),
            Owner::Podman { name: Some(n), .. } => format!("podman {n}"),
            Owner::Podman { id, name: None } => format!("podman {}", short(id)),
            Owner::Containerd { namespace, id } => format!("containerd {namespace}/{}", short(id)),
            Owner::Netns { name } => format!("netns {name}"),
            Owner::Process { pid, comm } if comm.is_empty() => format!("pid {pid}"),
            Owner::Process { pid, comm } => format!("pid {pid} ({comm})"),
        }
    }
}

impl fmt::Display for Owner {
    /// Long form: `den container web (0123456789ab)`, `docker container 0123456789ab`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = |id: &str| id.chars().take(12).collect::<String>();
        match self {
            Owner::Den { id, name: Some(n) } => write!(f, "den container {n} ({})", short(id)),
            Owner::Den { id, name: None } => write!(f, "den container {}", short(id)),
            Owner::Docker { id, name: Some(n) } => {
                write!(f, "docker container {n} ({})", short(id))
            }
            Owner::Docker { id, name: None } => write!(f, "docker container {}", short(id)),
            Owner::Podman { id, name: Some(n) } => {
                write!(f, "podman container {n} ({})", short(id))
            }
            Owner::Podman { id, name: None } => write!(f, "podman container {}", short(id)),
            Owner::Containerd { namespace, id } => {
                write!(f, "containerd container {namespace}/{}", short(id))
            }
            Owner::Host | Owner::Netns { .. } | Owner::Process { .. } => f.write_str(&self.label()),
        }
    }
}

/// One link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// `veth`, `bridge`, ...; `None` for loopback and physical devices.
    pub kind: Option<String>,
    /// `aa:bb:cc:dd:ee:ff`.
    pub mac: Option<String>,
    pub mtu: Option<u32>,
    /// Administratively up (IFF_UP).
    pub up: bool,
    /// RFC 2863 operational state as `ip` prints it: `UP`, `DOWN`, `LOWERLAYERDOWN`, `UNKNOWN`.
    pub operstate: String,
    /// The bridge (or bond) it is a port of, by name.
    pub master: Option<String>,
    /// Its state as a bridge port, when it is one.
    pub bridge_port: Option<BridgePort>,
    /// Addresses with prefix length (`172.17.0.2/16`, `fe80::1/64`), IPv4 first.
    pub addresses: Vec<String>,
    /// The other end of a veth (IFLA_LINK, plus IFLA_LINK_NETNSID when it is elsewhere).
    pub peer: Option<Peer>,
    /// On a bridge port: the MAC addresses the bridge's forwarding database holds for this port
    /// (`bridge fdb show br BRIDGE`, the entries with a master), learned ones and the port's own.
    pub fdb: Vec<Fdb>,
}

/// One forwarding-database entry of a bridge port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fdb {
    pub mac: String,
    pub vlan: Option<u16>,
    /// Permanent (the port's own address, or added by hand) rather than learned from traffic.
    pub permanent: bool,
}

/// A bridge port's state (IFLA_BRPORT_STATE, IFLA_BRPORT_MODE).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BridgePort {
    /// `forwarding`, `learning`, `listening`, `blocking`, `disabled`.
    pub state: String,
    pub hairpin: bool,
}

/// The other end of a veth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Peer {
    /// Its ifindex in its own namespace (what `ethtool -S` calls peer_ifindex, `ip` `@ifN`).
    pub index: u32,
    /// The namespace holding it, by inode; `None` if no namespace den can see holds it.
    pub netns: Option<u64>,
    /// Its name there, when resolved.
    pub name: Option<String>,
    /// IFLA_LINK_NETNSID as this namespace numbers the peer's (`link-netnsid` in `ip link`).
    pub netnsid: Option<i32>,
}

/// One route of the main table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    /// `default` or `172.17.0.0/16`, as `ip route` prints it.
    pub dst: String,
    pub gateway: Option<String>,
    pub dev: Option<String>,
    /// Preferred source (`src` in `ip route`).
    pub prefsrc: Option<String>,
}

/// A den network, from den's nftables table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DenNetwork {
    pub network: String,
    pub bridge: String,
    pub subnet: String,
}

/// One element of den's published-port maps, with its counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Published {
    pub proto: String,
    /// `0.0.0.0` for every host address.
    pub host_ip: String,
    pub host_port: u16,
    pub container_ip: String,
    pub container_port: u16,
    /// `den: container NAME (ID12) -p SPEC`.
    pub comment: String,
    /// Packets and bytes DNATed through it (new connections: nat chains see the first packet);
    /// `None` on a table made before den added counters.
    pub packets: Option<u64>,
    pub bytes: Option<u64>,
}

impl Snapshot {
    /// The den network whose bridge is `bridge`.
    pub fn den_network(&self, bridge: &str) -> Option<&DenNetwork> {
        self.den_networks.iter().find(|n| n.bridge == bridge)
    }

    /// The namespace with inode `inode`.
    pub fn namespace(&self, inode: u64) -> Option<&Namespace> {
        self.namespaces.iter().find(|n| n.inode == inode)
    }

    /// The namespace holding an interface with address `ip` (without prefix), host excluded.
    pub fn holder_of(&self, ip: &str) -> Option<&Namespace> {
        self.namespaces.iter().skip(1).find(|n| {
            n.links
                .iter()
                .flat_map(|l| &l.addresses)
                .any(|a| a.split('/').next() == Some(ip))
        })
    }
}

impl Namespace {
    pub fn link(&self, index: u32) -> Option<&Link> {
        self.links.iter().find(|l| l.index == index)
    }
}
