//! den's firewall: ONE nftables table, `ip den`, driven in-process through libnftables (no `nft`
//! process is ever forked). Other tables are never touched.
//!
//! Shape (see [`rules`] for the exact text and `Firewall::render_*` for what each call runs):
//! * maps `published` (proto . port -> address . port) and `published_on` (host address . proto
//!   . port -> address . port) used by `dnat ... map` in nat prerouting and nat output, both
//!   guarded by `fib daddr type local`; one element per published port, commented with the
//!   container and `-p` that made it;
//! * sets `networks` (subnet . bridge) and `masq_nets` (subnets to masquerade) that drive static
//!   postrouting masquerade rules (subnet leaving by another interface; 127.0.0.0/8 to a bridge;
//!   DNATed traffic back onto its bridge) and forward isolation (into a bridge only replies,
//!   DNATed traffic and traffic from the same bridge: networks cannot reach each other, docker's
//!   isolation, nor can the outside reach unpublished ports, moby#45610);
//! * set `internal` (bridges of `--internal` networks): nothing is forwarded between such a bridge
//!   and any other interface, in either direction, before any accept.
//!
//! The caller sets, per bridge: `route_localnet=1` (host 127.0.0.1:PORT -> container) and
//! `hairpin on` for bridge ports (a container reaching its own published port).
//!
//! Every call is ONE nft transaction: applied completely or not at all.

mod error;
pub(crate) mod listing;
mod migrate;
pub(crate) mod nft;
pub mod rules;

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

pub use error::{FirewallError, Operation};
pub use listing::ListingError;
pub use nft::NftError;

use crate::ports::PortMapping;
pub(crate) use nft::Nft;
use rules::Element;

/// How often a teardown re-reads and retries when a concurrent teardown removed elements first.
const REMOVE_ATTEMPTS: usize = 3;

/// A libnftables context bound to the network namespace of the thread that created it.
/// Not `Send`: create it on the thread (and so in the netns) that uses it.
pub struct Firewall {
    nft: Nft,
}

/// What the firewall needs to know about one container.
#[derive(Clone, Copy, Debug)]
pub struct ContainerRules<'a> {
    /// Full container id (the first 12 characters go into element comments).
    pub id: &'a str,
    pub name: &'a str,
    /// The container's address on its bridge.
    pub ip: Ipv4Addr,
    /// Concrete mappings, as returned by [`crate::ports::expand`].
    pub ports: &'a [PortMapping],
}

impl Firewall {
    /// A context in the calling thread's network namespace.
    pub fn new() -> Result<Self, FirewallError> {
        Ok(Firewall {
            nft: Nft::new().map_err(FirewallError::Context)?,
        })
    }

    /// Creates den's table, maps, sets and chains if missing (existing elements of other networks
    /// and containers are kept), re-states the static rules (so they exist exactly once), and adds
    /// this network's elements; ONE transaction. With `masquerade` false the network is internal:
    /// its subnet is not masqueraded and its bridge joins the `internal` set (and both undo
    /// themselves when the flag changes). `bridges`: every network's bridge (see
    /// [`rules::ensure_network`]).
    pub fn ensure_network(
        &mut self,
        network: &str,
        bridge: &str,
        subnet: Ipv4Net,
        masquerade: bool,
        bridges: &[&str],
    ) -> Result<(), FirewallError> {
        let op = || Operation::EnsureNetwork {
            network: network.to_string(),
        };
        check_bridge(bridge, op)?;
        let text = rules::ensure_network(network, bridge, subnet, masquerade, bridges);
        let Err(source) = self.nft.run(&text) else {
            return Ok(());
        };
        // A table from before the maps had counters: upgrade it in the same transaction.
        match migrate::upgrade(&mut self.nft, &text) {
            Ok(Some(upgrade)) => self
                .nft
                .run(&upgrade)
                .map(drop)
                .map_err(|source| FirewallError::Nft { op: op(), source }),
            _ => Err(FirewallError::Nft { op: op(), source }),
        }
    }

    /// Removes the network's elements (its subnet is no longer masqueraded or isolated); the
    /// static rules stay. Idempotent; a missing table is not an error.
    pub fn remove_network(
        &mut self,
        network: &str,
        bridge: &str,
        subnet: Ipv4Net,
    ) -> Result<(), FirewallError> {
        let op = || Operation::RemoveNetwork {
            network: network.to_string(),
        };
        check_bridge(bridge, op)?;
        match self.nft.run(&rules::remove_network(bridge, subnet)) {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(source) => Err(FirewallError::Nft { op: op(), source }),
        }
    }

    /// Adds this container's map elements in ONE transaction (nothing every packet walks). A host
    /// port another container holds makes the whole transaction fail
    /// ([`FirewallError::PortTaken`]); adding the same elements again is a no-op.
    pub fn add_container(&mut self, c: &ContainerRules<'_>) -> Result<(), FirewallError> {
        let op = || Operation::Publish {
            container: c.name.to_string(),
        };
        check_container(c, op)?;
        if c.ports.is_empty() {
            return Ok(());
        }
        let text = Self::render_add_container(c);
        let Err(source) = self.nft.run(&text) else {
            return Ok(());
        };
        // nft merges element commands of one map into one message, so its report cannot be
        // trusted to name the element the kernel refused: find the holder ourselves.
        let held = self.elements(op)?.into_iter().find(|e| {
            let same_key = |m: &&PortMapping| {
                (m.host_ip, m.host_port, m.proto)
                    == (e.mapping.host_ip, e.mapping.host_port, e.mapping.proto)
            };
            c.ports.iter().any(|m| same_key(&m)) && e.container_ip != c.ip
        });
        Err(match held {
            Some(e) => FirewallError::PortTaken {
                op: op(),
                mapping: e.mapping,
                owner: e.comment,
                source,
            },
            None => FirewallError::Nft { op: op(), source },
        })
    }

    /// Removes this container's map elements in ONE transaction: only elements whose key is one of
    /// `c.ports` AND whose value is this container's address and port, so a host port that now
    /// belongs to another container is left alone. Elements already gone are not an error.
    pub fn remove_container(&mut self, c: &ContainerRules<'_>) -> Result<(), FirewallError> {
        let op = || Operation::Unpublish {
            container: c.name.to_string(),
        };
        let wanted = rules::container_elements(c);
        if wanted.is_empty() {
            return Ok(());
        }
        for attempt in 1..=REMOVE_ATTEMPTS {
            let present: Vec<Element> = self
                .elements(op)?
                .into_iter()
                .filter(|e| {
                    wanted
                        .iter()
                        .any(|w| w.mapping == e.mapping && w.container_ip == e.container_ip)
                })
                .collect();
            if present.is_empty() {
                return Ok(());
            }
            match self.nft.run(&rules::delete_elements(&present)) {
                Ok(_) => return Ok(()),
                // Raced with another teardown of the same elements: look again.
                Err(e) if e.is_not_found() && attempt < REMOVE_ATTEMPTS => continue,
                Err(source) => return Err(FirewallError::Nft { op: op(), source }),
            }
        }
        unreachable!("the last attempt returns")
    }

    /// Removes this container's map elements in ONE exchange with the kernel, without listing
    /// den's table first: for a caller that knows they are the container's (the port allocator
    /// said so under the network lock, and every element is added under it). If some are gone
    /// already (the whole transaction is refused then), falls back to [`Firewall::remove_container`].
    pub fn remove_owned(&mut self, c: &ContainerRules<'_>) -> Result<(), FirewallError> {
        if c.ports.is_empty() {
            return Ok(());
        }
        match self
            .nft
            .run(&rules::delete_elements(&rules::container_elements(c)))
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => self.remove_container(c),
            Err(source) => Err(FirewallError::Nft {
                op: Operation::Unpublish {
                    container: c.name.to_string(),
                },
                source,
            }),
        }
    }

    /// Every mapping in den's maps, with the container address it leads to and its comment.
    /// Empty if den's table does not exist.
    pub fn published(&mut self) -> Result<Vec<(PortMapping, Ipv4Addr, String)>, FirewallError> {
        Ok(self
            .elements(|| Operation::ListPublished)?
            .into_iter()
            .map(|e| (e.mapping, e.container_ip, e.comment))
            .collect())
    }

    /// The nft text [`Firewall::add_container`] runs.
    pub fn render_add_container(c: &ContainerRules<'_>) -> String {
        rules::add_elements(&rules::container_elements(c))
    }

    fn elements(&mut self, op: impl Fn() -> Operation) -> Result<Vec<Element>, FirewallError> {
        let json = match self.nft.run_json(&format!("list table {}", rules::TABLE)) {
            Ok(json) => json,
            Err(e) if e.is_not_found() => return Ok(Vec::new()),
            Err(source) => return Err(FirewallError::Nft { op: op(), source }),
        };
        listing::published_elements(&json)
            .map_err(|source| FirewallError::Listing { op: op(), source })
    }
}

fn check_bridge(bridge: &str, op: impl Fn() -> Operation) -> Result<(), FirewallError> {
    if rules::valid_ifname(bridge) {
        Ok(())
    } else {
        Err(FirewallError::InvalidBridge {
            op: op(),
            name: bridge.to_string(),
        })
    }
}

fn check_container(
    c: &ContainerRules<'_>,
    op: impl Fn() -> Operation,
) -> Result<(), FirewallError> {
    if c.ip.is_unspecified() || c.ip.is_broadcast() || c.ip.is_loopback() || c.ip.is_multicast() {
        return Err(FirewallError::InvalidContainerIp { op: op(), ip: c.ip });
    }
    match c
        .ports
        .iter()
        .find(|m| m.host_port == 0 || m.container_port == 0)
    {
        Some(m) => Err(FirewallError::InvalidMapping {
            op: op(),
            mapping: m.clone(),
        }),
        None => Ok(()),
    }
}
