//! Fault injection, a test hook: `DEN_FAULT=<point>` makes den SIGKILL itself at that named point
//! (after-state, after-clone, after-start here; after-lease, after-veth, after-firewall in netcfg's
//! attach). A no-op unless the variable names the point. See [`den_netcfg::fault`].

pub use den_netcfg::fault::{point, VAR};
