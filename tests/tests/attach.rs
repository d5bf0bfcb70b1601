//! A foreground `den run`'s output kept in its log as a detached one's, `-a` choosing what reaches
//! den's terminal, and `--sig-proxy` (true: den passes signals on; false: the container runs under
//! a supervisor and a signal ends den alone, as docker's client detaches).

use std::fs;
use std::time::Duration;

use den_tests::journal::action;
use den_tests::{assert_rejected, fixtures, wait_until, Sandbox, SIGTERM, START_TIMEOUT};

const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

fn img() -> &'static str {
    fixtures().dir_arg()
}

const BOTH: &str = "echo out; echo err >&2; exit 3";

/// `den logs NAME`: (stdout, stderr).
fn logs(sb: &Sandbox, name: &str) -> (String, String) {
    let out = sb.den(&["logs", name]).ok();
    (out.stdout, out.stderr)
}

#[test]
fn a_foreground_run_keeps_both_streams_apart_in_its_log() {
    let sb = Sandbox::new();
    let run = [
        "run",
        "--network",
        "none",
        "--name",
        "fg",
        img(),
        "sh",
        "-c",
        BOTH,
    ];
    let out = sb.den(&run).expect_code(3);
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str()),
        ("out\n", "err\n")
    );
    assert_eq!(logs(&sb, "fg"), ("out\n".into(), "err\n".into()));
    // Times per line, as a detached container's.
    let stamped = sb.den(&["logs", "-t", "fg"]).ok();
    assert!(stamped.stdout.ends_with("Z out\n"), "{stamped}");
    // `den start -a` appends to it.
    sb.den(&["start", "-a", "fg"]).expect_code(3);
    assert_eq!(logs(&sb, "fg"), ("out\nout\n".into(), "err\nerr\n".into()));
    sb.den(&["rm", "fg"]).ok();
}

#[test]
fn attach_stdout_hides_stderr_from_the_terminal_but_the_log_keeps_it() {
    let sb = Sandbox::new();
    let out = sb
        .den(&[
            "run",
            "-a",
            "stdout",
            "--network",
            "none",
            "--name",
            "a1",
            img(),
            "sh",
            "-c",
            BOTH,
        ])
        .expect_code(3);
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str()),
        ("out\n", ""),
        "{out}"
    );
    assert_eq!(logs(&sb, "a1"), ("out\n".into(), "err\n".into()));
    // With --rm (no log) too; docker's names in capitals work.
    let out = sb
        .den(&[
            "run",
            "--rm",
            "-a",
            "STDERR",
            "--network",
            "none",
            img(),
            "sh",
            "-c",
            BOTH,
        ])
        .expect_code(3);
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str()),
        ("", "err\n"),
        "{out}"
    );
    assert_rejected(
        &sb.den(&[
            "run",
            "-d",
            "-a",
            "stdout",
            "--network",
            "none",
            img(),
            "true",
        ]),
        &["-a", "-d"],
    );
    assert_rejected(
        &sb.den(&["run", "-a", "stdio", "--network", "none", img(), "true"]),
        &["stdio"],
    );
    sb.den(&["rm", "a1"]).ok();
}

#[test]
fn a_tty_run_logs_its_one_stream_as_stdout() {
    let sb = Sandbox::new();
    let out = sb
        .den(&[
            "run",
            "-t",
            "--network",
            "none",
            "--name",
            "tt",
            img(),
            "sh",
            "-c",
            BOTH,
        ])
        .expect_code(3);
    assert!(
        out.stdout.contains("out\r\n") && out.stdout.contains("err\r\n"),
        "{out}"
    );
    let (o, e) = logs(&sb, "tt");
    assert!(
        o.contains("out\r\n") && o.contains("err\r\n") && e.is_empty(),
        "{o:?} {e:?}"
    );
    sb.den(&["rm", "tt"]).ok();
}

#[test]
fn the_foreground_log_rotates_past_max_size() {
    let sb = Sandbox::new();
    let script = "i=1; while [ $i -le 200 ]; do echo line $i; i=$((i+1)); done";
    let opts = ["--log-opt", "max-size=1k", "--log-opt", "max-file=2"];
    let run = [
        &["run", "--network", "none", "--name", "rot"][..],
        &opts,
        &[img(), "sh", "-c", script],
    ];
    let out = sb.den(&run.concat()).ok();
    assert_eq!(
        out.stdout.lines().count(),
        200,
        "the terminal got every line"
    );
    let id = sb.inspect("rot").id().unwrap();
    let dir = sb.root().join("containers").join(id);
    assert!(fs::metadata(dir.join("container.log")).unwrap().len() < 1024);
    assert!(dir.join("container.log.1").exists() && !dir.join("container.log.2").exists());
    let (shown, _) = logs(&sb, "rot");
    assert!(
        shown.ends_with("line 200\n") && !shown.starts_with("line 1\n"),
        "{shown}"
    );
    sb.den(&["rm", "rot"]).ok();
}

/// PID 1 only gets the signals it handles: the trap says it got one and exits 42.
const TRAP_ONLY: &str = "trap 'echo got TERM; exit 42' TERM;";
const SPIN: &str = "while true; do sleep 0.1; done";
/// 2000 lines of 50 bytes: 100 KB, more than a pipe holds.
const LOTS: &str = "i=0; while [ $i -lt 2000 ]; do echo 0123456789012345678901234567890123456789012345678; i=$((i+1)); done";
const TRAP: &str = "trap 'echo got TERM; exit 42' TERM; echo ready; while true; do sleep 0.1; done";

#[test]
fn with_sig_proxy_sigterm_to_den_reaches_the_container() {
    let sb = Sandbox::new();
    let den = sb.den_spawn(&[
        "run",
        "--network",
        "none",
        "--name",
        "sp",
        img(),
        "sh",
        "-c",
        TRAP,
    ]);
    den.wait_stdout("ready", START_TIMEOUT);
    den.signal(SIGTERM);
    let out = den.wait(EXIT_TIMEOUT).expect_code(42);
    assert_eq!(out.stdout, "ready\ngot TERM\n", "{out}");
    assert_eq!(logs(&sb, "sp").0, "ready\ngot TERM\n");
    sb.den(&["rm", "sp"]).ok();
}

#[test]
fn without_sig_proxy_sigterm_ends_den_alone_and_the_container_runs_on() {
    let sb = Sandbox::new();
    // After den is gone, more than a pipe's worth of output: nothing may block on the echo.
    let script = format!("{TRAP_ONLY} echo ready; sleep 1; {LOTS}; echo done; {SPIN}");
    let den = sb.den_spawn(&[
        "run",
        "--sig-proxy=false",
        "--network",
        "none",
        "--name",
        "nsp",
        img(),
        "sh",
        "-c",
        &script,
    ]);
    den.wait_stdout("ready", START_TIMEOUT);
    den.signal(SIGTERM);
    // den died of it (128 + 15); the container did not get it.
    den.wait(EXIT_TIMEOUT).expect_code(143);
    assert_eq!(sb.inspect("nsp").status().as_deref(), Some("running"));
    wait_until(EXIT_TIMEOUT, "the output after den left logged", || {
        logs(&sb, "nsp").0.ends_with("done\n")
    });
    assert!(!logs(&sb, "nsp").0.contains("got TERM"));
    // Its supervisor still holds it: den stop's SIGTERM is trapped, and its exit recorded.
    sb.den(&["stop", "nsp"]).ok();
    wait_until(EXIT_TIMEOUT, "nsp's exit recorded", || {
        sb.inspect("nsp").exit_code() == Some(42)
    });
    assert!(logs(&sb, "nsp").0.ends_with("done\ngot TERM\n"));
    sb.den(&["rm", "nsp"]).ok();
}

#[test]
fn without_sig_proxy_den_shows_the_output_and_exits_with_the_status() {
    let sb = Sandbox::new();
    let out = sb
        .den(&[
            "run",
            "--rm",
            "--sig-proxy=false",
            "--network",
            "none",
            img(),
            "sh",
            "-c",
            BOTH,
        ])
        .expect_code(3);
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str()),
        ("out\n", "err\n"),
        "{out}"
    );
    let out = sb
        .den(&[
            "run",
            "--sig-proxy=false",
            "-a",
            "stderr",
            "--network",
            "none",
            "--name",
            "q",
            img(),
            "sh",
            "-c",
            BOTH,
        ])
        .expect_code(3);
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str()),
        ("", "err\n"),
        "{out}"
    );
    assert_eq!(logs(&sb, "q"), ("out\n".into(), "err\n".into()));
    assert_rejected(
        &sb.den(&[
            "run",
            "--sig-proxy=false",
            "-i",
            "--network",
            "none",
            img(),
            "true",
        ]),
        &["--sig-proxy=false", "-i"],
    );
    sb.den(&["rm", "q"]).ok();
}

const TICKS: &str = "trap 'echo got TERM; exit 42' TERM; while true; do echo tick; sleep 0.2; done";

#[test]
fn den_attach_follows_a_detached_container_and_passes_signals_on() {
    let sb = Sandbox::new();
    sb.run_detached(&[
        "--network",
        "none",
        "--name",
        "bg",
        img(),
        "sh",
        "-c",
        TICKS,
    ]);
    let den = sb.den_spawn(&["attach", "bg"]);
    den.wait_stdout("tick", START_TIMEOUT);
    den.signal(SIGTERM);
    let out = den.wait(EXIT_TIMEOUT).expect_code(42);
    assert!(out.stdout.ends_with("tick\ngot TERM\n"), "{out}");
    // Journaled as docker's `attach`, after the start and before the signal it passed on.
    let evs = sb.events(&["--since", "10m", "--until", "0s", "-f", "container=bg"]);
    let actions: Vec<_> = evs.iter().map(action).collect();
    assert!(
        actions.starts_with(&["create", "start", "attach", "kill"]),
        "{evs:?}"
    );
    // A stopped container cannot be attached to (docker's exit 1).
    let out = sb.den(&["attach", "bg"]).expect_code(1);
    assert!(out.stderr.contains("start it first"), "{out}");
    sb.den(&["rm", "bg"]).ok();
}

#[test]
fn den_attach_without_sig_proxy_detaches_on_a_signal() {
    let sb = Sandbox::new();
    sb.run_detached(&[
        "--network",
        "none",
        "--name",
        "bg2",
        img(),
        "sh",
        "-c",
        TICKS,
    ]);
    // The same verb in docker's `container` group.
    let den = sb.den_spawn(&["container", "attach", "--sig-proxy=false", "bg2"]);
    den.wait_stdout("tick", START_TIMEOUT);
    den.signal(SIGTERM);
    den.wait(EXIT_TIMEOUT).expect_code(143);
    assert_eq!(sb.inspect("bg2").status().as_deref(), Some("running"));
    sb.den(&["rm", "-f", "bg2"]).ok();
}

#[test]
fn a_rm_run_keeps_no_log_and_writes_to_den_directly() {
    let sb = Sandbox::new();
    let script = "echo hi; sleep 3";
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
    den.wait_stdout("hi", START_TIMEOUT);
    let id = sb.inspect("gone").id().unwrap();
    let dir = sb.root().join("containers").join(id);
    assert!(
        dir.is_dir() && !dir.join("container.log").exists(),
        "a log for --rm"
    );
    // No tee between them: the container's stdout is den's own.
    let pid = sb.inspect("gone").pid().unwrap();
    let theirs = fs::read_link(format!("/proc/{pid}/fd/1")).unwrap();
    let dens = fs::read_link(format!("/proc/{}/fd/1", den.pid())).unwrap();
    assert_eq!(theirs, dens);
    den.wait(EXIT_TIMEOUT).ok();
}
