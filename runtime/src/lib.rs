//! den's runtime: images to rootfs, the container process and its namespaces, state on disk.
//!
//! `run` is `den run`'s step list; it calls `image` (resolve layers), `spec` (the OCI spec), `process`
//! (clone, sync, exec), `state` (the container directory) and den-netcfg (the network).

pub mod cgroups;
pub mod config;
pub mod connect;
mod envflags;
pub mod events;
pub mod exec;
pub mod fault;
pub mod gc;
pub mod hostconfig;
pub mod hostinfo;
pub mod hosts;
pub mod image;
pub mod kvfile;
pub mod lifecycle;
pub mod logs;
pub mod oci;
pub mod process;
pub mod run;
#[cfg(test)]
mod scratch;
pub mod seccomp;
pub mod spec;
pub mod state;
mod syscall;
pub use syscall::default_sigpipe;
pub mod volume;
