//! Issue A: namespaces, images and lifecycle of `den run`. Networking other than the mode
//! under test is `--network none`, so these tests do not depend on the bridge.

use std::fs;
use std::path::Path;
use std::time::Duration;

use den_tests::{
    fixtures, link_names, procs, wait_until, Sandbox, HOST_IF, SIGKILL, SIGTERM, START_TIMEOUT,
};

const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

fn img() -> &'static str {
    fixtures().dir_arg()
}

fn ns_inode_of(pid: u32, kind: &str) -> Option<u64> {
    procs::ns_inode(Path::new(&format!("/proc/{pid}/ns/{kind}")))
}

#[test]
fn container_is_pid_1_and_sees_only_its_processes() {
    let sb = Sandbox::new();
    let out = sb
        .den(&[
            "run",
            "--rm",
            "--network",
            "none",
            img(),
            "sh",
            "-c",
            "echo $$; ps -o pid,comm",
        ])
        .ok();
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
    let den = sb.den_spawn(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--name",
        "s",
        img(),
        "sleep",
        "60",
    ]);
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
    let den = sb.den_spawn(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--name",
        "h",
        "--hostname",
        "box",
        img(),
        "sh",
        "-c",
        script,
    ]);
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
/// mount namespace: the machine's mount table shows none of them.
#[test]
fn container_mounts_are_invisible_outside() {
    let sb = Sandbox::new();
    let script = "cat /proc/self/mountinfo; echo ready; exec sleep 60";
    let den = sb.den_spawn(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--name",
        "m",
        img(),
        "sh",
        "-c",
        script,
    ]);
    let inside = den.wait_stdout("ready", START_TIMEOUT);
    let pid = sb.inspect("m").pid().unwrap();
    assert_ne!(
        ns_inode_of(pid, "mnt"),
        ns_inode_of(std::process::id(), "mnt")
    );
    // mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - FSTYPE SOURCE SUPEROPTS"
    let root_line = inside
        .lines()
        .find(|l| l.split_whitespace().nth(4) == Some("/"))
        .unwrap_or_else(|| panic!("no / mount inside:\n{inside}"));
    let root_super = root_line.split(" - ").nth(1).unwrap().to_string();
    assert!(
        inside
            .lines()
            .any(|l| l.split_whitespace().nth(4) == Some("/proc")),
        "{inside}"
    );
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
    let out = sb
        .den(&[
            "run",
            "--rm",
            "--network",
            "none",
            img(),
            "ip",
            "-o",
            "link",
        ])
        .ok();
    assert_eq!(link_names(&out.stdout), vec!["lo"], "{out}");
    let flags = out
        .stdout
        .split('<')
        .nth(1)
        .and_then(|f| f.split('>').next())
        .unwrap_or("");
    assert!(flags.split(',').any(|f| f == "UP"), "lo is not UP: {out}");
}

#[test]
fn network_host_shares_interfaces_but_not_pids() {
    let sb = Sandbox::new();
    let out = sb
        .den(&[
            "run",
            "--rm",
            "--network",
            "host",
            img(),
            "sh",
            "-c",
            "echo $$; ip -o link",
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
    sb.den(&["run", "--rm", "--network", "none", img(), "true"])
        .expect_code(0);
    sb.den(&[
        "run",
        "--rm",
        "--network",
        "none",
        img(),
        "sh",
        "-c",
        "exit 7",
    ])
    .expect_code(7);
}

#[test]
fn missing_command_exits_127() {
    let sb = Sandbox::new();
    sb.den(&[
        "run",
        "--rm",
        "--network",
        "none",
        img(),
        "/no/such/command",
    ])
    .expect_code(127);
    sb.den(&["run", "--rm", "--network", "none", img(), "no-such-command"])
        .expect_code(127);
}

#[test]
fn env_and_workdir_apply() {
    let sb = Sandbox::new();
    let out = sb
        .den(&[
            "run",
            "--rm",
            "--network",
            "none",
            "-e",
            "FOO=bar baz",
            "-e",
            "EMPTY=",
            "-w",
            "/tmp",
            img(),
            "sh",
            "-c",
            "echo \"$FOO\"; echo \"[${EMPTY-unset}]\"; pwd",
        ])
        .ok();
    assert_eq!(out.stdout, "bar baz\n[]\n/tmp\n", "{out}");
}

#[test]
fn sigterm_to_den_is_forwarded_to_the_container() {
    let sb = Sandbox::new();
    // PID 1 only gets signals it handles: the trap is what makes SIGTERM count.
    let script = "trap 'exit 143' TERM; echo ready; while true; do sleep 0.1; done";
    let den = sb.den_spawn(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--name",
        "t",
        img(),
        "sh",
        "-c",
        script,
    ]);
    den.wait_stdout("ready", START_TIMEOUT);
    den.signal(SIGTERM);
    den.wait(EXIT_TIMEOUT).expect_code(143);
}

#[test]
fn sigkill_of_the_container_makes_den_exit_137() {
    let sb = Sandbox::new();
    let den = sb.den_spawn(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--name",
        "k",
        img(),
        "sleep",
        "60",
    ]);
    let pid = sb.wait_running(&den, "k").pid().unwrap();
    wait_until(START_TIMEOUT, "the container to exec sleep", || {
        procs::program_name(pid as i32).as_deref() == Some("sleep")
    });
    sb.kill_member(pid, SIGKILL);
    den.wait(EXIT_TIMEOUT).expect_code(137);
}

fn paths_under(dir: &Path, needle: &str, found: &mut Vec<String>) {
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.file_name()
            .is_some_and(|n| n.to_string_lossy().contains(needle))
        {
            found.push(p.display().to_string());
        }
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            paths_under(&p, needle, found);
        }
    }
}

#[test]
fn rm_removes_the_containers_files_and_state() {
    let sb = Sandbox::new();
    let script =
        "echo data > /written-by-den-test; echo ready; while [ ! -e /go ]; do sleep 0.05; done";
    let den = sb.den_spawn(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--name",
        "gone",
        img(),
        "sh",
        "-c",
        script,
    ]);
    den.wait_stdout("ready", START_TIMEOUT);
    let info = sb.inspect("gone");
    let (pid, id) = (info.pid().unwrap(), info.id().unwrap());
    let mut while_running = Vec::new();
    paths_under(sb.root(), "written-by-den-test", &mut while_running);
    paths_under(sb.root(), &id, &mut while_running);
    assert!(
        !while_running.is_empty(),
        "no state or upper dir for container {id} under the root"
    );
    sb.write_in_container(pid, "/go", "");
    den.wait(EXIT_TIMEOUT).ok();

    let mut left = Vec::new();
    paths_under(sb.root(), "written-by-den-test", &mut left);
    paths_under(sb.root(), &id, &mut left);
    assert!(left.is_empty(), "--rm left: {left:?}");
    assert!(
        sb.try_inspect("gone").is_none(),
        "den still knows the removed container"
    );
    let ps = sb.den(&["ps", "-a"]).ok();
    assert!(!ps.stdout.split_whitespace().any(|w| w == "gone"), "{ps}");
    // A new container from the same image does not see the file.
    sb.den(&[
        "run",
        "--rm",
        "--network",
        "none",
        img(),
        "test",
        "-e",
        "/written-by-den-test",
    ])
    .expect_code(1);
}

#[test]
fn exited_container_is_listed_until_removed() {
    let sb = Sandbox::new();
    sb.den(&[
        "run",
        "--network",
        "none",
        "--name",
        "kept1",
        img(),
        "sh",
        "-c",
        "exit 3",
    ])
    .expect_code(3);
    let listed = |args: &[&str]| {
        sb.den(args)
            .ok()
            .stdout
            .split_whitespace()
            .any(|w| w == "kept1")
    };
    assert!(!listed(&["ps"]), "den ps lists an exited container");
    assert!(
        listed(&["ps", "-a"]),
        "den ps -a does not list the exited container"
    );
    let info = sb.inspect("kept1");
    assert_eq!(info.status().as_deref(), Some("exited"), "{:#}", info.0);
    assert_eq!(info.exit_code(), Some(3), "{:#}", info.0);
    sb.den(&["rm", "kept1"]).ok();
    assert!(
        !listed(&["ps", "-a"]),
        "den rm did not remove the container"
    );
    assert!(sb.try_inspect("kept1").is_none());
}

#[test]
fn the_three_image_forms_give_the_same_tree() {
    let sb = Sandbox::new();
    let fx = fixtures();
    let ls = |image: &str| {
        sb.den(&[
            "run",
            "--rm",
            "--network",
            "none",
            image,
            "ls",
            "-R",
            "/bin",
        ])
        .ok()
        .stdout
    };
    let from_dir = ls(fx.dir_arg());
    assert!(from_dir.contains("busybox"), "{from_dir}");
    assert_eq!(
        ls(fx.oci_arg()),
        from_dir,
        "OCI layout differs from the rootfs dir"
    );
    assert_eq!(
        ls(fx.tar_arg()),
        from_dir,
        "tar differs from the rootfs dir"
    );
}

#[test]
fn loaded_image_runs_by_name_until_removed() {
    let sb = Sandbox::new();
    let has = |name: &str| {
        let out = sb.den(&["image", "ls"]).ok();
        out.stdout
            .lines()
            .any(|l| l.split_whitespace().next() == Some(name))
    };
    sb.den(&["image", "load", fixtures().tar_arg(), "--name", "bbox"])
        .ok();
    assert!(has("bbox"), "den image ls does not list the loaded image");
    sb.den(&["run", "--rm", "--network", "none", "bbox", "true"])
        .ok();
    sb.den(&["image", "rm", "bbox"]).ok();
    assert!(!has("bbox"), "den image rm did not remove the image");
    let out = sb.den(&["run", "--rm", "--network", "none", "bbox", "true"]);
    den_tests::assert_rejected(&out, &["bbox"]);
}
