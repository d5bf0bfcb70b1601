//! A pull killed with SIGKILL mid-layer resumes where it stopped (a byte-range request), and
//! what it finally stores is verified whole.
use std::fs;
use std::path::Path;
use std::time::Duration;

use den_tests::{skopeo, wait_until, Registry, Sandbox, SIGKILL};

const BIG: usize = 32 << 20;

/// The fixture layout plus one plain layer holding `/big` (32 MiB of noise).
fn big_layout(dir: &Path) {
    den_tests::layout_with_layers(dir, &[BIG]);
}

fn partial_size(root: &Path) -> u64 {
    fs::read_dir(root.join("images/blobs/sha256"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .max()
        .unwrap_or(0)
}

#[test]
fn a_pull_killed_mid_layer_resumes_where_it_stopped() {
    let sb = Sandbox::new();
    let reg = Registry::http(&sb, 5000);
    let layout = sb.scratch().join("big.oci");
    big_layout(&layout);
    skopeo(
        &sb,
        &format!(
            "copy --dest-tls-verify=false oci:{}:latest docker://{}/big:latest",
            layout.display(),
            reg.addr
        ),
    )
    .ok();
    kill_then_resume(&sb, &format!("{}/big:latest", reg.addr), &[]);
}

/// The same through a registry that wants a client certificate: den's own client (certs.d's
/// `client.cert`/`client.key`) resumes with a byte range as oci-client's does.
#[test]
fn a_pull_with_a_client_certificate_resumes_where_it_stopped() {
    let sb = Sandbox::new();
    let (reg, certs_d) = Registry::mtls(&sb, 5447);
    let layout = sb.scratch().join("big.oci");
    big_layout(&layout);
    skopeo(
        &sb,
        &format!(
            "copy --dest-cert-dir {} oci:{}:latest docker://{}/big:latest",
            certs_d.join(&reg.addr).display(),
            layout.display(),
            reg.addr
        ),
    )
    .ok();
    let certs = certs_d.display().to_string();
    kill_then_resume(
        &sb,
        &format!("{}/big:latest", reg.addr),
        &[("DEN_CERTS_D", &certs)],
    );
}

/// Bytes sent over the sandbox's loopback so far (its own netns: /proc/net/dev is per netns).
fn loopback_bytes(sb: &Sandbox) -> u64 {
    let dev = sb.host("cat /proc/net/dev").ok().stdout;
    let lo = dev.lines().find_map(|l| l.trim().strip_prefix("lo:"));
    let fields: Vec<&str> = lo
        .expect("lo in /proc/net/dev")
        .split_whitespace()
        .collect();
    fields[8].parse().expect("lo's tx bytes")
}

/// Pull `name` over a slowed loopback, SIGKILL it mid-layer, pull again: it resumes, and what it
/// stores is whole.
fn kill_then_resume(sb: &Sandbox, name: &str, env: &[(&str, &str)]) {
    // Slow the sandbox's loopback (its own, in its netns) so the kill lands mid-layer.
    sb.host("tc qdisc add dev lo root tbf rate 40mbit burst 1mb latency 500ms")
        .ok();
    let pull = sb.den_spawn_with_env(env, &["pull", name]);
    wait_until(
        Duration::from_secs(30),
        "a partial download of 4 MiB",
        || partial_size(sb.root()) >= 4 << 20,
    );
    sb.kill_member(pull.pid(), SIGKILL);
    wait_until(Duration::from_secs(10), "the killed pull to exit", || {
        pull.try_exit().is_some()
    });
    let had = partial_size(sb.root());
    assert!(had >= 4 << 20 && had < BIG as u64, "partial is {had} bytes");
    sb.host("tc qdisc del dev lo root").ok();

    let before = loopback_bytes(sb);
    let out = sb.den_with_env(env, &["pull", name]).ok();
    assert!(out.stdout.contains("Resuming download at"), "{out}");
    // Only the rest came: a registry that ignored the range would have sent the whole layer.
    let moved = loopback_bytes(sb) - before;
    assert!(
        moved < BIG as u64 - had / 2,
        "{moved} bytes moved to resume after {had} of {BIG}"
    );
    assert!(
        out.stdout.contains("Status: Downloaded newer image"),
        "{out}"
    );
    let size = sb
        .den(&[
            "run",
            "--rm",
            "--network",
            "none",
            name,
            "stat",
            "-c",
            "%s",
            "/big",
        ])
        .ok();
    assert_eq!(size.stdout.trim(), BIG.to_string());
    assert_eq!(partial_size(sb.root()), 0, "no partial download left");
}
