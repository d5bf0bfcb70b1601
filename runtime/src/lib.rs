//! den's runtime: images to rootfs, the container process and its namespaces, state on disk.
pub mod image;
pub mod process;
pub mod spec;
mod syscall;
