//! Errors of the firewall.

use std::fmt;

use super::listing::ListingError;
use super::nft::NftError;
use crate::ports::PortMapping;

/// What the firewall was doing when it failed; the start of every error's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    EnsureNetwork { network: String },
    RemoveNetwork { network: String },
    Publish { container: String },
    Unpublish { container: String },
    ListPublished,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operation::EnsureNetwork { network } => {
                write!(f, "setting up the firewall of network {network}")
            }
            Operation::RemoveNetwork { network } => {
                write!(f, "removing the firewall of network {network}")
            }
            Operation::Publish { container } => {
                write!(f, "publishing ports of container {container}")
            }
            Operation::Unpublish { container } => {
                write!(f, "unpublishing ports of container {container}")
            }
            Operation::ListPublished => f.write_str("reading den's published ports"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    #[error("creating an nftables context")]
    Context(#[source] NftError),
    /// nft refused the operation's transaction; nothing of it was applied.
    #[error("{op}")]
    Nft {
        op: Operation,
        #[source]
        source: NftError,
    },
    /// The kernel refused an element because another container holds its host port.
    #[error("{op}: host port {}:{}/{} is already published ({owner})", .mapping.host_ip, .mapping.host_port, .mapping.proto)]
    PortTaken {
        op: Operation,
        mapping: PortMapping,
        /// The holder's element comment (`den: container NAME (ID) -p ...`).
        owner: String,
        #[source]
        source: NftError,
    },
    #[error("{op}: invalid bridge name {name:?} (1-15 characters of A-Z a-z 0-9 _ . -)")]
    InvalidBridge { op: Operation, name: String },
    #[error("{op}: invalid mapping {mapping} (port 0)")]
    InvalidMapping { op: Operation, mapping: PortMapping },
    #[error("{op}: container address {ip} cannot receive published ports")]
    InvalidContainerIp {
        op: Operation,
        ip: std::net::Ipv4Addr,
    },
    #[error("{op}: unexpected output of `nft -j list table ip den`")]
    Listing {
        op: Operation,
        #[source]
        source: ListingError,
    },
}

impl FirewallError {
    /// The operation that failed (None for context creation).
    pub fn operation(&self) -> Option<&Operation> {
        match self {
            FirewallError::Context(_) => None,
            FirewallError::Nft { op, .. }
            | FirewallError::PortTaken { op, .. }
            | FirewallError::InvalidBridge { op, .. }
            | FirewallError::InvalidMapping { op, .. }
            | FirewallError::InvalidContainerIp { op, .. }
            | FirewallError::Listing { op, .. } => Some(op),
        }
    }

    /// nft's full multi-line error report (names the offending command), if nft refused.
    pub fn nft_text(&self) -> Option<&str> {
        match self {
            FirewallError::Context(e)
            | FirewallError::Nft { source: e, .. }
            | FirewallError::PortTaken { source: e, .. } => e.nft_text(),
            _ => None,
        }
    }
}
