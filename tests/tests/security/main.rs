//! What a default container cannot do to its host, and docker's privilege flags that change it:
//! device rules (mknod allowed, reading a block device not), docker's seccomp profile (`Seccomp:
//! 2`, unshare/keyctl/mount denied), `--security-opt seccomp=unconfined`, `--privileged`,
//! `--cap-add/--cap-drop`, a non-root `-u`. Every run leaves no cgroup behind.

mod device_program;
mod kernel;
mod limits;
mod probe;
mod reject;
mod stats;

use std::process::Command;

use den_tests::probe::rootfs_copy;
use den_tests::{fixtures, Output, Sandbox};

fn img() -> &'static str {
    fixtures().dir_arg()
}

/// `den run --rm --network none FLAGS... IMG sh -c SCRIPT`, to completion.
fn run_sh(sb: &Sandbox, flags: &[&str], image: &str, script: &str) -> Output {
    let args = [
        &["run", "--rm", "--network", "none"][..],
        flags,
        &[image, "sh", "-c", script],
    ]
    .concat();
    sb.den(&args)
}

/// A field of /proc/self/status inside a container run with `flags`.
fn status_field(sb: &Sandbox, flags: &[&str], field: &str) -> String {
    let out = run_sh(
        sb,
        flags,
        img(),
        &format!("grep '^{field}:' /proc/self/status"),
    )
    .ok();
    out.stdout
        .split_once(':')
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {field} in\n{out}"))
}

#[test]
fn mknod_is_allowed_but_a_block_device_cannot_be_read() {
    let sb = Sandbox::new();
    // The first run fills the image store and the seccomp cache.
    run_sh(&sb, &[], img(), "true").ok();
    let before = sb.footprint();
    let out = run_sh(
        &sb,
        &[],
        img(),
        "mknod /dev/x b 7 0 && echo made; head -c1 /dev/x; echo read=$?",
    );
    assert!(out.stdout.contains("made"), "mknod failed\n{out}");
    assert!(
        out.stderr.contains("Operation not permitted") && !out.stdout.contains("read=0"),
        "a block device node was readable\n{out}"
    );
    sb.assert_footprint(&before, "den run with mknod");
}

#[test]
fn a_block_device_shipped_in_the_image_cannot_be_opened() {
    let sb = Sandbox::new();
    let image = rootfs_copy(&sb, "with-blk");
    let node = format!("{image}/blk");
    let made = Command::new("mknod")
        .args([node.as_str(), "b", "7", "0"])
        .status()
        .expect("mknod");
    assert!(made.success(), "mknod in the image copy");
    let out = run_sh(&sb, &[], &image, "head -c1 /blk; echo read=$?");
    assert!(
        out.stderr.contains("Operation not permitted") && !out.stdout.contains("read=0"),
        "the image's block device was readable\n{out}"
    );
}

#[test]
fn dockers_seccomp_profile_is_on_and_denies_unshare_and_mount() {
    let sb = Sandbox::new();
    assert_eq!(status_field(&sb, &[], "Seccomp"), "2");
    let out = run_sh(
        &sb,
        &[
            "--cap-add",
            "SYS_ADMIN",
            "--security-opt",
            "seccomp=unconfined",
        ],
        img(),
        "unshare -U true && echo unshared",
    )
    .ok();
    assert!(out.stdout.contains("unshared"), "control run failed\n{out}");
    let out = run_sh(&sb, &[], img(), "unshare -U true || echo denied");
    assert!(
        out.stdout.contains("denied") && out.stderr.contains("not permitted"),
        "unshare -U worked in a default container\n{out}"
    );
    let out = run_sh(
        &sb,
        &[],
        img(),
        "mkdir /m; mount -t tmpfs x /m || echo denied",
    );
    assert!(out.stdout.contains("denied"), "mount worked\n{out}");
}

#[test]
fn seccomp_unconfined_has_no_filter() {
    let sb = Sandbox::new();
    let opt = ["--security-opt", "seccomp=unconfined"];
    assert_eq!(status_field(&sb, &opt, "Seccomp"), "0");
}

#[test]
fn a_seccomp_profile_from_a_file_is_applied() {
    let sb = Sandbox::new();
    let profile = sb.scratch().join("no-mkdir.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    let out = run_sh(
        &sb,
        &["--security-opt", &opt],
        img(),
        "mkdir /d || echo denied",
    );
    assert!(
        out.stdout.contains("denied") && out.stderr.contains("Permission denied"),
        "mkdir was not refused with EACCES\n{out}"
    );
}

#[test]
fn privileged_can_mount_and_write_proc_sys() {
    let sb = Sandbox::new();
    let out = run_sh(
        &sb,
        &["--privileged"],
        img(),
        "mkdir /m && mount -t tmpfs x /m && echo mounted; grep Seccomp: /proc/self/status; \
         echo 1 > /proc/sys/net/ipv4/ip_forward && echo wrote; \
         [ -b /dev/loop0 ] && head -c1 /dev/loop0 >/dev/null && echo loop0; \
         [ -h /dev/ptmx ] && [ -c /dev/null ] && echo kept",
    )
    .ok();
    assert!(out.stdout.contains("mounted"), "{out}");
    // docker's --privileged: the host's device nodes, usable (its own ptmx link stays).
    if std::path::Path::new("/dev/loop0").exists() {
        assert!(
            out.stdout.contains("loop0"),
            "no usable host /dev/loop0\n{out}"
        );
    }
    assert!(out.stdout.contains("kept"), "{out}");
    assert!(out.stdout.contains("Seccomp:\t0"), "{out}");
    assert!(out.stdout.contains("wrote"), "{out}");
    let out = run_sh(
        &sb,
        &[],
        img(),
        "echo 1 > /proc/sys/net/ipv4/ip_forward || echo ro; [ -e /dev/loop0 ] || echo no-loop0",
    );
    assert!(
        out.stdout.contains("no-loop0"),
        "a host device by default\n{out}"
    );
    assert!(
        out.stdout.contains("ro"),
        "/proc/sys was writable by default\n{out}"
    );
}

#[test]
fn cap_drop_all_empties_the_sets_and_ping_fails() {
    let sb = Sandbox::new();
    let drop = ["--cap-drop", "ALL"];
    for set in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(status_field(&sb, &drop, set), "0000000000000000", "{set}");
    }
    let out = run_sh(&sb, &drop, img(), "ping -c1 -W1 127.0.0.1 || echo failed");
    assert!(
        out.stdout.contains("failed"),
        "ping worked without caps\n{out}"
    );
    let out = run_sh(&sb, &[], img(), "ping -c1 -W1 127.0.0.1 && echo pinged").ok();
    assert!(
        out.stdout.contains("pinged"),
        "ping fails by default\n{out}"
    );
}

#[test]
fn cap_add_net_admin_can_add_an_address() {
    let sb = Sandbox::new();
    let script = "ip addr add 10.9.9.9/32 dev lo && echo added";
    let out = run_sh(&sb, &["--cap-add", "NET_ADMIN"], img(), script).ok();
    assert!(out.stdout.contains("added"), "{out}");
    let out = run_sh(&sb, &[], img(), script);
    assert!(
        !out.stdout.contains("added"),
        "NET_ADMIN without --cap-add\n{out}"
    );
}

#[test]
fn a_non_root_user_has_no_effective_capabilities() {
    let sb = Sandbox::new();
    assert_eq!(
        status_field(&sb, &["-u", "1000"], "CapEff"),
        "0000000000000000"
    );
    assert_eq!(
        status_field(&sb, &["-u", "1000"], "CapPrm"),
        "0000000000000000"
    );
    assert_ne!(status_field(&sb, &[], "CapEff"), "0000000000000000");
}

#[test]
fn den_exec_runs_under_the_containers_cgroup_and_seccomp_filter() {
    let sb = Sandbox::new();
    let den = sb.den_spawn(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--name",
        "x",
        "--pids-limit",
        "7",
        img(),
        "sleep",
        "60",
    ]);
    let id = sb.wait_running(&den, "x").id().expect("id");
    let out = sb
        .den(&[
            "exec",
            "x",
            "sh",
            "-c",
            "grep Seccomp: /proc/self/status; grep pids /proc/self/cgroup; \
             mknod /b b 7 0; head -c1 /b; echo read=$?",
        ])
        .ok();
    assert!(out.stdout.contains("Seccomp:\t2"), "{out}");
    assert!(
        out.stdout.contains(&format!("den-{id}")),
        "not in the container's cgroup\n{out}"
    );
    assert!(
        out.stderr.contains("Operation not permitted") && !out.stdout.contains("read=0"),
        "den exec could read a block device\n{out}"
    );
    sb.den(&["rm", "-f", "x"]).ok();
}
