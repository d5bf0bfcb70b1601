//! netcfg
pub mod firewall;
pub mod ports;
