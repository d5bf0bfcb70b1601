//! Read-only views of the kernel's network: what `den topology`, `den veth`, `den ns` and `den
//! rules` print. Nothing here changes anything, and nothing trusts den's own records: those come
//! in only as [`Known`] names for PIDs, and every fact is read from the kernel.
//!
//! * [`snapshot`]: every network namespace ([`enumerate`]: `/run/netns/*` and every
//!   `/proc/PID/ns/net`, deduplicated by inode), each dumped over its own rtnetlink socket made on
//!   a short-lived thread that entered it ([`crate::netlink::Netlink::open_in`]); veth peers
//!   resolved across namespaces ([`peers`]); each namespace named by its owner ([`Owner`]); den's
//!   published ports with their counters ([`rules`]).
//! * [`nsset`]: the inodes of all eight namespace kinds of a process (`den ns`).
//! * [`rules`]: den's nftables table, and any rule of any table that mentions an address.
//!
//! ```no_run
//! use den_netcfg::view::{self, Options};
//!
//! let snap = view::snapshot(&Options::default())?;
//! for ns in &snap.namespaces {
//!     println!("{} {}", ns.inode, ns.owner);
//! }
//! # Ok::<(), den_netcfg::view::ViewError>(())
//! ```

mod dump;
pub mod enumerate;
pub mod model;
pub mod nsset;
mod owner;
mod peers;
pub mod record;
pub mod rules;

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::path::{Path, PathBuf};

pub use model::{
    BridgePort, DenNetwork, Fdb, Link, Namespace, Owner, Peer, Published, Route, Snapshot,
};

use crate::netlink::{Cause, Netlink, NetlinkError};
use enumerate::Found;
use peers::Seen;

/// Version of [`Snapshot`]'s JSON shape.
pub const SCHEMA_VERSION: u32 = 1;

/// A den container the caller knows of (from den's state): the PID of its first process.
#[derive(Debug, Clone)]
pub struct Known {
    pub pid: u32,
    pub id: String,
    pub name: String,
}

/// What to look at.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// den's running containers, to name their namespaces.
    pub known: Vec<Known>,
    /// Every namespace on the machine, not only those linked to the host, den's and isolated ones.
    pub all: bool,
}

/// Why a view could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("start a tokio runtime: {0}")]
    Runtime(#[source] io::Error),
    #[error("open a netlink socket in the host namespace: {0}")]
    Netlink(#[source] NetlinkError),
    #[error("dump the host namespace's {what}: {source}")]
    Dump {
        what: &'static str,
        #[source]
        source: Cause,
    },
    #[error("the namespace den runs in (inode {0}) has no process and no name den can see")]
    NoHost(u64),
    #[error(transparent)]
    Rules(#[from] rules::RulesError),
    #[error("no process {0}")]
    NoProcess(u32),
}

/// The network as the kernel sees it from the namespace den runs in.
pub fn snapshot(opts: &Options) -> Result<Snapshot, ViewError> {
    let own = Path::new("/proc/self/ns/net");
    let host = enumerate::inode_of(own).map_err(|source| ViewError::Read {
        path: own.into(),
        source,
    })?;
    let found = enumerate::network_namespaces()?;
    let mut seen = crate::rt::block_on(look(found, host)).map_err(ViewError::Runtime)??;
    let Some(h) = seen.iter().position(|(s, _)| s.inode == host) else {
        return Err(ViewError::NoHost(host));
    };
    let host_seen = seen.remove(h);
    seen.insert(0, host_seen);
    let table = rules::den_elements()?;
    let mut snap = assemble(host, seen, opts, table.published());
    snap.den_networks = table.networks();
    Ok(snap)
}

/// Opens a socket in each namespace, dumps them all at once, resolves peers. A namespace that
/// vanishes while being looked at is skipped; only the host's failures are errors.
async fn look(found: Vec<Found>, host: u64) -> Result<Vec<(Seen, Found)>, ViewError> {
    let mut open = Vec::with_capacity(found.len());
    for f in found {
        match Netlink::open_in(std::os::fd::AsFd::as_fd(&f.file)) {
            Ok(nl) => open.push((nl, f)),
            Err(e) if f.inode == host => return Err(ViewError::Netlink(e)),
            Err(_) => {}
        }
    }
    let dumps = futures::future::join_all(open.iter().map(|(nl, _)| dump::dump(nl))).await;
    let mut seen = Vec::with_capacity(open.len());
    let mut rest = Vec::with_capacity(open.len());
    for ((nl, f), d) in open.into_iter().zip(dumps) {
        let d = match d {
            Ok(d) => d,
            Err((what, source)) if f.inode == host => return Err(ViewError::Dump { what, source }),
            Err(_) => continue,
        };
        let file = f.file.try_clone().map_err(|source| ViewError::Read {
            path: PathBuf::from("/proc/self/fd"),
            source,
        })?;
        seen.push(Seen {
            inode: f.inode,
            file,
            nl,
            dump: d,
        });
        rest.push(f);
    }
    peers::resolve(&mut seen).await;
    Ok(seen.into_iter().zip(rest).collect())
}

/// Scope, owners, order.
fn assemble(
    host: u64,
    seen: Vec<(Seen, Found)>,
    opts: &Options,
    published: Vec<Published>,
) -> Snapshot {
    // den's containers by namespace, in PID order (the first is the owner, later ones share it).
    let mut known: Vec<&Known> = opts.known.iter().collect();
    known.sort_by_key(|k| k.pid);
    let mut den: HashMap<u64, Vec<&Known>> = HashMap::new();
    for k in known {
        if let Ok(inode) = enumerate::inode_of(Path::new(&format!("/proc/{}/ns/net", k.pid))) {
            den.entry(inode).or_default().push(k);
        }
    }
    let keep = scope(host, &seen, &den, opts.all);
    let total = seen.len();
    let mut namespaces: Vec<Namespace> = seen
        .into_iter()
        .filter(|(s, _)| keep.contains(&s.inode))
        .map(|(s, f)| {
            let d = den.get(&f.inode).map(Vec::as_slice);
            namespace(s, f, host, d)
        })
        .collect();
    // Host first, then by lowest PID (named-only namespaces last).
    namespaces[1..].sort_by_key(|n| (n.pid.is_none(), n.pid, n.inode));
    name_by_host_veth(&mut namespaces);
    Snapshot {
        schema: SCHEMA_VERSION,
        host,
        hidden: total - namespaces.len(),
        den_networks: Vec::new(),
        namespaces,
        published,
    }
}

/// The host, what is linked to it (transitively), den's containers, and namespaces with nothing
/// but loopback; or everything.
fn scope(
    host: u64,
    seen: &[(Seen, Found)],
    den: &HashMap<u64, Vec<&Known>>,
    all: bool,
) -> BTreeSet<u64> {
    let mut keep: BTreeSet<u64> = BTreeSet::new();
    for (s, _) in seen {
        let isolated = s.dump.links.iter().all(|l| l.link.name == "lo");
        if all || isolated || den.contains_key(&s.inode) || s.inode == host {
            keep.insert(s.inode);
        }
    }
    // Linked to the host: follow veth peers from the host outwards.
    let mut edges: HashMap<u64, Vec<u64>> = HashMap::new();
    for (s, _) in seen {
        for peer in s.dump.links.iter().filter_map(|l| l.link.peer.as_ref()) {
            if let Some(other) = peer.netns {
                edges.entry(s.inode).or_default().push(other);
                edges.entry(other).or_default().push(s.inode);
            }
        }
    }
    let mut todo = vec![host];
    let mut linked = BTreeSet::from([host]);
    while let Some(n) = todo.pop() {
        for &m in edges.get(&n).into_iter().flatten() {
            if linked.insert(m) {
                todo.push(m);
            }
        }
    }
    keep.extend(linked);
    keep
}

fn namespace(s: Seen, f: Found, host: u64, den: Option<&[&Known]>) -> Namespace {
    let pid = f.pids.first().copied();
    let den = den.unwrap_or_default();
    let owner = if s.inode == host {
        Owner::Host
    } else if let Some(k) = den.first() {
        Owner::Den {
            id: k.id.clone(),
            name: Some(k.name.clone()),
        }
    } else if let Some(o) = pid.and_then(owner::engine_owner) {
        o
    } else if let Some(name) = f.names.first() {
        Owner::Netns { name: name.clone() }
    } else {
        Owner::Process {
            pid: pid.unwrap_or_default(),
            comm: pid.map(enumerate::comm).unwrap_or_default(),
        }
    };
    let skip = usize::from(s.inode != host);
    Namespace {
        inode: s.inode,
        owner,
        shared_with: den[skip.min(den.len())..]
            .iter()
            .map(|k| Owner::Den {
                id: k.id.clone(),
                name: Some(k.name.clone()),
            })
            .collect(),
        netns_names: f.names,
        pid,
        comm: pid.map(enumerate::comm),
        processes: f.pids.len(),
        links: s.dump.links.into_iter().map(|l| l.link).collect(),
        routes: s.dump.routes,
    }
}

/// A namespace only known as "pid N" whose veth peer on the host is named like den's
/// (`veth` + 11 digits of the id) is a den container of another state root.
fn name_by_host_veth(namespaces: &mut [Namespace]) {
    let host = namespaces[0].inode;
    let mut ids: HashMap<u64, String> = HashMap::new();
    for l in &namespaces[0].links {
        let (Some(peer), Some(id)) = (&l.peer, crate::gc::veth_owner(&l.name)) else {
            continue;
        };
        if let Some(n) = peer.netns.filter(|&n| n != host) {
            ids.insert(n, id.to_string());
        }
    }
    for ns in namespaces.iter_mut().skip(1) {
        if let (Owner::Process { .. }, Some(id)) = (&ns.owner, ids.remove(&ns.inode)) {
            ns.owner = Owner::Den { id, name: None };
        }
    }
}
