//! Links libnftables (Debian: libnftables1; the `libnftables.so` dev symlink comes with libnftables-dev).
//! netcfg drives nftables in-process through it instead of forking the `nft` binary.

fn main() {
    println!("cargo:rustc-link-lib=nftables");
    println!("cargo:rerun-if-changed=build.rs");
}
