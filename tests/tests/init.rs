//! `--init`: the host's static tini as PID 1 (docker's docker-init), reaping orphans and passing
//! signals on to the command.

use std::fs;
use std::time::{Duration, Instant};

use den_tests::{fixtures, Sandbox};

fn img() -> &'static str {
    fixtures().dir_arg()
}

/// The states of PID 1's children, seen from the host.
fn children_states(pid: u32) -> Vec<String> {
    let list = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    list.split_whitespace()
        .filter_map(|c| {
            let stat = fs::read_to_string(format!("/proc/{c}/stat")).ok()?;
            Some(stat[stat.rfind(')')? + 2..].split(' ').next()?.to_string())
        })
        .collect()
}

#[test]
fn init_is_pid_1_and_reaps_orphans() {
    let sb = Sandbox::new();
    let out = sb
        .den(&[
            "run",
            "--rm",
            "--init",
            "--network",
            "none",
            img(),
            "sh",
            "-c",
            "echo $$; tr '\\0' ' ' < /proc/1/cmdline",
        ])
        .ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_ne!(lines[0], "1", "the command is PID 1 under --init\n{out}");
    assert!(lines[1].starts_with("/sbin/docker-init -- sh -c"), "{out}");

    // An orphan that ends is a zombie under a PID 1 that never waits (sleep), reaped by the init.
    let orphan = "(sleep 0.2 &); exec sleep 1000";
    for (name, init) in [("bare", false), ("tini", true)] {
        let mut args = vec!["--network", "none", "--name", name];
        if init {
            args.push("--init");
        }
        args.extend([img(), "sh", "-c", orphan]);
        sb.run_detached(&args);
    }
    std::thread::sleep(Duration::from_millis(800));
    let bare = sb.inspect("bare").pid().unwrap();
    let tini = sb.inspect("tini").pid().unwrap();
    assert!(
        children_states(bare).contains(&"Z".to_string()),
        "no zombie without --init: the test proves nothing"
    );
    let states = children_states(tini);
    assert!(
        !states.is_empty() && !states.contains(&"Z".to_string()),
        "{states:?}"
    );
    sb.den(&["rm", "-f", "bare", "tini"]).ok();
}

#[test]
fn init_passes_sigterm_to_the_command() {
    let sb = Sandbox::new();
    // sleep as PID 1 ignores SIGTERM; under the init it is not PID 1 and dies of it.
    sb.run_detached(&[
        "--network",
        "none",
        "--name",
        "sleepy",
        "--init",
        img(),
        "sleep",
        "1000",
    ]);
    let t = Instant::now();
    sb.den(&["stop", "-t", "10", "sleepy"]).ok();
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "SIGTERM was not passed on: {:?}",
        t.elapsed()
    );
    sb.wait_exited("sleepy", 143);
    sb.den(&["rm", "sleepy"]).ok();
}
