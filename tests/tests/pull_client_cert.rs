//! A registry that wants a TLS client certificate (docker-registry's `http.tls.clientcas`, a
//! client CA made by openssl): den offers the `NAME.cert` + `NAME.key` of certs.d/HOST:PORT/,
//! as docker does from /etc/docker/certs.d/, for pull and push; without it, or with a
//! certificate the registry's CA did not sign, den refuses in one line and stores nothing.
use std::fs;
use std::path::{Path, PathBuf};

use den_tests::{assert_rejected, den_bin, fixtures, skopeo, Output, Registry, Sandbox};

/// `den ARGS` with den's certs.d at `certs`.
fn den(sb: &Sandbox, certs: &Path, args: &str) -> Output {
    sb.host(&format!(
        "DEN_CERTS_D={} exec {} --root {} {args}",
        certs.display(),
        den_bin().display(),
        sb.root().display()
    ))
}

/// A certs.d with `files` (from `from`, renamed `(source, as)`) for the registry at `addr`.
fn certs_d(sb: &Sandbox, label: &str, addr: &str, files: &[(&Path, &str)]) -> PathBuf {
    let root = sb.scratch().join(label);
    let dir = root.join(addr);
    fs::create_dir_all(&dir).unwrap();
    for (source, name) in files {
        fs::copy(source, dir.join(name)).unwrap();
    }
    root
}

#[test]
fn pull_and_push_offer_the_client_certificate_of_certs_d() {
    let sb = Sandbox::new();
    let (reg, good) = Registry::mtls(&sb, 5446);
    let mine = good.join(&reg.addr);
    let ca = mine.join("ca.crt");
    let copied = skopeo(
        &sb,
        &format!(
            "copy --dest-cert-dir {} oci:{}:latest docker://{}/tools/busybox:latest",
            mine.display(),
            fixtures().oci_arg(),
            reg.addr
        ),
    );
    copied.ok();
    let name = format!("{}/tools/busybox:latest", reg.addr);
    let pull = format!("pull {name}");

    // Only the CA: the registry ends the handshake.
    let no_cert = certs_d(&sb, "no-cert", &reg.addr, &[(&ca, "ca.crt")]);
    let out = den(&sb, &no_cert, &pull);
    assert_rejected(&out, &[&reg.addr]);
    assert!(out.stderr.contains("wants a client certificate"), "{out}");
    // A certificate the registry's client CA did not sign.
    let stranger = reg.storage.clone();
    let wrong = certs_d(
        &sb,
        "wrong-cert",
        &reg.addr,
        &[
            (&ca, "ca.crt"),
            (&stranger.join("wrong.cert"), "client.cert"),
            (&stranger.join("wrong.key"), "client.key"),
        ],
    );
    let out = den(&sb, &wrong, &pull);
    assert_rejected(&out, &[&reg.addr]);
    // docker's rule: a client certificate without its key is an error naming the file.
    let no_key = certs_d(
        &sb,
        "no-key",
        &reg.addr,
        &[(&ca, "ca.crt"), (&mine.join("client.cert"), "client.cert")],
    );
    let out = den(&sb, &no_key, &pull);
    assert_rejected(&out, &["client.cert: missing key client.key"]);
    assert!(!sb.root().join("images/names.json").exists());

    let ok = den(&sb, &good, &pull).ok();
    assert!(ok.stdout.contains("Pull complete"), "{ok}");
    assert!(
        ok.stdout
            .contains(&format!("Status: Downloaded newer image for {name}")),
        "{ok}"
    );
    let run = sb
        .den(&["run", "--rm", "--network", "none", &name, "echo", "hello"])
        .ok();
    assert_eq!(run.stdout, "hello\n");

    // Push: refused without the certificate, done with it (a layer the registry lacks is
    // uploaded, the busybox one mounted); skopeo reads back the same digest.
    let layout = sb.scratch().join("big-layout");
    den_tests::layout_with_layers(&layout, &[3 << 20]);
    let pushed = format!("{}/mine/big:v1", reg.addr);
    let arg = format!("{}", layout.display());
    sb.den(&["image", "load", "--name", &pushed, &arg]).ok();
    assert_rejected(&den(&sb, &no_cert, &format!("push {pushed}")), &[&reg.addr]);
    let out = den(&sb, &good, &format!("push {pushed}")).ok();
    assert!(out.stdout.contains(": Pushed"), "{out}");
    assert!(out.stdout.contains("Mounted from tools/busybox"), "{out}");
    let last = out.stdout.lines().last().unwrap_or_default().to_string();
    let digest = last.split(": digest: ").nth(1).unwrap_or_default();
    let digest = digest.split(' ').next().unwrap_or_default();
    assert!(digest.starts_with("sha256:"), "{out}");
    let inspect = skopeo(
        &sb,
        &format!("inspect --cert-dir {} docker://{pushed}", mine.display()),
    )
    .ok();
    let seen: serde_json::Value = serde_json::from_str(&inspect.stdout).unwrap();
    assert_eq!(seen["Digest"], digest, "{inspect}");
    // A second push finds every layer there already.
    let again = den(&sb, &good, &format!("push {pushed}")).ok();
    assert!(again.stdout.contains("Layer already exists"), "{again}");
}

#[test]
fn a_registry_with_client_certificates_and_bearer_tokens() {
    let sb = Sandbox::new();
    let token_dir = sb.scratch().join("token");
    fs::create_dir_all(&token_dir).unwrap();
    let (_server, auth) = den_tests::token_server(&sb, &token_dir, 5082, "tester", "pw");
    let (reg, good) = Registry::mtls_with_auth(&sb, 5447, &auth);
    let mine = good.join(&reg.addr);
    skopeo(
        &sb,
        &format!(
            "copy --dest-creds tester:pw --dest-cert-dir {} oci:{}:latest docker://{}/tools/busybox:latest",
            mine.display(),
            fixtures().oci_arg(),
            reg.addr
        ),
    )
    .ok();
    let name = format!("{}/tools/busybox:latest", reg.addr);
    let docker = |label: &str, json: &str| {
        let dir = sb.scratch().join(label);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("config.json"), json).unwrap();
        dir
    };
    // base64("tester:pw")
    let right = docker(
        "right",
        &format!(
            r#"{{"auths":{{"{}":{{"auth":"dGVzdGVyOnB3"}}}}}}"#,
            reg.addr
        ),
    );
    let none = docker("none", "{}");
    let den = |config: &Path, args: &str| {
        sb.host(&format!(
            "DOCKER_CONFIG={} DEN_CERTS_D={} exec {} --root {} {args}",
            config.display(),
            good.display(),
            den_bin().display(),
            sb.root().display()
        ))
    };
    assert_rejected(
        &den(&none, &format!("pull {name}")),
        &["pull access denied"],
    );
    let ok = den(&right, &format!("pull {name}")).ok();
    assert!(ok.stdout.contains("Pull complete"), "{ok}");
    let layout = sb.scratch().join("layout");
    den_tests::layout_with_layers(&layout, &[1 << 20]);
    let pushed = format!("{}/mine/big:v1", reg.addr);
    let arg = layout.display().to_string();
    sb.den(&["image", "load", "--name", &pushed, &arg]).ok();
    assert_rejected(&den(&none, &format!("push {pushed}")), &["denied"]);
    let out = den(&right, &format!("push {pushed}")).ok();
    assert!(out.stdout.contains(": Pushed"), "{out}");
    let inspect = skopeo(
        &sb,
        &format!(
            "inspect --creds tester:pw --cert-dir {} docker://{pushed}",
            mine.display()
        ),
    );
    inspect.ok();
}
