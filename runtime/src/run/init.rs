//! `--init`: docker's way, a small static init as the container's PID 1 that reaps orphans and
//! passes signals on to the command (tini, which docker ships as `docker-init`). The host's
//! static tini is bind-mounted read-only at `/sbin/docker-init` and the command runs under it:
//! `/sbin/docker-init -- CMD...`. den's own binary cannot be that init: it is dynamically linked,
//! and an image need not have the libraries.

use std::path::PathBuf;

use oci_spec::runtime::{MountBuilder, Spec};

/// Where the init is in the container (docker's path).
pub const IN_CONTAINER: &str = "/sbin/docker-init";

/// Static inits looked for on the host, first found wins (after `DEN_INIT_BINARY`).
const CANDIDATES: [&str; 3] = [
    "/usr/libexec/den/den-init",
    "/usr/bin/docker-init",
    "/usr/bin/tini-static",
];

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("--init needs a static init on the host (tini-static: apt-get install tini; or set DEN_INIT_BINARY)")]
    Missing,
    #[error("adding the init to the container's spec")]
    Spec(#[source] oci_spec::OciSpecError),
}

/// The host's static init.
pub fn host_binary() -> Result<PathBuf, InitError> {
    let from_env = std::env::var_os("DEN_INIT_BINARY").map(PathBuf::from);
    from_env
        .into_iter()
        .chain(CANDIDATES.iter().map(PathBuf::from))
        .find(|p| p.is_file())
        .ok_or(InitError::Missing)
}

/// Mount the init and run the command under it.
pub fn apply(spec: &mut Spec) -> Result<(), InitError> {
    let host = host_binary()?;
    let mount = MountBuilder::default()
        .destination(IN_CONTAINER)
        .typ("bind")
        .source(host)
        .options(vec![
            "rbind".to_string(),
            "ro".to_string(),
            "nosuid".to_string(),
            "nodev".to_string(),
        ])
        .build()
        .map_err(InitError::Spec)?;
    let mut mounts = spec.mounts().clone().unwrap_or_default();
    mounts.push(mount);
    spec.set_mounts(Some(mounts));
    if let Some(p) = spec.process_mut() {
        let mut args = vec![IN_CONTAINER.to_string(), "--".to_string()];
        args.extend(p.args().clone().unwrap_or_default());
        p.set_args(Some(args));
    }
    Ok(())
}
