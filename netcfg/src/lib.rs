//! den's networking: everything that touches links, addresses, routes and the firewall.
//!
//! [`Networks`] is the one front (plan, attach, check, detach, loopback_only, ip_free, members, collect);
//! the modules below it are the kernel subsystems it drives: `netlink` (links, addresses, routes),
//! `sysctl`, `firewall` (den's nftables table), `ports` (parsing and checking `-p`) and `network`
//! (named networks), plus what is netcfg's alone: the leases (`ipam`), the host-port records
//! (`portalloc`), the network lock (`lock`), the async runtime (`rt`) and gc's sweep (`gc`).

mod attach;
mod check;
mod detach;
pub mod explain;
pub mod fault;
pub mod firewall;
mod gc;
mod ipam;
mod jsonfile;
pub mod lab;
mod lock;
pub mod netlink;
pub mod network;
mod networks;
mod portalloc;
pub mod ports;
mod records;
mod report;
mod rt;
pub mod sysctl;
pub mod trace;
pub mod trace_live;
pub mod view;

pub use attach::{AttachError, Attachment, Plan, Request};
pub use detach::{DetachError, Unplug};
pub use gc::{
    element_owner, host_veth_name, host_veth_name_nth, veth_owner, IdSet, Owners, Sweep,
    SweepError, Swept,
};
pub use network::Network;
pub use networks::{Collection, Member, Networks};
pub use ports::{PortMapping, PortSpec, Proto};
pub use report::one_line;
