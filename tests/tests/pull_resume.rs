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
    // Slow the sandbox's loopback (its own, in its netns) so the kill lands mid-layer.
    sb.host("tc qdisc add dev lo root tbf rate 40mbit burst 1mb latency 500ms")
        .ok();
    let name = format!("{}/big:latest", reg.addr);
    let pull = sb.den_spawn(&["pull", &name]);
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

    let out = sb.den(&["pull", &name]).ok();
    assert!(out.stdout.contains("Resuming download at"), "{out}");
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
            &name,
            "stat",
            "-c",
            "%s",
            "/big",
        ])
        .ok();
    assert_eq!(size.stdout.trim(), BIG.to_string());
    assert_eq!(partial_size(sb.root()), 0, "no partial download left");
}
