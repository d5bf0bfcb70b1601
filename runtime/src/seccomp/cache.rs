//! Compiled filters, cached under den's state root by a digest of the OCI section they come from:
//! libseccomp takes tens of milliseconds to compile docker's profile, reading the result back takes
//! microseconds. The state root is root's (den runs as root), so the cache is as trusted as the
//! rest of it; a short or odd-sized file is ignored and compiled again.

use std::fs;
use std::path::Path;

use oci_spec::runtime::LinuxSeccomp;
use sha2::{Digest, Sha256};

use super::{compile, Bpf, SeccompError};

/// `compile`, through the cache in `dir` (`None`: no cache). Failing to write the cache only costs
/// the next run a compile.
pub fn compile_cached(s: &LinuxSeccomp, dir: Option<&Path>) -> Result<Bpf, SeccompError> {
    let Some(dir) = dir else {
        return compile(s);
    };
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(s).expect("a seccomp section serialises"));
    h.update(std::env::consts::ARCH);
    let v = libseccomp::ScmpVersion::current().map_or((0, 0, 0), |v| (v.major, v.minor, v.micro));
    h.update(format!("libseccomp {}.{}.{}", v.0, v.1, v.2));
    let path = dir.join(format!("{:x}.bpf", h.finalize()));
    if let Ok(bytes) = fs::read(&path) {
        if !bytes.is_empty() && bytes.len().is_multiple_of(8) {
            return Ok(Bpf(bytes));
        }
    }
    let bpf = compile(s)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let written = fs::create_dir_all(dir)
        .and_then(|()| fs::write(&tmp, &bpf.0))
        .and_then(|()| fs::rename(&tmp, &path));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    Ok(bpf)
}
