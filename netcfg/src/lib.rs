//! den's networking: everything that touches links, addresses, routes and the firewall.
//!
//! `attach` is the one entry point of `den run`'s step 4; the modules below it are the kernel
//! subsystems it drives: `netlink` (links, addresses, routes), `sysctl`, `ipam` (leases on disk under
//! `lock`), `firewall` (den's nftables table) and `ports` (parsing and checking `-p`).

pub mod attach;
pub mod detach;
pub mod explain;
pub mod fault;
pub mod firewall;
pub mod gc;
pub mod ipam;
pub mod lab;
pub mod lock;
pub mod netlink;
pub mod network;
pub mod portalloc;
pub mod ports;
pub mod rt;
pub mod sysctl;
pub mod trace;
pub mod trace_live;
pub mod view;

pub use attach::{AttachError, Attachment, Plan, Request};
pub use detach::{detach, loopback_only, DetachError};
pub use network::Network;
pub use ports::{PortMapping, PortSpec, Proto};
