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
