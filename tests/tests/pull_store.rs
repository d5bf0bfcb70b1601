//! How the store and den's registry config behave around pulls: two pulls of one image at once,
//! and a plain-HTTP registry that is not on loopback (allowed only when configured insecure).
use std::fs;
use std::path::Path;
use std::time::Duration;

use den_tests::{assert_rejected, den_bin, Output, Registry, Sandbox, HOST_ADDR};

/// Files under `dir`, recursively, symlinks not followed (none if it is missing).
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() && !p.is_symlink() {
            out.extend(files_under(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out
}

#[test]
fn two_pulls_of_one_image_at_once_both_succeed_and_store_it_once() {
    let sb = Sandbox::new();
    let reg = Registry::http(&sb, 5000);
    reg.push_fixture(&sb, "busybox:v1").ok();
    let name = format!("{}/busybox:v1", reg.addr);
    let a = sb.den_spawn(&["pull", &name]);
    let b = sb.den_spawn(&["pull", &name]);
    let (a, b) = (
        a.wait(Duration::from_secs(120)),
        b.wait(Duration::from_secs(120)),
    );
    for out in [&a, &b] {
        assert!(out.success(), "{out}");
        assert_eq!(out.stdout.lines().last(), Some(name.as_str()), "{out}");
    }
    // One unpacked layer (the fixture has one), one short link, no temp or partial left.
    let images = sb.root().join("images");
    let layers: Vec<_> = fs::read_dir(images.join("layers/sha256"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(layers.len(), 1, "{layers:?}");
    assert_eq!(fs::read_dir(images.join("l")).unwrap().count(), 1);
    let tmp: Vec<_> = files_under(&images.join("tmp"));
    assert!(tmp.is_empty(), "{tmp:?}");
    let partial: Vec<_> = files_under(&images.join("blobs"))
        .into_iter()
        .filter(|p| p.ends_with(".partial"))
        .collect();
    assert!(partial.is_empty(), "{partial:?}");
    let run = sb
        .den(&["run", "--rm", "--network", "none", &name, "echo", "ok"])
        .ok();
    assert_eq!(run.stdout, "ok\n");
}

/// `den pull NAME` with den's config file `config` (DEN_CONFIG).
fn pull_with_config(sb: &Sandbox, config: &Path, name: &str) -> Output {
    sb.host(&format!(
        "DEN_CONFIG={} exec {} --root {} pull {name}",
        config.display(),
        den_bin().display(),
        sb.root().display()
    ))
}

#[test]
fn plain_http_to_a_registry_off_loopback_only_when_configured_insecure() {
    let sb = Sandbox::new();
    let reg = Registry::http_at(&sb, HOST_ADDR, 5001);
    let local = Registry::http(&sb, 5000);
    local.push_fixture(&sb, "busybox:v1").ok();
    // The fixture into the off-loopback registry, through skopeo.
    den_tests::skopeo(
        &sb,
        &format!(
            "copy --src-tls-verify=false --dest-tls-verify=false docker://{}/busybox:v1 docker://{}/busybox:v1",
            local.addr, reg.addr
        ),
    )
    .ok();
    let name = format!("{}/busybox:v1", reg.addr);

    // Not listed: den speaks HTTPS to it, which a plain-HTTP server cannot answer.
    let config = sb.scratch().join("den-config.json");
    fs::write(&config, r#"{"insecure-registries": []}"#).unwrap();
    let refused = pull_with_config(&sb, &config, &name);
    assert_rejected(&refused, &[&format!("https://{}", reg.addr)]);
    let names = fs::read_to_string(sb.root().join("images/names.json")).unwrap_or_default();
    assert!(!names.contains(&reg.addr), "{names}");

    // Listed (as docker's daemon.json lists it): plain HTTP, and the pull works.
    fs::write(
        &config,
        format!(r#"{{"insecure-registries": ["{}"]}}"#, reg.addr),
    )
    .unwrap();
    let pulled = pull_with_config(&sb, &config, &name);
    assert!(pulled.success(), "{pulled}");
    assert!(pulled.stdout.contains("Pull complete"), "{pulled}");
}

#[test]
fn a_layer_is_unpacked_while_the_next_ones_still_download() {
    let sb = Sandbox::new();
    let reg = Registry::http(&sb, 5000);
    let layout = sb.scratch().join("three");
    // The fixture's ~1 MB layer, then two 6 MiB ones, over a loopback limited to 40 Mbit/s.
    den_tests::layout_with_layers(&layout, &[6 << 20, 6 << 20]);
    den_tests::skopeo(
        &sb,
        &format!(
            "copy --dest-tls-verify=false oci:{}:latest docker://{}/three:v1",
            layout.display(),
            reg.addr
        ),
    )
    .ok();
    sb.host("tc qdisc add dev lo root tbf rate 40mbit burst 1mb latency 500ms")
        .ok();
    let out = sb.den(&["pull", &format!("{}/three:v1", reg.addr)]);
    sb.host("tc qdisc del dev lo root").ok();
    let out = out.ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    let at = |suffix: &str| lines.iter().position(|l| l.ends_with(suffix));
    let ids: Vec<&str> = lines
        .iter()
        .filter(|l| l.ends_with(": Pulling fs layer"))
        .map(|l| l.split(':').next().unwrap_or_default())
        .collect();
    assert_eq!(ids.len(), 3, "{out}");
    // The bottom layer is extracting before the last download is complete.
    let first_extract = at(&format!("{}: Extracting", ids[0])).expect("extracting");
    let last_download = ids[1..]
        .iter()
        .filter_map(|id| at(&format!("{id}: Download complete")))
        .max()
        .expect("download complete");
    assert!(first_extract < last_download, "{out}");
    assert!(
        out.stdout.contains("Status: Downloaded newer image"),
        "{out}"
    );
}

#[test]
fn a_ca_file_that_is_no_certificate_is_refused_in_one_line() {
    let sb = Sandbox::new();
    let reg = Registry::http(&sb, 5000);
    reg.push_fixture(&sb, "busybox:v1").ok();
    let certs = sb.scratch().join("certs.d");
    fs::create_dir_all(certs.join(&reg.addr)).unwrap();
    fs::write(
        certs.join(&reg.addr).join("ca.crt"),
        "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let out = sb.host(&format!(
        "DEN_CERTS_D={} exec {} --root {} pull {}/busybox:v1",
        certs.display(),
        den_bin().display(),
        sb.root().display(),
        reg.addr
    ));
    assert_rejected(&out, &["certs.d"]);
}
