//! Detached containers (`den run -d`), their supervisor, and the verbs on them: ps, logs,
//! stop, kill, start, rm, inspect, top.

use std::fs;
use std::time::{Duration, Instant};

use den_tests::{
    addr, den_bin, fixtures, http_get, procs, wait_ok, wait_until, Sandbox, EXIT_TIMEOUT,
    HOST_ADDR, SIGKILL, START_TIMEOUT,
};

const PAGE: &str = "hello from den\n";

fn img() -> &'static str {
    fixtures().dir_arg()
}

/// The footprint once den0, den's table and its port allocator's file exist (made by the first
/// bridge container that publishes a port, and kept).
fn warm_footprint(sb: &Sandbox) -> den_tests::Footprint {
    sb.den(&["run", "--rm", "-p", "9999:80", img(), "true"])
        .ok();
    sb.footprint()
}

fn web_reachable(sb: &Sandbox) -> String {
    wait_ok(START_TIMEOUT, "the web server through 8080", || {
        http_get(&sb.out_ns_path(), addr(&format!("{HOST_ADDR}:8080")))
    })
}

#[test]
fn docker_walk_through() {
    let sb = Sandbox::new();
    let before = warm_footprint(&sb);
    let web = [
        "--name",
        "web",
        "-p",
        "8080:80",
        img(),
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/var/www",
    ];
    let id = sb.run_detached(&web);
    let line = sb.ps_line(false, "web").expect("den ps does not list web");
    assert!(line.starts_with(&id[..12]), "{line}");
    assert!(line.contains("Up "), "{line}");
    assert!(line.contains("0.0.0.0:8080->80/tcp"), "{line}");
    assert_eq!(web_reachable(&sb), PAGE);
    let ip = sb.inspect("web").ip().expect("web has an address");

    // httpd as PID 1 has no SIGTERM handler, so it ignores SIGTERM: killed after -t.
    let started = Instant::now();
    assert_eq!(sb.den(&["stop", "-t", "1", "web"]).ok().out(), "web");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "stop did not wait"
    );
    // stop returns once the exit is recorded: no waiting needed here.
    let line = sb
        .ps_line(true, "web")
        .expect("den ps -a does not list web");
    assert!(line.contains("Exited (137)"), "{line}");
    assert!(
        sb.ps_line(false, "web").is_none(),
        "ps lists a stopped container"
    );
    http_get(&sb.out_ns_path(), addr(&format!("{HOST_ADDR}:8080")))
        .expect_err("8080 answers while web is stopped");

    assert_eq!(sb.den(&["start", "web"]).ok().out(), "web");
    assert_eq!(web_reachable(&sb), PAGE);
    let again = sb.inspect("web");
    assert_eq!(
        again.id().as_deref(),
        Some(id.as_str()),
        "start made a new container"
    );
    assert_eq!(
        again.ip().as_deref(),
        Some(ip.as_str()),
        "start changed the address"
    );

    sb.den(&["rm", "web"]).expect_code(1);
    sb.den(&["rm", "-f", "web"]).ok();
    sb.assert_footprint(&before, "run -d, stop, start, rm -f");
}

#[test]
fn logs_keep_the_streams_apart_and_follow_until_exit() {
    let sb = Sandbox::new();
    let script = "echo one; echo two >&2; sleep 1; echo three";
    sb.run_detached(&[
        "--network",
        "none",
        "--name",
        "talk",
        img(),
        "sh",
        "-c",
        script,
    ]);
    // -f returns when the container exits, with everything it wrote, each on its own stream.
    let followed = sb.den(&["logs", "-f", "talk"]).ok();
    assert_eq!(followed.stdout, "one\nthree\n", "{followed}");
    assert_eq!(followed.stderr, "two\n", "{followed}");
    sb.wait_exited("talk", 0);
    let all = sb.den(&["logs", "talk"]).ok();
    assert_eq!(
        (all.stdout.as_str(), all.stderr.as_str()),
        ("one\nthree\n", "two\n")
    );
    let last = sb.den(&["logs", "--tail", "2", "talk"]).ok();
    assert_eq!(
        (last.stdout.as_str(), last.stderr.as_str()),
        ("three\n", "two\n")
    );
    // Output of a second run is appended.
    sb.den(&["start", "talk"]).ok();
    sb.wait_exited("talk", 0);
    let twice = sb.den(&["logs", "talk"]).ok();
    assert_eq!(twice.stdout, "one\nthree\none\nthree\n");
    assert_eq!(twice.stderr, "two\ntwo\n");
}

#[test]
fn stop_sends_sigterm_first() {
    let sb = Sandbox::new();
    // A PID 1 with a SIGTERM handler ends on SIGTERM: no SIGKILL needed.
    let script = "trap 'echo got TERM; exit 143' TERM; echo ready; while :; do sleep 0.1; done";
    sb.run_detached(&[
        "--network",
        "none",
        "--name",
        "polite",
        img(),
        "sh",
        "-c",
        script,
    ]);
    wait_until(START_TIMEOUT, "polite to be ready", || {
        sb.den(&["logs", "polite"]).ok().stdout.contains("ready")
    });
    let started = Instant::now();
    sb.den(&["stop", "-t", "30", "polite"]).ok();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "stop waited for the grace period"
    );
    let line = sb.ps_line(true, "polite").unwrap();
    assert!(line.contains("Exited (143)"), "{line}");
    assert!(sb.den(&["logs", "polite"]).ok().stdout.contains("got TERM"));
}

#[test]
fn sigkill_from_the_host_is_recorded_and_cleaned_up() {
    let sb = Sandbox::new();
    let before = warm_footprint(&sb);
    let web = [
        "--name",
        "victim",
        "-p",
        "8080:80",
        img(),
        "httpd",
        "-f",
        "-p",
        "80",
    ];
    sb.run_detached(&web);
    let pid = sb.inspect("victim").pid().expect("victim has a pid");
    sb.kill_member(pid, SIGKILL);
    sb.wait_exited("victim", 137);
    let info = sb.inspect("victim");
    assert_eq!(info.status().as_deref(), Some("exited"), "{:#}", info.0);
    assert_eq!(info.exit_code(), Some(137), "{:#}", info.0);
    // Its veth, firewall elements and lease went with it; only its record is left.
    let after = sb.footprint();
    assert_eq!(after.links, before.links, "host links left behind");
    assert_eq!(after.nft, before.nft, "nft elements left behind");
    assert_eq!(after.leases, before.leases, "lease left behind");
    sb.den(&["rm", "victim"]).ok();
    sb.assert_footprint(&before, "SIGKILLed container, then rm");
}

#[test]
fn top_shows_host_pids_that_match_proc() {
    let sb = Sandbox::new();
    let script = "sleep 100 & sleep 200 & echo ready; wait";
    sb.run_detached(&[
        "--network",
        "none",
        "--name",
        "busy",
        img(),
        "sh",
        "-c",
        script,
    ]);
    wait_until(START_TIMEOUT, "busy to be ready", || {
        sb.den(&["logs", "busy"]).ok().stdout.contains("ready")
    });
    let pid1 = sb.inspect("busy").pid().unwrap();
    let out = sb.den(&["top", "busy"]).ok();
    let rows: Vec<(i32, i32, String)> = out
        .stdout
        .lines()
        .skip(1)
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (
                w[0].parse().unwrap(),
                w[1].parse().unwrap(),
                w[3..].join(" "),
            )
        })
        .collect();
    assert_eq!(rows.len(), 3, "expected sh and two sleeps\n{out}");
    assert!(
        rows.contains(&(1, pid1 as i32, format!("sh -c {script}"))),
        "{out}"
    );
    for (pid, host_pid, cmd) in &rows {
        let nspid = procs::status_field(*host_pid, "NSpid").expect("host pid exists");
        let ids: Vec<i32> = nspid
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(ids.first(), Some(host_pid), "NSpid of {host_pid}: {nspid}");
        assert_eq!(ids.last(), Some(pid), "NSpid of {host_pid}: {nspid}");
        let cmdline = fs::read_to_string(format!("/proc/{host_pid}/cmdline")).unwrap();
        assert_eq!(&cmdline.replace('\0', " ").trim_end().to_string(), cmd);
    }
    sb.den(&["rm", "-f", "busy"]).ok();
}

#[test]
fn detached_rm_leaves_nothing_after_exit() {
    let sb = Sandbox::new();
    let before = warm_footprint(&sb);
    sb.run_detached(&[
        "--rm",
        "--name",
        "brief",
        "-p",
        "8080:80",
        img(),
        "sleep",
        "0.5",
    ]);
    wait_until(EXIT_TIMEOUT, "brief to be removed", || {
        sb.ps_line(true, "brief").is_none()
    });
    sb.assert_footprint(&before, "run -d --rm");
}

#[test]
fn run_d_returns_even_when_its_output_is_a_pipe() {
    let sb = Sandbox::new();
    // A supervisor holding den's stdout or stderr would keep `| cat` waiting for the container.
    let script = format!(
        "timeout 15 {} --root {} run -d --network none --name held {} sleep 60 2>&1 | cat",
        den_bin().display(),
        sb.root().display(),
        img()
    );
    let started = Instant::now();
    let out = sb.host(&script).ok();
    assert!(started.elapsed() < Duration::from_secs(10), "{out}");
    assert_eq!(out.out().len(), 64, "{out}");
    assert!(sb.ps_line(false, "held").is_some_and(|l| l.contains("Up ")));
    sb.den(&["rm", "-f", "held"]).ok();
}

#[test]
fn kill_sends_the_signal_asked_for() {
    let sb = Sandbox::new();
    let script = "trap 'echo got USR1' USR1; echo ready; while :; do sleep 0.1; done";
    sb.run_detached(&[
        "--network",
        "none",
        "--name",
        "sig",
        img(),
        "sh",
        "-c",
        script,
    ]);
    wait_until(START_TIMEOUT, "sig to be ready", || {
        sb.den(&["logs", "sig"]).ok().stdout.contains("ready")
    });
    sb.den(&["kill", "-s", "USR1", "sig"]).ok();
    wait_until(START_TIMEOUT, "the USR1 trap", || {
        sb.den(&["logs", "sig"]).ok().stdout.contains("got USR1")
    });
    assert!(
        sb.ps_line(false, "sig").is_some(),
        "USR1 ended the container"
    );
    sb.den(&["kill", "sig"]).ok();
    sb.wait_exited("sig", 137);
}

#[test]
fn supervisor_takes_a_killed_member_out_of_the_others_hosts_files() {
    let sb = Sandbox::new();
    sb.den(&["network", "create", "team"]).ok();
    sb.run_detached(&["--network", "team", "--name", "a", img(), "sleep", "600"]);
    sb.run_detached(&["--network", "team", "--name", "b", img(), "sleep", "600"]);
    let b = sb.inspect("b").pid().unwrap();
    let hosts = || fs::read_to_string(sb.container_path(b, "/etc/hosts")).unwrap();
    let lists_a = |h: &str| {
        h.lines()
            .any(|l| l.split_whitespace().skip(1).any(|w| w == "a"))
    };
    assert!(
        lists_a(&hosts()),
        "b's /etc/hosts does not list a:\n{}",
        hosts()
    );
    sb.kill_member(sb.inspect("a").pid().unwrap(), SIGKILL);
    sb.wait_exited("a", 137);
    assert!(
        !lists_a(&hosts()),
        "b's /etc/hosts still lists a:\n{}",
        hosts()
    );
    sb.den(&["rm", "-f", "a", "b"]).ok();
}
