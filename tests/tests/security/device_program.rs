//! The cgroup v2 device path: the rules as an eBPF device program on the container's cgroup in
//! the unified hierarchy. On a hybrid machine (cgroup2 at /sys/fs/cgroup/unified) den takes it
//! with `DEN_CGROUP_DEVICES=bpf` instead of the v1 devices controller; the container's v1 devices
//! cgroup then allows everything, so only the program can be what refuses the block device.

use std::fs;
use std::path::Path;

use den_tests::Sandbox;

use super::img;

const FORCE: [(&str, &str); 1] = [("DEN_CGROUP_DEVICES", "bpf")];

fn has_cgroup2() -> bool {
    ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .iter()
        .any(|m| Path::new(m).join("cgroup.subtree_control").exists())
}

#[test]
fn the_device_program_denies_a_block_device_and_keeps_mknod_and_dev_null() {
    if !has_cgroup2() {
        eprintln!("skipped: no cgroup2 hierarchy on this machine");
        return;
    }
    let sb = Sandbox::new();
    let run = |args: &[&str]| sb.den_with_env(&FORCE, args);
    run(&["run", "--rm", "--network", "none", img(), "true"]).ok();
    let before = sb.footprint();
    // In the foreground: its teardown detaches the program it holds before the dir goes.
    let args = ["run", "--rm", "--network", "none", "--name", "d", img()];
    let den = sb.den_spawn_with_env(&FORCE, &[&args[..], &["sleep", "60"]].concat());
    let pid = sb.wait_running(&den, "d").pid().expect("its pid");
    let cgroups = fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("its cgroups");
    let unified = cgroups
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .expect("a unified cgroup");
    assert!(unified.contains("/den-"), "not in a den cgroup: {cgroups}");
    if let Some(v1) = cgroups.lines().find_map(|l| l.split_once(":devices:")) {
        let list = fs::read_to_string(format!("/sys/fs/cgroup/devices{}/devices.list", v1.1))
            .expect("devices.list");
        assert_eq!(list.trim(), "a *:* rwm", "v1 device rules were written");
    }
    let out = sb
        .den(&[
            "exec",
            "d",
            "sh",
            "-c",
            "mknod /b b 7 0 && echo made; head -c1 /b; echo read=$?; \
             head -c1 /dev/null && echo null=ok; head -c1 /dev/zero | wc -c",
        ])
        .ok();
    assert!(
        out.stdout.contains("made"),
        "mknod (CAP_MKNOD) failed\n{out}"
    );
    assert!(
        out.stderr.contains("Operation not permitted") && !out.stdout.contains("read=0"),
        "a block device node was readable\n{out}"
    );
    assert!(out.stdout.contains("null=ok"), "/dev/null refused\n{out}");
    let main = sb.den_with_env(
        &FORCE,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            img(),
            "sh",
            "-c",
            "mknod /dev/x b 7 0; head -c1 /dev/x; echo read=$?",
        ],
    );
    assert!(main.stderr.contains("Operation not permitted"), "{main}");
    assert!(
        !main.stderr.contains("no device cgroup"),
        "failed closed\n{main}"
    );
    sb.den(&["rm", "-f", "d"]).ok();
    sb.assert_footprint(&before, "den run with the device program");
}

/// A detached container's waiter (another process than the one that attached the program)
/// detaches it and removes the cgroup without a problem to note.
#[test]
fn a_detached_containers_program_goes_with_its_cgroup() {
    if !has_cgroup2() {
        eprintln!("skipped: no cgroup2 hierarchy on this machine");
        return;
    }
    let sb = Sandbox::new();
    let run = |args: &[&str]| sb.den_with_env(&FORCE, args);
    run(&["run", "--rm", "--network", "none", img(), "true"]).ok();
    let before = sb.footprint();
    let args = ["run", "-d", "--network", "none", "--name", "d", img()];
    run(&[&args[..], &["sleep", "60"]].concat()).ok();
    let id = sb.inspect("d").id().expect("id");
    sb.den(&["stop", "-t", "1", "d"]).ok();
    let log = sb
        .root()
        .join("containers")
        .join(&id)
        .join("supervisor.log");
    let noted = fs::read_to_string(&log).unwrap_or_default();
    assert!(noted.is_empty(), "the waiter's teardown failed: {noted}");
    sb.den(&["rm", "d"]).ok();
    sb.assert_footprint(&before, "a detached container with the device program");
}
