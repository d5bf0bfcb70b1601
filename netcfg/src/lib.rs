//! netcfg
pub mod ipam;
pub mod lock;
pub mod netlink;
pub mod sysctl;
