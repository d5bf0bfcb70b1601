//! Pulls from a registry over TLS (a CA made by openssl, given to den the way docker takes it:
//! certs.d/HOST:PORT/ca.crt) with htpasswd basic auth; credentials come from docker's config.json.
use std::fs;
use std::path::Path;

use den_tests::{assert_rejected, den_bin, skopeo, Output, Registry, Sandbox};

const USER: &str = "tester";
const PASS: &str = "s3cret-pass";

/// `den pull NAME` with docker's config dir `docker` and den's certs.d `certs`.
fn pull(sb: &Sandbox, docker: &Path, certs: Option<&Path>, name: &str) -> Output {
    let certs = certs.map_or_else(|| "/nonexistent".to_string(), |c| c.display().to_string());
    sb.host(&format!(
        "DOCKER_CONFIG={} DEN_CERTS_D={certs} exec {} --root {} pull {name}",
        docker.display(),
        den_bin().display(),
        sb.root().display()
    ))
}

/// A docker config dir whose config.json logs `user:pass` in to `addr`.
fn docker_config(dir: &Path, addr: &str, user: &str, pass: &str) {
    fs::create_dir_all(dir).unwrap();
    let auth = base64(&format!("{user}:{pass}"));
    fs::write(
        dir.join("config.json"),
        format!(r#"{{"auths":{{"{addr}":{{"auth":"{auth}"}}}}}}"#),
    )
    .unwrap();
}

fn base64(s: &str) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn tls_and_basic_auth_with_right_wrong_and_missing_credentials() {
    let sb = Sandbox::new();
    let (reg, certs_d) = Registry::tls(&sb, 5443, USER, PASS);
    skopeo(
        &sb,
        &format!(
            "copy --dest-creds {USER}:{PASS} --dest-cert-dir {}/{} oci:{}:latest docker://{}/secret/busybox:latest",
            certs_d.display(),
            reg.addr,
            den_tests::fixtures().oci_arg(),
            reg.addr
        ),
    )
    .ok();
    let name = format!("{}/secret/busybox:latest", reg.addr);
    let (right, wrong, none) = (
        sb.scratch().join("right"),
        sb.scratch().join("wrong"),
        sb.scratch().join("none"),
    );
    docker_config(&right, &reg.addr, USER, PASS);
    docker_config(&wrong, &reg.addr, USER, "not-it");
    fs::create_dir_all(&none).unwrap();

    assert_rejected(
        &pull(&sb, &wrong, Some(&certs_d), &name),
        &["pull access denied"],
    );
    assert_rejected(
        &pull(&sb, &none, Some(&certs_d), &name),
        &["pull access denied"],
    );
    // Without the CA the registry's certificate does not verify.
    assert_rejected(
        &pull(&sb, &right, None, &name),
        &["certificate", "Certificate"],
    );
    assert!(!sb.root().join("images/names.json").exists());
    let ok = pull(&sb, &right, Some(&certs_d), &name).ok();
    assert!(ok.stdout.contains("Pull complete"), "{ok}");

    // den login writes docker's config; den logout takes it out again.
    let mine = sb.scratch().join("mine");
    let den = |args: &str, stdin: &str| {
        sb.host(&format!(
            "printf '%s\\n' '{stdin}' | DOCKER_CONFIG={} DEN_CERTS_D={} {} --root {} {args}",
            mine.display(),
            certs_d.display(),
            den_bin().display(),
            sb.root().display()
        ))
    };
    let login = format!("login -u {USER} --password-stdin {}", reg.addr);
    assert_rejected(&den(&login, "wrong"), &["incorrect username or password"]);
    assert_eq!(den(&login, PASS).ok().stdout, "Login Succeeded\n");
    let config = fs::read_to_string(mine.join("config.json")).unwrap();
    assert!(
        config.contains(&reg.addr) && config.contains(&base64(&format!("{USER}:{PASS}"))),
        "{config}"
    );
    sb.den(&["rmi", &name]).ok();
    pull(&sb, &mine, Some(&certs_d), &name).ok();
    let out = den(&format!("logout {}", reg.addr), "").ok();
    assert_eq!(
        out.stdout,
        format!("Removing login credentials for {}\n", reg.addr)
    );
    assert_rejected(
        &pull(&sb, &mine, Some(&certs_d), &name),
        &["pull access denied"],
    );
}

#[test]
fn credentials_come_from_dockers_credential_helpers_too() {
    let sb = Sandbox::new();
    let (reg, certs_d) = Registry::tls(&sb, 5444, USER, PASS);
    skopeo(
        &sb,
        &format!(
            "copy --dest-creds {USER}:{PASS} --dest-cert-dir {}/{} oci:{}:latest docker://{}/secret/busybox:latest",
            certs_d.display(),
            reg.addr,
            den_tests::fixtures().oci_arg(),
            reg.addr
        ),
    )
    .ok();
    let name = format!("{}/secret/busybox:latest", reg.addr);
    // A docker-credential-* helper as docker runs it: `get`, the server on stdin, JSON out.
    let bin = sb.scratch().join("bin");
    fs::create_dir_all(&bin).unwrap();
    let helper = |name: &str, pass: &str| {
        let path = bin.join(format!("docker-credential-{name}"));
        fs::write(
            &path,
            format!(
                "#!/bin/sh\nread server\n[ \"$1\" = get ] || exit 1\n\
                 printf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{pass}\"}}' \"$server\"\n"
            ),
        )
        .unwrap();
        let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        fs::set_permissions(&path, mode).unwrap();
    };
    helper("dentest", PASS);
    helper("denwrong", "not-it");
    let with_config = |label: &str, json: String| {
        let dir = sb.scratch().join(label);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("config.json"), json).unwrap();
        sb.host(&format!(
            "PATH={}:$PATH DOCKER_CONFIG={} DEN_CERTS_D={} exec {} --root {} pull {name}",
            bin.display(),
            dir.display(),
            certs_d.display(),
            den_bin().display(),
            sb.root().display()
        ))
    };
    let addr = &reg.addr;
    let wrong = with_config(
        "wrong",
        format!(r#"{{"credHelpers":{{"{addr}":"denwrong"}}}}"#),
    );
    assert_rejected(&wrong, &["pull access denied"]);
    let helper_for_it = with_config(
        "helpers",
        format!(r#"{{"credHelpers":{{"{addr}":"dentest"}}}}"#),
    );
    assert!(helper_for_it.ok().stdout.contains("Pull complete"));
    sb.den(&["rmi", &name]).ok();
    let store = with_config("store", r#"{"credsStore":"dentest"}"#.to_string());
    assert!(store.ok().stdout.contains("Pull complete"));
}

#[test]
fn bearer_tokens_from_the_registrys_token_server_for_pull_push_and_login() {
    let sb = Sandbox::new();
    let (reg, _token_server) = Registry::token(&sb, 5000, 5081, USER, PASS);
    skopeo(
        &sb,
        &format!(
            "copy --dest-tls-verify=false --dest-creds {USER}:{PASS} oci:{}:latest docker://{}/tools/busybox:latest",
            den_tests::fixtures().oci_arg(),
            reg.addr
        ),
    )
    .ok();
    let name = format!("{}/tools/busybox:latest", reg.addr);
    let (right, wrong, none) = (
        sb.scratch().join("right"),
        sb.scratch().join("wrong"),
        sb.scratch().join("none"),
    );
    docker_config(&right, &reg.addr, USER, PASS);
    docker_config(&wrong, &reg.addr, USER, "not-it");
    fs::create_dir_all(&none).unwrap();
    // Anonymous: a token without access, so the registry says no.
    assert_rejected(&pull(&sb, &none, None, &name), &["pull access denied"]);
    assert_rejected(&pull(&sb, &wrong, None, &name), &["pull access denied"]);
    assert!(!sb.root().join("images/names.json").exists());
    let ok = pull(&sb, &right, None, &name).ok();
    assert!(ok.stdout.contains("Pull complete"), "{ok}");

    // Push asks for a token with push access.
    let den = |docker: &Path, args: &str| {
        sb.host(&format!(
            "DOCKER_CONFIG={} exec {} --root {} {args}",
            docker.display(),
            den_bin().display(),
            sb.root().display()
        ))
    };
    let mine = format!("{}/mine/busybox:v1", reg.addr);
    sb.den(&["tag", &name, &mine]).ok();
    assert_rejected(&den(&none, &format!("push {mine}")), &["denied"]);
    let pushed = den(&right, &format!("push {mine}")).ok();
    assert!(pushed.stdout.contains(": digest: sha256:"), "{pushed}");

    // den login answers the Bearer challenge with the token server.
    let login = format!("login -u {USER} --password-stdin {}", reg.addr);
    let fresh = sb.scratch().join("fresh");
    let with_stdin = |pass: &str| {
        sb.host(&format!(
            "printf '%s\\n' '{pass}' | DOCKER_CONFIG={} {} --root {} {login}",
            fresh.display(),
            den_bin().display(),
            sb.root().display()
        ))
    };
    assert_rejected(&with_stdin("wrong"), &["incorrect username or password"]);
    assert_eq!(with_stdin(PASS).ok().stdout, "Login Succeeded\n");
}
