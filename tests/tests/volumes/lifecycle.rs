//! Volumes across `den start` and a detached `--rm` (the supervisor's teardown).

use std::time::Duration;

use den_tests::{wait_until, Sandbox};

use crate::support::volume_names;

#[test]
fn start_mounts_the_same_volumes_again() {
    let sb = Sandbox::new();
    let img = den_tests::fixtures().dir_arg();
    let script = "echo run >> /named/log; ls /anon | wc -l; touch /anon/seen";
    sb.den(&[
        "run",
        "--network",
        "none",
        "--name",
        "again",
        "-v",
        "named:/named",
        "-v",
        "/anon",
        img,
        "sh",
        "-c",
        script,
    ])
    .ok();
    assert_eq!(volume_names(&sb).len(), 2);
    sb.den(&["start", "again"]).ok();
    wait_until(Duration::from_secs(20), "the second run to end", || {
        sb.inspect("again").status().as_deref() == Some("exited")
    });
    let logs = sb.den(&["logs", "again"]).ok().stdout;
    assert_eq!(
        logs.trim(),
        "1",
        "the second run sees the first one's anonymous volume"
    );
    let log = std::fs::read_to_string(sb.root().join("volumes/named/_data/log")).unwrap();
    assert_eq!(log, "run\nrun\n");
    assert_eq!(volume_names(&sb).len(), 2, "start made no new volume");
}

#[test]
fn a_detached_rm_container_takes_its_anonymous_volume() {
    let sb = Sandbox::new();
    let img = den_tests::fixtures().dir_arg();
    sb.den(&[
        "run",
        "-d",
        "--rm",
        "--network",
        "none",
        "--name",
        "d",
        "-v",
        "/anon",
        "-v",
        "kept:/k",
        img,
        "sleep",
        "1",
    ])
    .ok();
    assert_eq!(volume_names(&sb).len(), 2);
    // The supervisor removes the anonymous volume, then the container's record.
    wait_until(
        Duration::from_secs(20),
        "the container to be removed",
        || sb.den(&["ps", "-a"]).ok().stdout.lines().count() == 1,
    );
    assert_eq!(volume_names(&sb), ["kept"]);
}

#[test]
fn gc_removes_the_anonymous_volume_a_killed_rm_run_left() {
    let sb = Sandbox::new();
    let img = den_tests::fixtures().dir_arg();
    let den = format!(
        "{} --root {}",
        den_tests::den_bin().display(),
        sb.root().display()
    );
    let out = sb.host(&format!(
        "DEN_FAULT=after-start {den} run --rm --network none -v /anon -v named:/n {img} sleep 30"
    ));
    assert_ne!(out.code(), 0, "den was to kill itself\n{out}");
    assert_eq!(volume_names(&sb).len(), 2);
    sb.den(&["gc"]).ok();
    assert_eq!(
        volume_names(&sb),
        ["named"],
        "gc left the --rm container's anonymous volume"
    );
}
