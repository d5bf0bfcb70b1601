//! The container's namespaces, exit status and signals under `den run`.
//! Networking other than the mode under test is `--network none`, so these tests do not
//! depend on the bridge.

use std::fs;
use std::path::Path;
use std::time::Duration;

use den_tests::{
    fixtures, link_names, procs, wait_until, Output, Proc, Sandbox, HOST_IF, SIGKILL, SIGTERM,
    START_TIMEOUT,
};

const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

fn img() -> &'static str {
    fixtures().dir_arg()
}

/// `den run --rm --network none ARGS...`, to completion.
fn run(sb: &Sandbox, args: &[&str]) -> Output {
    sb.den(&[&["run", "--rm", "--network", "none"][..], args].concat())
}

/// `den run --rm --network none --name NAME ARGS...`, in the background.
fn spawn(sb: &Sandbox, name: &str, args: &[&str]) -> Proc {
    sb.den_spawn(
        &[
            &["run", "--rm", "--network", "none", "--name", name][..],
            args,
        ]
        .concat(),
    )
}

fn ns_inode_of(pid: u32, kind: &str) -> Option<u64> {
    procs::ns_inode(Path::new(&format!("/proc/{pid}/ns/{kind}")))
}

#[test]
fn container_is_pid_1_and_sees_only_its_processes() {
    let sb = Sandbox::new();
    let out = run(&sb, &[img(), "sh", "-c", "echo $$; ps -o pid,comm"]).ok();
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next(), Some("1"), "sh is not PID 1\n{out}");
    let procs: Vec<(u32, String)> = lines
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.parse().ok()?, w.next()?.to_string()))
        })
        .collect();
    assert!(
        procs.iter().any(|(pid, _)| *pid == 1),
        "no PID 1 in ps\n{out}"
    );
    assert!(
        procs.len() <= 2 && procs.iter().all(|(_, c)| c == "sh" || c == "ps"),
        "ps inside shows processes that are not the container's: {procs:?}\n{out}"
    );
}

#[test]
fn host_pid_differs_and_runs_the_same_program() {
    let sb = Sandbox::new();
    let den = spawn(&sb, "s", &[img(), "sleep", "60"]);
    let pid = sb.wait_running(&den, "s").pid().unwrap();
    assert_ne!(pid, 1);
    assert_ne!(pid, den.pid(), "the container's pid is den's own");
    wait_until(
        START_TIMEOUT,
        "the container's host pid to run sleep",
        || procs::program_name(pid as i32).as_deref() == Some("sleep"),
    );
    let nspid = procs::status_field(pid as i32, "NSpid").unwrap();
    assert_eq!(
        nspid.split_whitespace().last(),
        Some("1"),
        "host pid {pid} is not PID 1 in its own namespace (NSpid: {nspid})"
    );
    assert_ne!(
        ns_inode_of(pid, "pid"),
        ns_inode_of(std::process::id(), "pid")
    );
}

#[test]
fn hostname_is_set_inside_and_unchanged_outside() {
    let sb = Sandbox::new();
    let before = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let script = "hostname; echo ready; exec sleep 60";
    let den = spawn(&sb, "h", &["--hostname", "box", img(), "sh", "-c", script]);
    let out = den.wait_stdout("ready", START_TIMEOUT);
    assert_eq!(out.lines().next(), Some("box"), "hostname inside: {out}");
    let during = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(during, before, "the machine's hostname changed");
    assert_ne!(during.trim(), "box");
    let pid = sb.inspect("h").pid().unwrap();
    assert_ne!(
        ns_inode_of(pid, "uts"),
        ns_inode_of(std::process::id(), "uts")
    );
}

/// The mounts den makes for the container (its overlay root, /proc) live in the container's
/// mount namespace: the machine's mount table shows none of them. (The container itself
/// cannot mount: CAP_SYS_ADMIN is not in docker's default capability set.)
#[test]
fn container_mounts_are_invisible_outside() {
    let sb = Sandbox::new();
    let script = "cat /proc/self/mountinfo; echo ready; exec sleep 60";
    let den = spawn(&sb, "m", &[img(), "sh", "-c", script]);
    let inside = den.wait_stdout("ready", START_TIMEOUT);
    let pid = sb.inspect("m").pid().unwrap();
    assert_ne!(
        ns_inode_of(pid, "mnt"),
        ns_inode_of(std::process::id(), "mnt")
    );
    // mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - FSTYPE SOURCE SUPEROPTS"
    let mount_point = |l: &str| l.split_whitespace().nth(4).map(str::to_string);
    let root_line = inside
        .lines()
        .find(|l| mount_point(l).as_deref() == Some("/"))
        .unwrap_or_else(|| panic!("no / mount inside:\n{inside}"));
    let root_super = root_line.split(" - ").nth(1).unwrap().to_string();
    let has_proc = inside
        .lines()
        .any(|l| mount_point(l).as_deref() == Some("/proc"));
    assert!(has_proc, "no /proc inside:\n{inside}");
    let ours = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !ours
            .lines()
            .any(|l| l.split(" - ").nth(1) == Some(root_super.as_str())),
        "the container's root mount ({root_super}) is visible in the machine's mount table"
    );
    let under_sandbox = den_tests::mounts_mentioning(&sb.root().display().to_string());
    assert!(
        under_sandbox.is_empty(),
        "mounts visible outside: {under_sandbox:?}"
    );
}

#[test]
fn network_none_has_only_lo_and_it_is_up() {
    let sb = Sandbox::new();
    let out = run(&sb, &[img(), "ip", "-o", "link"]).ok();
    assert_eq!(link_names(&out.stdout), vec!["lo"], "{out}");
    let flags = out
        .stdout
        .split('<')
        .nth(1)
        .and_then(|f| f.split('>').next());
    assert!(
        flags.unwrap_or("").split(',').any(|f| f == "UP"),
        "lo is not UP: {out}"
    );
}

#[test]
fn network_host_shares_interfaces_but_not_pids() {
    let sb = Sandbox::new();
    let script = "echo $$; ip -o link";
    let out = sb
        .den(&[
            "run",
            "--rm",
            "--network",
            "host",
            img(),
            "sh",
            "-c",
            script,
        ])
        .ok();
    assert_eq!(out.stdout.lines().next(), Some("1"), "{out}");
    let inside = link_names(&out.stdout);
    assert!(inside.iter().any(|l| l == HOST_IF), "{out}");
    assert_eq!(inside, link_names(&sb.host("ip -o link").ok().stdout));
}

#[test]
fn exit_codes_propagate() {
    let sb = Sandbox::new();
    run(&sb, &[img(), "true"]).expect_code(0);
    run(&sb, &[img(), "sh", "-c", "exit 7"]).expect_code(7);
}

#[test]
fn missing_command_exits_127() {
    let sb = Sandbox::new();
    run(&sb, &[img(), "/no/such/command"]).expect_code(127);
    run(&sb, &[img(), "no-such-command"]).expect_code(127);
}

#[test]
fn env_and_workdir_apply() {
    let sb = Sandbox::new();
    let script = "echo \"$FOO\"; echo \"[${EMPTY-unset}]\"; pwd";
    let opts = ["-e", "FOO=bar baz", "-e", "EMPTY=", "-w", "/tmp"];
    let out = run(&sb, &[&opts[..], &[img(), "sh", "-c", script]].concat()).ok();
    assert_eq!(out.stdout, "bar baz\n[]\n/tmp\n", "{out}");
}

#[test]
fn sigterm_to_den_is_forwarded_to_the_container() {
    let sb = Sandbox::new();
    // PID 1 only gets signals it handles: the trap is what makes SIGTERM count.
    let script = "trap 'exit 143' TERM; echo ready; while true; do sleep 0.1; done";
    let den = spawn(&sb, "t", &[img(), "sh", "-c", script]);
    den.wait_stdout("ready", START_TIMEOUT);
    den.signal(SIGTERM);
    den.wait(EXIT_TIMEOUT).expect_code(143);
}

#[test]
fn sigkill_of_the_container_makes_den_exit_137() {
    let sb = Sandbox::new();
    let den = spawn(&sb, "k", &[img(), "sleep", "60"]);
    let pid = sb.wait_running(&den, "k").pid().unwrap();
    wait_until(START_TIMEOUT, "the container to exec sleep", || {
        procs::program_name(pid as i32).as_deref() == Some("sleep")
    });
    sb.kill_member(pid, SIGKILL);
    den.wait(EXIT_TIMEOUT).expect_code(137);
}

/// A relative `--root` names the same directory for every step: made absolute at the start, so
/// the container runs and `--rm` leaves no tree behind in the current directory.
#[test]
fn a_relative_root_is_resolved_once_at_the_start() {
    let sb = Sandbox::new();
    let den = |args: &str| {
        sb.host(&format!(
            "cd {dir} && exec {den} --root rel {args}",
            dir = sb.scratch().display(),
            den = den_tests::den_bin().display(),
        ))
    };
    let out = den(&format!("run --rm --network none {} echo hi", img())).ok();
    assert_eq!(out.stdout, "hi\n", "{out}");
    let root = sb.scratch().join("rel");
    let left: Vec<_> = fs::read_dir(root.join("containers"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "--rm left {left:?} under {}",
        root.display()
    );
    den(&format!(
        "run -d --name w --network none {} sleep 30",
        img()
    ))
    .ok();
    let ps = den("ps").ok();
    assert!(ps.stdout.contains(" w"), "{ps}");
    den("rm -f w").ok();
}
