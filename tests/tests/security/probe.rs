//! Escape probes a shell cannot make (busybox has no keyctl): a tiny static C program, built
//! with the machine's gcc into a copy of the fixture rootfs.

use den_tests::{probe, Sandbox};

use super::{img, run_sh};

const SOURCE: &str = r#"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long r = -1;
    if (argc < 2) return 2;
    if (!strcmp(argv[1], "keyctl"))            /* KEYCTL_GET_KEYRING_ID, session keyring */
        r = syscall(SYS_keyctl, 0, -3, 1);
    else if (!strcmp(argv[1], "add_key"))
        r = syscall(SYS_add_key, "user", "den", "x", 1, -3);
    else if (!strcmp(argv[1], "ptrace") && argc > 2)
        r = ptrace(PTRACE_ATTACH, atoi(argv[2]), 0, 0);
    else
        return 2;
    printf("%s: %s\n", argv[1], r < 0 ? strerror(errno) : "ok");
    return r < 0;
}
"#;

/// A rootfs with `/probe` in it.
fn image_with_probe(sb: &Sandbox) -> String {
    probe::image_with_probe(sb, "with-probe", SOURCE)
}

#[test]
fn keyctl_and_add_key_are_denied_by_the_default_profile() {
    let sb = Sandbox::new();
    let image = image_with_probe(&sb);
    let out = run_sh(&sb, &[], &image, "/probe keyctl; /probe add_key");
    assert!(
        out.stdout.contains("keyctl: Operation not permitted")
            && out.stdout.contains("add_key: Operation not permitted"),
        "{out}"
    );
    let unconfined = ["--security-opt", "seccomp=unconfined"];
    let out = run_sh(&sb, &unconfined, &image, "/probe keyctl");
    assert!(out.stdout.contains("keyctl: ok"), "control run\n{out}");
}

#[test]
fn another_container_cannot_be_ptraced() {
    let sb = Sandbox::new();
    let image = image_with_probe(&sb);
    let victim = sb.den_spawn(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--name",
        "victim",
        img(),
        "sleep",
        "60",
    ]);
    let pid = sb.wait_running(&victim, "victim").pid().expect("pid");
    // Its host pid, and PID 1 of our own namespace's neighbour: neither is reachable.
    let script = format!("/probe ptrace {pid}; /probe ptrace 1");
    let out = run_sh(&sb, &["--cap-add", "SYS_PTRACE"], &image, &script);
    assert!(
        out.stdout.contains("ptrace: No such process"),
        "the other container's pid was reachable\n{out}"
    );
    sb.den(&["rm", "-f", "victim"]).ok();
}

/// The host-wide kernel knobs behind classic escapes (core_pattern runs a host program as root;
/// sysrq-trigger, where the kernel has it; all of /sys) are read-only in a default container. Each write puts
/// back the value just read, so even a failing den changes nothing on the host.
#[test]
fn host_kernel_knobs_cannot_be_written_by_default() {
    let sb = Sandbox::new();
    let script = "v=$(cat /proc/sys/kernel/core_pattern); \
                  echo \"$v\" > /proc/sys/kernel/core_pattern && echo core=written; \
                  grep -q ' /proc/sysrq-trigger ro,' /proc/self/mountinfo && echo sysrq=ro; \
                  grep -q ' /sys ro,' /proc/self/mountinfo && echo sys=ro";
    let out = run_sh(&sb, &[], img(), script);
    assert!(!out.stdout.contains("core=written"), "{out}");
    assert!(out.stderr.contains("Read-only file system"), "{out}");
    if std::path::Path::new("/proc/sysrq-trigger").exists() {
        assert!(
            out.stdout.contains("sysrq=ro"),
            "sysrq-trigger writable\n{out}"
        );
    }
    assert!(out.stdout.contains("sys=ro"), "/sys writable\n{out}");
    let out = run_sh(&sb, &["--privileged"], img(), script);
    assert!(out.stdout.contains("core=written"), "control run\n{out}");
}
