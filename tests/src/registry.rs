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
        Self::http_at(sb, "127.0.0.1", port)
    }

    /// Plain HTTP on `host`:`port` of the sandbox's host netns (not loopback: den speaks HTTP
    /// to it only if its config lists it as insecure).
    pub fn http_at(sb: &Sandbox, host: &str, port: u16) -> Registry {
        let storage = sb.scratch().join(format!("registry-{port}"));
        fs::create_dir_all(&storage).unwrap();
        let addr = format!("{host}:{port}");
        let config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
            storage.join("data").display()
        );
        let reg = Self::serve(sb, &storage, &config, &format!("http://{addr}/v2/"));
        Registry { addr, ..reg }
    }

    /// TLS with a CA made here by openssl (its `ca.crt` is in `certs_d/ADDR/`, laid out like
    /// docker's certs.d) and htpasswd basic auth for `user`:`pass`, on the sandbox host's veth
    /// address (10.250.0.1:`port`).
    pub fn tls(sb: &Sandbox, port: u16, user: &str, pass: &str) -> (Registry, PathBuf) {
        let storage = sb.scratch().join(format!("registry-{port}"));
        fs::create_dir_all(&storage).unwrap();
        let addr = format!("{}:{port}", crate::HOST_ADDR);
        let certs_d = sb.scratch().join("certs.d");
        let ca_dir = certs_d.join(&addr);
        fs::create_dir_all(&ca_dir).unwrap();
        let d = storage.display();
        let script = format!(
            "set -e; cd {d}; \
             openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=den-test-ca \
               -keyout ca.key -out ca.crt 2>/dev/null; \
             openssl req -newkey rsa:2048 -nodes -subj /CN={host} -keyout server.key -out server.csr 2>/dev/null; \
             printf 'subjectAltName=IP:{host}\n' > san.ext; \
             openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
               -extfile san.ext -out server.crt 2>/dev/null; \
             htpasswd -Bbc htpasswd '{user}' '{pass}' 2>/dev/null; \
             cp ca.crt {ca}/ca.crt",
            host = crate::HOST_ADDR,
            ca = ca_dir.display()
        );
        sb.host(&script).ok();
        let config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {d}/data\n\
             auth:\n  htpasswd:\n    realm: den-test\n    path: {d}/htpasswd\n\
             http:\n  addr: {addr}\n  tls:\n    certificate: {d}/server.crt\n    key: {d}/server.key\n"
        );
        let reg = Self::serve(
            sb,
            &storage,
            &config,
            &format!("https://{addr}/v2/ --cacert {d}/ca.crt"),
        );
        (Registry { addr, ..reg }, certs_d)
    }

    fn serve(sb: &Sandbox, storage: &std::path::Path, config: &str, probe: &str) -> Registry {
        let path = storage.join("config.yml");
        fs::write(&path, config).unwrap();
        let proc = sb.host_spawn(&format!(
            "exec {} serve {}",
            registry_bin().display(),
            path.display()
        ));
        wait_until(
            Duration::from_secs(20),
            "the registry to answer /v2/",
            || {
                if let Some(out) = proc.exited_output() {
                    panic!("the registry exited: {out}");
                }
                // Any HTTP answer (401 included) means it is up.
                let code = sb.host(&format!("curl -s -o /dev/null -w '%{{http_code}}' {probe}"));
                !code.stdout.trim().is_empty() && code.stdout.trim() != "000"
            },
        );
        Registry {
            addr: String::new(),
            storage: storage.to_path_buf(),
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
