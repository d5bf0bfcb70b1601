//! netcfg
pub mod ports;
