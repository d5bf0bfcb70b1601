//! create -> created (waiting before exec) -> start -> running -> kill -> stopped -> delete,
//! with `state` checked at each step, and the verbs' refusals on the way.

use std::fs;
use std::path::Path;

use den_tests::{assert_oci_rejected, Sandbox};

use crate::{created, exited, wait_status};

fn cgroup_dirs(sb: &Sandbox, id: &str) -> Vec<String> {
    den_tests::cgroups::listing(sb.name())
        .into_iter()
        .filter(|d| d.ends_with(&format!("/{id}")))
        .collect()
}

#[test]
fn state_follows_create_start_kill_delete() {
    let sb = Sandbox::new();
    let b = sb.oci_bundle(
        "life",
        &["sh", "-c", "echo started > /started; exec sleep 60"],
    );
    let _shim = sb.oci_create(&b, "life");
    assert_eq!(
        created(&sb, "life"),
        0,
        "create failed: {:?}",
        sb.oci_status("life")
    );

    // Created: the process exists, in its cgroup, but has not exec'd the user's command.
    let st = sb.oci_state("life");
    assert_eq!(st["status"], "created", "{st}");
    assert_eq!(st["id"], "life");
    assert_eq!(st["bundle"], b.arg());
    assert_eq!(st["ociVersion"].as_str().map(|v| &v[..2]), Some("1."));
    let pid = st["pid"].as_i64().expect("pid") as i32;
    let pid_file = fs::read_to_string(sb.scratch().join("life.pid")).expect("pid file");
    assert_eq!(pid_file.trim(), pid.to_string());
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    assert!(
        !b.dir.join("rootfs/started").exists(),
        "the command ran before start"
    );
    assert!(!cgroup_dirs(&sb, "life").is_empty(), "no cgroup made");
    let out = sb.oci(&["ps", "--format", "json", "life"]).ok();
    assert_eq!(out.stdout.trim(), format!("[{pid}]"));

    sb.oci(&["start", "life"]).ok();
    assert_eq!(sb.oci_state("life")["status"], "running");
    den_tests::wait_until(crate::EXIT_TIMEOUT, "the command to run", || {
        b.dir.join("rootfs/started").exists()
    });
    assert_eq!(
        sb.oci_state("life")["pid"],
        pid,
        "PID 1 is the process create made"
    );
    let list = sb.oci(&["list", "--format", "json"]).ok();
    assert!(list.stdout.contains("\"running\""), "{list}");

    // Running: start again and delete without --force are refused.
    let again = sb.oci(&["start", "life"]);
    assert_oci_rejected(&sb, &again, &["life", "running"]);
    let del = sb.oci(&["delete", "life"]);
    assert_oci_rejected(&sb, &del, &["life", "running", "--force"]);

    sb.oci(&["kill", "life", "KILL"]).ok();
    assert_eq!(exited(&sb, "life"), 137);
    wait_status(&sb, "life", "stopped");
    assert_eq!(sb.oci_state("life")["pid"], 0);
    let kill = sb.oci(&["kill", "life", "9"]);
    assert_oci_rejected(&sb, &kill, &["life", "not running"]);

    sb.oci(&["delete", "life"]).ok();
    assert!(!sb.oci_root().join("life").exists(), "state dir left");
    assert!(cgroup_dirs(&sb, "life").is_empty(), "cgroup left");
    let gone = sb.oci(&["state", "life"]);
    assert_oci_rejected(&sb, &gone, &["life", "does not exist"]);
}

#[test]
fn delete_force_kills_a_running_container_and_sigterm_by_name_reaches_it() {
    let sb = Sandbox::new();
    let b = sb.oci_bundle(
        "force",
        &[
            "sh",
            "-c",
            "trap 'exit 3' TERM; while :; do sleep 0.05; done",
        ],
    );
    let _shim = sb.oci_create(&b, "force");
    assert_eq!(created(&sb, "force"), 0);
    sb.oci(&["start", "force"]).ok();
    sb.oci(&["kill", "force", "SIGTERM"]).ok();
    assert_eq!(exited(&sb, "force"), 3, "the trap saw SIGTERM");

    let b2 = sb.oci_bundle("force2", &["sleep", "60"]);
    let _shim2 = sb.oci_create(&b2, "force2");
    assert_eq!(created(&sb, "force2"), 0);
    sb.oci(&["start", "force2"]).ok();
    sb.oci(&["delete", "--force", "force2"]).ok();
    assert!(!sb.oci_root().join("force2").exists());
    assert!(cgroup_dirs(&sb, "force2").is_empty(), "cgroup left");
    // A created container is deleted without --force (its process killed).
    let b3 = sb.oci_bundle("never", &["true"]);
    let _shim3 = sb.oci_create(&b3, "never");
    assert_eq!(created(&sb, "never"), 0);
    sb.oci(&["delete", "never"]).ok();
    assert_eq!(exited(&sb, "never"), 137);
}

#[test]
fn run_waits_and_returns_the_exit_status_and_leaves_nothing() {
    let sb = Sandbox::new();
    let b = sb.oci_bundle("fg", &["sh", "-c", "echo out; echo err >&2; exit 7"]);
    let out = sb.oci(&["run", "--bundle", b.arg(), "fg"]);
    assert_eq!(out.code(), 7, "{out}");
    assert_eq!(out.stdout, "out\n");
    assert_eq!(out.stderr, "err\n");
    assert!(!sb.oci_root().join("fg").exists(), "state dir left");
    assert!(cgroup_dirs(&sb, "fg").is_empty(), "cgroup left");
}
