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

    /// TLS as `tls`, no htpasswd, but the registry asks for a client certificate signed by a
    /// client CA of its own (`http.tls.clientcas`). certs.d/ADDR/ gets `ca.crt` plus
    /// `client.cert` + `client.key` signed by that CA; the storage dir also holds `wrong.cert` +
    /// `wrong.key`, a self-signed pair the registry does not accept.
    pub fn mtls(sb: &Sandbox, port: u16) -> (Registry, PathBuf) {
        Self::mtls_with_auth(sb, port, "")
    }

    /// `mtls` with `auth`, the registry config's `auth:` section (e.g. `token_server`'s).
    pub fn mtls_with_auth(sb: &Sandbox, port: u16, auth: &str) -> (Registry, PathBuf) {
        let storage = sb.scratch().join(format!("registry-{port}"));
        fs::create_dir_all(&storage).unwrap();
        let addr = format!("{}:{port}", crate::HOST_ADDR);
        let certs_d = sb.scratch().join("certs.d");
        let dir = certs_d.join(&addr);
        fs::create_dir_all(&dir).unwrap();
        let d = storage.display();
        let quiet = "2>/dev/null";
        let script = format!(
            "set -e; cd {d}; \
             openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=den-test-ca \
               -keyout ca.key -out ca.crt {quiet}; \
             openssl req -newkey rsa:2048 -nodes -subj /CN={host} -keyout server.key -out server.csr {quiet}; \
             printf 'subjectAltName=IP:{host}\n' > san.ext; \
             openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
               -extfile san.ext -out server.crt {quiet}; \
             openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=den-test-client-ca \
               -keyout client-ca.key -out client-ca.crt {quiet}; \
             openssl req -newkey rsa:2048 -nodes -subj /CN=den-client -keyout client.key -out client.csr {quiet}; \
             printf 'extendedKeyUsage=clientAuth\n' > client.ext; \
             openssl x509 -req -in client.csr -CA client-ca.crt -CAkey client-ca.key -CAcreateserial \
               -days 2 -extfile client.ext -out client.cert {quiet}; \
             openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=den-stranger \
               -keyout wrong.key -out wrong.cert {quiet}; \
             cp ca.crt client.cert client.key {dir}/",
            host = crate::HOST_ADDR,
            dir = dir.display()
        );
        sb.host(&script).ok();
        let config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {d}/data\n\
             {auth}http:\n  addr: {addr}\n  tls:\n    certificate: {d}/server.crt\n    key: {d}/server.key\n\
             \x20   clientcas:\n      - {d}/client-ca.crt\n"
        );
        let probe = format!(
            "https://{addr}/v2/ --cacert {d}/ca.crt --cert {d}/client.cert --key {d}/client.key"
        );
        let reg = Self::serve(sb, &storage, &config, &probe);
        (Registry { addr, ..reg }, certs_d)
    }

    /// Plain HTTP on 127.0.0.1:`port` with docker's bearer-token auth: a token server
    /// (tests/src/token_server.py, JWTs signed by a key made here by openssl) on
    /// 127.0.0.1:`token_port` gives `user`:`pass` the access they ask for; anonymous, none.
    /// Returns the registry and the token server's process.
    pub fn token(
        sb: &Sandbox,
        port: u16,
        token_port: u16,
        user: &str,
        pass: &str,
    ) -> (Registry, Proc) {
        let storage = sb.scratch().join(format!("registry-{port}"));
        fs::create_dir_all(&storage).unwrap();
        let (server, auth) = token_server(sb, &storage, token_port, user, pass);
        let addr = format!("127.0.0.1:{port}");
        let config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}/data\n\
             {auth}http:\n  addr: {addr}\n",
            storage.display()
        );
        let reg = Self::serve(sb, &storage, &config, &format!("http://{addr}/v2/"));
        (Registry { addr, ..reg }, server)
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

/// A token server (tests/src/token_server.py, JWTs signed by a key made here by openssl) on
/// 127.0.0.1:`token_port` of the sandbox host, giving `user`:`pass` the access they ask for and
/// anonymous callers none; returns it and the registry config's `auth:` section that trusts it.
pub fn token_server(
    sb: &Sandbox,
    dir: &std::path::Path,
    token_port: u16,
    user: &str,
    pass: &str,
) -> (Proc, String) {
    let d = dir.display();
    sb.host(&format!(
        "set -e; cd {d}; openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=den-token \
           -keyout token.key -out token.crt 2>/dev/null"
    ))
    .ok();
    let script = dir.join("token_server.py");
    fs::write(&script, include_str!("token_server.py")).unwrap();
    let server = sb.host_spawn(&format!(
        "exec python3 {} {d}/token.key {d}/token.crt '{user}' '{pass}' {token_port}",
        script.display()
    ));
    let url = format!("http://127.0.0.1:{token_port}/token");
    wait_until(
        Duration::from_secs(20),
        "the token server to answer",
        || {
            let code = sb.host(&format!("curl -s -o /dev/null -w '%{{http_code}}' {url}"));
            code.stdout.trim() == "200"
        },
    );
    let auth = format!(
        "auth:\n  token:\n    realm: {url}\n    service: den-registry\n    issuer: den-test-issuer\n    rootcertbundle: {d}/token.crt\n"
    );
    (server, auth)
}

/// `skopeo --insecure-policy ARGS` in the sandbox's host netns (the registry's).
pub fn skopeo(sb: &Sandbox, args: &str) -> Output {
    sb.host(&format!("skopeo --insecure-policy {args}"))
}

/// Bytes that do not compress (xorshift), `len` of them.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// An OCI layout in `dir`: the busybox fixture plus one plain layer per entry of `sizes`, layer
/// `i` holding `/big{i}` (the first one `/big`) of that many bytes of noise.
pub fn layout_with_layers(dir: &std::path::Path, sizes: &[usize]) {
    crate::fixture_layout_edited(dir, |config, manifest, put| {
        for (i, &size) in sizes.iter().enumerate() {
            let mut tar = tar::Builder::new(Vec::new());
            let data = noise(size, i as u64);
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o644);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(1_700_000_000);
            h.set_size(data.len() as u64);
            let name = if i == 0 {
                "big".to_string()
            } else {
                format!("big{i}")
            };
            tar.append_data(&mut h, name, &data[..]).unwrap();
            let layer = tar.into_inner().unwrap();
            let layer_hex = put(&layer);
            config["rootfs"]["diff_ids"]
                .as_array_mut()
                .unwrap()
                .push(format!("sha256:{layer_hex}").into());
            manifest["layers"]
                .as_array_mut()
                .unwrap()
                .push(serde_json::json!({
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": format!("sha256:{layer_hex}"),
                    "size": layer.len(),
                }));
        }
    });
}
