//! `den network connect` and `den network disconnect`: another bridge network for a running
//! container, and taking one away.
//!
//! Connect is `den run`'s step 4 for one more network: netcfg plans it (the network exists,
//! `--ip` is in its subnet), then attaches the container's netns (`/proc/PID/ns/net`) with the
//! container's next free `ethN` (its veth peer born inside, its host end `vetN` + the id's digits
//! so gc knows whose it is, no default route: the first network keeps it). The record lists the
//! attachment in `connected` with its aliases, then every member's /etc/hosts is refreshed. The
//! record is saved only while the container still runs; if it ended meanwhile, the new
//! attachment is undone here (its supervisor's teardown read the record without it).
//!
//! A container that does not run (created or exited) only gets the network on its record
//! (`pending_networks`, checked as far as it can be now: the network exists, `--ip` is in its
//! subnet): `den start` joins it, as docker's connect of a stopped container does.
//!
//! Disconnect undoes one attachment (the first network's too, its published ports with it), takes
//! it off the record and out of the container's own /etc/hosts, and refreshes the other members'.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use den_netcfg::network::{CreateRequest, Network, NetworkError};
use den_netcfg::{AttachError, Attachment, DetachError, Networks, Request};

use crate::events::Event;
use crate::hosts::{self, HostsError};
use crate::lifecycle;
use crate::run::{NetFlagError, NetworkMode};
use crate::state::{Container, PendingNetwork, StateError, Store};

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("container {0} is not running")]
    NotRunning(String),
    #[error("container {name} has --network {mode}: only a container on a bridge network (its own network namespace) can join another network")]
    NotBridged { name: String, mode: String },
    #[error("endpoint with name {container} already exists in network {network}")]
    AlreadyOn { container: String, network: String },
    #[error("container {container} is not connected to network {network}")]
    NotOn { container: String, network: String },
    #[error("container {0} is on 10 networks: den gives a container at most eth0 to eth9")]
    TooMany(String),
    #[error(transparent)]
    Alias(#[from] NetFlagError),
    #[error(transparent)]
    Attach(#[from] AttachError),
    #[error(transparent)]
    Detach(#[from] DetachError),
    #[error(transparent)]
    Hosts(#[from] HostsError),
}

/// What `den network connect [--ip IP] [--alias A]... NET CTR` asks for.
pub struct Connect<'a> {
    pub network: &'a str,
    pub container: &'a str,
    pub ip: Option<Ipv4Addr>,
    pub aliases: &'a [String],
}

/// Connect a container to one more network: now if it runs, else at its next start.
pub fn connect(root: &Path, req: &Connect<'_>) -> Result<(), ConnectError> {
    let store = Store::new(root);
    let c = store.find(req.container)?;
    if !matches!(c.network_mode.parse(), Ok(NetworkMode::Bridge(_))) {
        return Err(ConnectError::NotBridged {
            name: c.name,
            mode: c.network_mode,
        });
    }
    let pending = c.pending_networks.iter().any(|p| p.network == req.network);
    if pending || c.attachments().any(|a| a.network == req.network) {
        return Err(ConnectError::AlreadyOn {
            container: c.name,
            network: req.network.into(),
        });
    }
    if !req.aliases.is_empty() && req.network == den_netcfg::network::DEFAULT {
        return Err(NetFlagError::AliasOnDefault.into());
    }
    let nth = (1..=9u8)
        .find(|n| !c.connected.iter().any(|a| nth_of(a) == Some(*n)))
        .filter(|n| usize::from(*n) + c.pending_networks.len() <= 9)
        .ok_or_else(|| ConnectError::TooMany(c.name.clone()))?;
    let networks = Networks::new(root);
    if !lifecycle::is_running(&c) {
        return connect_later(&store, c, req);
    }
    let plan = networks
        .plan(&Request {
            network: req.network,
            container_id: &c.id,
            container_name: &c.name,
            ip: req.ip,
            publish: &[],
        })?
        .nth_network(nth)?;
    let pid = c.pid.expect("a running container has a pid");
    let att = networks.attach(plan, &netns_of(pid))?;
    // Saved only if it still runs (the same process): else its teardown has read the record
    // without this network already, and the attachment is undone here.
    let saved = store.load_id(&c.id).and_then(|mut now| {
        if !lifecycle::is_running(&now) || now.pid != c.pid {
            return Ok(false);
        }
        now.connected.push(att.clone());
        if !req.aliases.is_empty() {
            now.aliases
                .insert(req.network.to_string(), req.aliases.to_vec());
        }
        store.save(&now).map(|()| true)
    });
    match saved {
        Ok(true) => {}
        Ok(false) => {
            networks.detach(&att)?;
            return Err(ConnectError::NotRunning(c.name));
        }
        Err(e) => {
            let _ = networks.detach(&att);
            return Err(e.into());
        }
    }
    hosts::refresh(root, req.network)?;
    crate::events::network_changed(root, req.network, &c.id, "connect");
    Ok(())
}

/// A container that does not run: checked now (network, `--ip`), joined by `den start`.
fn connect_later(store: &Store, mut c: Container, req: &Connect<'_>) -> Result<(), ConnectError> {
    Networks::new(store.root()).plan(&Request {
        network: req.network,
        container_id: &c.id,
        container_name: &c.name,
        ip: req.ip,
        publish: &[],
    })?;
    c.pending_networks.push(PendingNetwork {
        network: req.network.to_string(),
        ip: req.ip,
    });
    if !req.aliases.is_empty() {
        c.aliases
            .insert(req.network.to_string(), req.aliases.to_vec());
    }
    Ok(store.save(&c)?)
}

/// Take a container off `network`: its veth, lease (and, for its first network, published
/// ports) released, the record and every /etc/hosts updated. A stopped container only has the
/// network taken off its record. Goes on past a failed detach; returns its error at the end.
pub fn disconnect(root: &Path, network: &str, container: &str) -> Result<(), ConnectError> {
    let store = Store::new(root);
    let c = store.find(container)?;
    let pending = c.pending_networks.iter().any(|p| p.network == network);
    let Some(att) = c.attachments().find(|a| a.network == network).cloned() else {
        if pending {
            let mut now = c;
            now.pending_networks.retain(|p| p.network != network);
            now.aliases.remove(network);
            return Ok(store.save(&now)?);
        }
        return Err(ConnectError::NotOn {
            container: c.name,
            network: network.into(),
        });
    };
    let running = lifecycle::is_running(&c);
    let detached = match running {
        true => Networks::new(root).detach(&att),
        false => Ok(()),
    };
    let mut now = store.load_id(&c.id)?;
    if now.network.as_ref().is_some_and(|a| a.network == network) {
        now.network = None;
    }
    now.connected.retain(|a| a.network != network);
    now.pending_networks.retain(|p| p.network != network);
    now.aliases.remove(network);
    store.save(&now)?;
    if running {
        let own = store.dir(&c.id).join("hosts");
        hosts::forget(&own, network).map_err(|source| HostsError::Write { path: own, source })?;
        hosts::refresh(root, network)?;
        crate::events::network_changed(root, network, &c.id, "disconnect");
    }
    Ok(detached?)
}

/// `den network create`: netcfg makes it; its `create` event is said here (netcfg is below the
/// runtime and its journal).
pub fn create_network(req: &CreateRequest<'_>) -> Result<Network, NetworkError> {
    let net = den_netcfg::network::create(req)?;
    crate::events::emit(req.root, Event::network(&net.id, "create", &net.name));
    Ok(net)
}

/// `den network rm` (and prune): netcfg removes it; its `destroy` event is said here.
pub fn remove_network(root: &Path, name: &str) -> Result<Network, NetworkError> {
    let net = den_netcfg::network::remove(root, name)?;
    crate::events::emit(root, Event::network(&net.id, "destroy", &net.name));
    Ok(net)
}

/// Which `ethN` a connected network is: the digit of its host veth (`vetN...`).
fn nth_of(att: &Attachment) -> Option<u8> {
    let rest = att.host_veth.strip_prefix("vet")?;
    rest.chars()
        .next()
        .and_then(|c| c.to_digit(10))
        .map(|d| d as u8)
}

fn netns_of(pid: i32) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/ns/net"))
}
