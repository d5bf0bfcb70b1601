//! A real registry (Debian's docker-registry, distribution 2.8) inside a sandbox: unpacked by
//! `scripts/setup.sh` into `target/registry` (never installed: its package starts a service),
//! listening on 127.0.0.1 of the sandbox's own host netns, storing in the sandbox's scratch dir,
//! and killed with the sandbox. Fixtures go in with `skopeo copy`.
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use crate::{fixtures, repo_root, wait_until, Output, Proc, Sandbox};

/// A running registry.
pub struct Registry {
    /// `127.0.0.1:PORT`, as an image reference's domain.
    pub addr: String,
    pub storage: PathBuf,
    pub proc: Proc,
}

fn registry_bin() -> PathBuf {
    let bin = repo_root().join("target/registry/usr/bin/docker-registry");
    assert!(
        bin.is_file(),
        "{} missing: run scripts/setup.sh --packages-only (it unpacks Debian's docker-registry)",
        bin.display()
    );
    bin
}

impl Registry {
    /// Plain HTTP on 127.0.0.1:`port` in the sandbox's host netns (den allows HTTP for loopback,
    /// as docker does).
    pub fn http(sb: &Sandbox, port: u16) -> Registry {
        let storage = sb.scratch().join(format!("registry-{port}"));
        fs::create_dir_all(&storage).unwrap();
        let config = storage.join("config.yml");
        fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
                storage.join("data").display()
            ),
        )
        .unwrap();
        let proc = sb.host_spawn(&format!(
            "exec {} serve {}",
            registry_bin().display(),
            config.display()
        ));
        let addr = format!("127.0.0.1:{port}");
        wait_until(
            Duration::from_secs(20),
            "the registry to answer /v2/",
            || {
                if let Some(out) = proc.exited_output() {
                    panic!("the registry exited: {out}");
                }
                sb.host(&format!("curl -sf http://{addr}/v2/ >/dev/null"))
                    .status
                    .success()
            },
        );
        Registry {
            addr,
            storage,
            proc,
        }
    }

    /// `skopeo copy` of the busybox fixture (OCI layout) to `REPO:TAG` in this registry.
    pub fn push_fixture(&self, sb: &Sandbox, repo_tag: &str) -> Output {
        skopeo(
            sb,
            &format!(
                "copy --dest-tls-verify=false oci:{}:latest docker://{}/{repo_tag}",
                fixtures().oci_arg(),
                self.addr
            ),
        )
    }
}

/// `skopeo --insecure-policy ARGS` in the sandbox's host netns (the registry's).
pub fn skopeo(sb: &Sandbox, args: &str) -> Output {
    sb.host(&format!("skopeo --insecure-policy {args}"))
}
