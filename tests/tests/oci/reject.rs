//! Bad input: exit 1, one line naming the culprit on stderr and in the JSON `--log`, and
//! nothing left behind (no state dir, no cgroup, no process).

use std::fs;

use den_tests::{assert_oci_rejected, Sandbox};
use serde_json::json;

use crate::created;

fn nothing_left(sb: &Sandbox, id: &str) {
    assert!(!sb.oci_root().join(id).exists(), "state dir of {id} left");
    let cgroups = den_tests::cgroups::listing(sb.name());
    assert!(
        !cgroups.iter().any(|d| d.ends_with(&format!("/{id}"))),
        "cgroup of {id} left: {cgroups:?}"
    );
}

#[test]
fn bad_bundles_are_refused_naming_the_culprit() {
    let sb = Sandbox::new();
    let empty = sb.scratch().join("empty");
    fs::create_dir(&empty).expect("mkdir");
    let out = sb.oci(&["create", "--bundle", empty.to_str().expect("UTF-8"), "a"]);
    assert_oci_rejected(&sb, &out, &["config.json", "No such file"]);
    nothing_left(&sb, "a");

    let b = sb.oci_bundle("b", &["true"]);
    fs::write(b.dir.join("config.json"), "{not json").expect("write");
    let out = sb.oci(&["create", "--bundle", b.arg(), "b"]);
    assert_oci_rejected(&sb, &out, &["config.json", "not a valid OCI spec"]);
    nothing_left(&sb, "b");

    let mut b = sb.oci_bundle("c", &["true"]);
    b.set("/ociVersion", json!("2.0.0"));
    b.save();
    let out = sb.oci(&["create", "--bundle", b.arg(), "c"]);
    assert_oci_rejected(&sb, &out, &["ociVersion", "2.0.0"]);
    nothing_left(&sb, "c");

    let mut b = sb.oci_bundle("d", &["true"]);
    let not_ns = b.dir.join("config.json");
    let mut ns = vec![json!({"type": "network", "path": not_ns})];
    ns.extend(["pid", "ipc", "uts", "mount"].map(|t| json!({"type": t})));
    b.set("/linux/namespaces", json!(ns));
    b.save();
    let out = sb.oci(&["create", "--bundle", b.arg(), "d"]);
    assert_oci_rejected(
        &sb,
        &out,
        &[not_ns.to_str().expect("UTF-8"), "not a namespace"],
    );
    nothing_left(&sb, "d");

    let mut b = sb.oci_bundle("e", &["true"]);
    b.set("/linux/intelRdt", json!({"closID": "x"}));
    b.save();
    let out = sb.oci(&["create", "--bundle", b.arg(), "e"]);
    assert_oci_rejected(&sb, &out, &["linux.intelRdt", "not supported"]);
    nothing_left(&sb, "e");

    // Resources den's cgroups do not write are refused, not ignored.
    for (id, path, value, field) in [
        (
            "f",
            "/linux/resources/blockIO",
            json!({"weight": 500}),
            "linux.resources.blockIO",
        ),
        (
            "g",
            "/linux/resources/memory",
            json!({"swappiness": 10}),
            "memory.swappiness",
        ),
    ] {
        let mut b = sb.oci_bundle(id, &["true"]);
        b.set(path, value);
        b.save();
        let out = sb.oci(&["create", "--bundle", b.arg(), id]);
        assert_oci_rejected(&sb, &out, &[field, "not supported"]);
        nothing_left(&sb, id);
    }
}

#[test]
fn a_missing_hook_binary_tears_the_container_down() {
    let sb = Sandbox::new();
    let mut b = sb.oci_bundle("nohook", &["sleep", "60"]);
    b.set(
        "/hooks",
        json!({"createRuntime": [{"path": "/nonexistent/den-hook"}]}),
    );
    b.save();
    let shim = sb.oci_create(&b, "nohook");
    assert_eq!(created(&sb, "nohook"), 1);
    let log = sb.oci_last_log();
    let msg = log["msg"].as_str().unwrap_or_default();
    assert!(
        msg.contains("createRuntime hook /nonexistent/den-hook"),
        "{log}"
    );
    // The shim exits once it has no children: create left no container process behind.
    shim.wait(crate::EXIT_TIMEOUT);
    assert!(
        !sb.scratch().join("nohook.pid").exists(),
        "a pid file for a failed create"
    );
    nothing_left(&sb, "nohook");
}

#[test]
fn verbs_refuse_a_used_id_a_second_start_and_an_unknown_signal() {
    let sb = Sandbox::new();
    let b = sb.oci_bundle("used", &["sleep", "60"]);
    let _shim = sb.oci_create(&b, "used");
    assert_eq!(created(&sb, "used"), 0);
    let out = sb.oci(&["create", "--bundle", b.arg(), "used"]);
    assert_oci_rejected(&sb, &out, &["used", "already exists"]);
    assert_eq!(
        sb.oci_state("used")["status"],
        "created",
        "the first one is untouched"
    );

    let out = sb.oci(&["kill", "used", "SIGNOPE"]);
    assert_oci_rejected(&sb, &out, &["SIGNOPE"]);
    let out = sb.oci(&["create", "--bundle", b.arg(), "../escape"]);
    assert_oci_rejected(&sb, &out, &["../escape"]);

    sb.oci(&["start", "used"]).ok();
    let out = sb.oci(&["start", "used"]);
    assert_oci_rejected(&sb, &out, &["used", "not created"]);
    sb.oci(&["delete", "--force", "used"]).ok();
    nothing_left(&sb, "used");
    let out = sb.oci(&["--systemd-cgroup", "list"]);
    assert_oci_rejected(&sb, &out, &["--systemd-cgroup"]);
}
