//! The container process end to end, as root, on a tiny busybox rootfs built here.
//!
//! Threads: libtest runs tests on several threads, and `spawn` clones the whole process. That is
//! sound because the child only runs den's own allocation-free, lock-free code between clone
//! and exec (see `process::child`), so no `--test-threads=1` is needed. Each test blocks the
//! forwarded signals on its own thread only.

#[path = "process/fixture.rs"]
mod fixture;

use std::io::Read;
use std::path::PathBuf;

use den_runtime::process::{spawn, Exit, ProcessError, Step};
use den_runtime::spec::{build, NetNs};
use fixture::{fixture, inputs, launch, pipe, read_all, run, run_spec, with_sys_admin};
use nix::sys::signal::{kill, Signal};
use nix::unistd::{gethostname, Pid};

#[test]
fn pid_1_hostname_and_only_container_processes() {
    let fx = fixture();
    let host_name = gethostname().expect("hostname");
    // `exit` keeps ps a child (busybox sh would exec a last command as PID 1).
    let (exit, out) = run(&fx, &["sh", "-c", "echo $$; hostname; ps -o pid; exit 0"]);
    assert_eq!(exit, Exit::Code(0), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1", "the shell is PID 1: {out}");
    assert_eq!(lines[1], "den-test");
    let pids: Vec<u32> = lines[3..]
        .iter()
        .map(|l| l.trim().parse().expect("pid"))
        .collect();
    assert_eq!(pids.len(), 2, "ps sees the shell and itself only: {out}");
    assert!(pids[0] == 1 && pids[1] < 10, "{out}");
    assert_eq!(
        gethostname().expect("hostname"),
        host_name,
        "host hostname unchanged"
    );
}

#[test]
fn masked_and_readonly_paths_caps_and_no_new_privs() {
    let fx = fixture();
    // This kernel has no /proc/kcore; /proc/timer_list and /sys/firmware exist and are not empty.
    let host_timers = std::fs::read_to_string("/proc/timer_list").expect("host timer_list");
    assert!(!host_timers.is_empty());
    assert!(
        std::fs::read_dir("/sys/firmware")
            .expect("host /sys/firmware")
            .count()
            > 0
    );
    let script = "wc -c < /proc/timer_list; ls /sys/firmware | wc -l; \
                  grep -E '^Cap(Eff|Bnd|Inh|Amb)|NoNewPrivs' /proc/self/status; \
                  grep ' /proc/sys ' /proc/self/mounts";
    let (exit, out) = run(&fx, &["sh", "-c", script]);
    assert_eq!(exit, Exit::Code(0), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0].trim(), "0", "/proc/timer_list is /dev/null: {out}");
    assert_eq!(
        lines[1].trim(),
        "0",
        "/sys/firmware is an empty tmpfs: {out}"
    );
    assert!(out.contains("CapInh:\t0000000000000000"), "{out}");
    assert!(out.contains("CapEff:\t00000000a80425fb"), "{out}");
    assert!(out.contains("CapBnd:\t00000000a80425fb"), "{out}");
    assert!(out.contains("CapAmb:\t0000000000000000"), "{out}");
    assert!(out.contains("NoNewPrivs:\t1"), "{out}");
    let sys = lines
        .iter()
        .find(|l| l.contains(" /proc/sys "))
        .expect("/proc/sys mount");
    let options = sys.split_whitespace().nth(3).expect("options");
    assert!(
        options.split(',').any(|o| o == "ro"),
        "/proc/sys is read-only: {sys}"
    );
}

#[test]
fn exit_codes_pass_through() {
    let fx = fixture();
    assert_eq!(run(&fx, &["sh", "-c", "exit 7"]).0, Exit::Code(7));
    let (exit, _) = run(&fx, &["true"]);
    assert_eq!((exit, exit.status()), (Exit::Code(0), 0));
}

#[test]
fn sigkill_from_the_host_is_137() {
    let fx = fixture();
    let spec = build(&inputs(&fx, &["sleep", "100"])).expect("spec");
    let running = spawn(&launch(&fx, &spec, None))
        .expect("spawn")
        .start()
        .expect("start");
    kill(Pid::from_raw(running.pid()), Signal::SIGKILL).expect("kill");
    let exit = running.wait().expect("wait");
    assert_eq!((exit, exit.status()), (Exit::Signal(9), 137));
}

#[test]
fn a_missing_command_is_exec_not_found_and_a_non_executable_is_denied() {
    let fx = fixture();
    let spec = build(&inputs(&fx, &["nope"])).expect("spec");
    let err = spawn(&launch(&fx, &spec, None))
        .expect("spawn")
        .start()
        .expect_err("no such command");
    assert!(
        matches!(&err, ProcessError::ExecNotFound { cmd } if cmd == "nope"),
        "{err:?}"
    );
    assert_eq!(err.exit_status(), 127);
    assert_eq!(
        err.to_string(),
        "exec: \"nope\": executable file not found in $PATH"
    );

    let spec = build(&inputs(&fx, &["/etc/passwd"])).expect("spec");
    let err = spawn(&launch(&fx, &spec, None))
        .expect("spawn")
        .start()
        .expect_err("not executable");
    assert!(
        matches!(&err, ProcessError::PermissionDenied { .. }),
        "{err:?}"
    );
    assert_eq!(err.exit_status(), 126);
}

#[test]
fn the_network_namespace_has_only_lo() {
    let fx = fixture();
    let (exit, out) = run(&fx, &["ip", "link"]);
    assert_eq!(exit, Exit::Code(0), "{out}");
    let links: Vec<&str> = out.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(links.len(), 1, "{out}");
    assert!(links[0].starts_with("1: lo:"), "{out}");
}

#[test]
fn writes_land_in_upper_and_env_cwd_and_stdin_are_dockers() {
    let fx = fixture();
    let mut i = inputs(
        &fx,
        &[
            "sh",
            "-c",
            "echo hi > /newfile; pwd; echo $HOSTNAME $HOME; cat; echo end",
        ],
    );
    i.cwd = "/work/dir".into();
    let spec = build(&i).expect("spec");
    let (exit, out) = run_spec(&fx, &spec);
    assert_eq!(exit, Exit::Code(0), "{out}");
    assert_eq!(
        out, "/work/dir\nden-test /root\nend\n",
        "cat read /dev/null"
    );
    assert_eq!(
        std::fs::read_to_string(fx.upper.join("newfile")).expect("upper"),
        "hi\n"
    );
    assert!(!fx.lower.join("newfile").exists());
}

#[test]
fn mounts_stay_inside_the_container() {
    let fx = fixture();
    let script = "mount -t tmpfs none /mnt && echo ready; sleep 100";
    // Let this one container mount (docker's default set cannot).
    let spec = with_sys_admin(build(&inputs(&fx, &["sh", "-c", script])).expect("spec"));
    let (read, write) = pipe();
    let paused = spawn(&launch(&fx, &spec, Some(write))).expect("spawn");
    let pid = paused.pid();
    let running = paused.start().expect("start");
    let mut buf = [0u8; 6];
    std::fs::File::from(read)
        .read_exact(&mut buf)
        .expect("ready");
    assert_eq!(&buf, b"ready\n");
    let ours = |mounts: &str| {
        mounts
            .lines()
            .filter(|l| l.contains(fx.dir.to_str().unwrap_or("?")))
            .count()
    };
    assert_eq!(
        ours(&std::fs::read_to_string("/proc/self/mountinfo").expect("host")),
        0
    );
    let inside =
        std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).expect("container mountinfo");
    assert!(
        inside
            .lines()
            .any(|l| l.contains(" /mnt ") && l.contains("tmpfs")),
        "{inside}"
    );
    assert!(
        inside
            .lines()
            .any(|l| l.contains(" / / ") && l.contains("overlay")),
        "{inside}"
    );
    kill(Pid::from_raw(running.pid()), Signal::SIGKILL).expect("kill");
    assert_eq!(running.wait().expect("wait"), Exit::Signal(9));
    assert_eq!(
        ours(&std::fs::read_to_string("/proc/self/mountinfo").expect("host")),
        0
    );
}

#[test]
fn mount_targets_resolve_symlinks_inside_the_rootfs() {
    let fx = fixture();
    let hostfile = fx.dir.join("hostfile");
    std::fs::write(&hostfile, "bound\n").expect("hostfile");
    // The image points /evil at /etc by absolute path: that is the image's /etc, not the host's.
    std::os::unix::fs::symlink("/etc", fx.lower.join("evil")).expect("symlink");
    let mut i = inputs(&fx, &["cat", "/etc/hosts"]);
    i.etc_files = vec![(hostfile.clone(), "/evil/hosts".into())];
    let (exit, out) = run_spec(&fx, &build(&i).expect("spec"));
    assert_eq!((exit, out.as_str()), (Exit::Code(0), "bound\n"));
    assert!(
        fx.upper.join("etc/hosts").exists(),
        "the target was created in the rootfs"
    );
}

#[test]
fn mount_targets_never_reach_host_paths() {
    let fx = fixture();
    let victim = fx.dir.join("victim");
    std::fs::create_dir(&victim).expect("victim dir");
    // /evil points at a host directory that does not exist inside the rootfs.
    std::os::unix::fs::symlink(&victim, fx.lower.join("evil")).expect("symlink");
    let hostfile = fx.dir.join("hostfile");
    std::fs::write(&hostfile, "bound\n").expect("hostfile");
    let mut i = inputs(&fx, &["true"]);
    i.etc_files = vec![(hostfile, "/evil/hosts".into())];
    let spec = build(&i).expect("spec");
    let err = spawn(&launch(&fx, &spec, None))
        .expect("spawn")
        .start()
        .expect_err("refused");
    match &err {
        ProcessError::Setup {
            step: Step::Mount,
            culprit,
            ..
        } => assert_eq!(culprit, "/evil/hosts"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        std::fs::read_dir(&victim).expect("victim").count(),
        0,
        "nothing created on the host"
    );
}

#[test]
fn dropping_a_paused_container_kills_and_reaps_it() {
    let fx = fixture();
    let spec = build(&inputs(&fx, &["true"])).expect("spec");
    let paused = spawn(&launch(&fx, &spec, None)).expect("spawn");
    let proc_dir = PathBuf::from(format!("/proc/{}", paused.pid()));
    assert!(proc_dir.exists());
    assert!(paused.netns_path().exists());
    drop(paused);
    assert!(!proc_dir.exists(), "killed and reaped");
}

#[test]
fn a_failed_step_is_reported_with_its_culprit() {
    let fx = fixture();
    let spec = build(&inputs(&fx, &["true"])).expect("spec");
    let mut l = launch(&fx, &spec, None);
    if let Some(o) = l.overlay.as_mut() {
        o.lower = vec![fx.dir.join("no-such-layer")];
    }
    let err = spawn(&l)
        .expect("spawn")
        .start()
        .expect_err("overlay fails");
    match &err {
        ProcessError::Setup {
            step: Step::MountRootfs,
            culprit,
            ..
        } => {
            assert_eq!(PathBuf::from(culprit), fx.rootfs)
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(err.exit_status(), 125);
}

#[test]
fn users_from_the_image_drop_to_their_ids_without_caps() {
    let fx = fixture();
    let mut i = inputs(
        &fx,
        &[
            "sh",
            "-c",
            "id -u; id -g; id -G; grep CapEff /proc/self/status",
        ],
    );
    i.user = Some("nobody".into());
    let (exit, out) = run_spec(&fx, &build(&i).expect("spec"));
    assert_eq!(exit, Exit::Code(0), "{out}");
    assert_eq!(out, "65534\n65534\n65534\nCapEff:\t0000000000000000\n");
    i.user = None;
    let (_, out) = run_spec(&fx, &build(&i).expect("spec"));
    assert_eq!(
        out, "0\n0\n0 10\nCapEff:\t00000000a80425fb\n",
        "root keeps wheel from etc/group"
    );
}

#[test]
fn signals_sent_to_den_reach_the_container() {
    let fx = fixture();
    let script = "trap 'exit 42' USR1; echo ready; while :; do sleep 1; done";
    let spec = build(&inputs(&fx, &["sh", "-c", script])).expect("spec");
    let (read, write) = pipe();
    let running = spawn(&launch(&fx, &spec, Some(write)))
        .expect("spawn")
        .start()
        .expect("start");
    let waiter = nix::sys::pthread::pthread_self();
    let sender = std::thread::spawn(move || {
        let mut buf = [0u8; 6];
        std::fs::File::from(read)
            .read_exact(&mut buf)
            .expect("ready");
        // Directed at the waiting thread, where den blocks the signal and reads it.
        nix::sys::pthread::pthread_kill(waiter, Signal::SIGUSR1).expect("signal den");
    });
    let exit = running.wait().expect("wait");
    sender.join().expect("sender");
    assert_eq!(exit, Exit::Code(42));
}

#[test]
fn a_terminal_is_relayed() {
    let fx = fixture();
    let script =
        "test -t 0 && test -t 1 && echo tty-ok; stat -L -c %t:%T /dev/console /proc/self/fd/0";
    let mut i = inputs(&fx, &["sh", "-c", script]);
    i.terminal = true;
    let (exit, out) = run_spec(&fx, &build(&i).expect("spec"));
    assert_eq!(exit, Exit::Code(0), "{out}");
    assert!(
        out.contains("tty-ok\r\n"),
        "output went through a pty: {out:?}"
    );
    let devs: Vec<&str> = out.lines().skip(1).map(str::trim).collect();
    assert_eq!(devs.len(), 2, "{out:?}");
    assert_eq!(
        devs[0], devs[1],
        "/dev/console is the container's terminal: {out:?}"
    );
}

#[test]
fn joining_another_containers_network_namespace() {
    let fx = fixture();
    let spec = build(&inputs(&fx, &["true"])).expect("spec");
    let first = spawn(&launch(&fx, &spec, None)).expect("spawn");
    let want = std::fs::read_link(first.netns_path()).expect("netns");
    let fx2 = fixture();
    let mut i = inputs(&fx2, &["readlink", "/proc/self/ns/net"]);
    i.net = NetNs::Join(first.netns_path());
    let (exit, out) = run_spec(&fx2, &build(&i).expect("spec"));
    assert_eq!(exit, Exit::Code(0));
    assert_eq!(out.trim(), want.to_str().expect("utf-8"));
    drop(first);
}

#[test]
fn stdout_and_stderr_can_be_separate_pipes() {
    let fx = fixture();
    let spec = build(&inputs(&fx, &["sh", "-c", "echo out; echo err >&2"])).expect("spec");
    let (r_out, w_out) = pipe();
    let (r_err, w_err) = pipe();
    let mut l = launch(&fx, &spec, Some(w_out));
    l.stderr = Some(w_err);
    let running = spawn(&l).expect("spawn").start().expect("start");
    drop(l);
    assert_eq!(running.wait().expect("wait"), Exit::Code(0));
    assert_eq!(
        (read_all(r_out).as_str(), read_all(r_err).as_str()),
        ("out\n", "err\n")
    );
}
