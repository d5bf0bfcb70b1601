//! What the supervisor does besides waiting: restart policies (docker's backoff, `den stop` ends
//! them, `den start --restart-policies` after a reboot), health checks, `--stop-timeout`.

use std::fs;
use std::time::{Duration, Instant};

use den_tests::{assert_rejected, fixtures, wait_for, Inspect, Sandbox, EXIT_TIMEOUT};

fn img() -> &'static str {
    fixtures().dir_arg()
}

fn restart_count(i: &Inspect) -> u64 {
    i.get(&["RestartCount"])
        .and_then(|v| v.as_u64())
        .expect("inspect has RestartCount")
}

/// The delays (ms) the supervisor waited before each restart, from its journal.
fn delays(sb: &Sandbox, id: &str) -> Vec<u64> {
    let log = sb.root().join("containers").join(id).join("supervisor.log");
    fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(" in ").nth(1)?.split(" ms").next()?.parse().ok())
        .collect()
}

/// The uptimes (seconds) the container's runs started at, as it wrote them.
fn starts(sb: &Sandbox, name: &str) -> Vec<f64> {
    let to = sb.scratch().join("starts");
    sb.den(&["cp", &format!("{name}:/starts"), to.to_str().unwrap()])
        .ok();
    fs::read_to_string(&to)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

#[test]
fn on_failure_restarts_exactly_twice_with_growing_delays() {
    let sb = Sandbox::new();
    let before = sb.footprint();
    let id = sb.run_detached(&[
        "--network",
        "none",
        "--name",
        "flaky",
        "--restart",
        "on-failure:2",
        img(),
        "sh",
        "-c",
        "cat /proc/uptime >> /starts; exit 3",
    ]);
    // The exit code is there once the supervisor has recorded the last exit (inspect shows a
    // PID 1 that is gone as exited before that).
    wait_for(EXIT_TIMEOUT, "two restarts, then exited (3)", || {
        let i = sb.inspect("flaky");
        (restart_count(&i) == 2
            && i.status().as_deref() == Some("exited")
            && i.exit_code() == Some(3)
            && i.get(&["State", "Restarting"]) == Some(&serde_json::json!(false)))
        .then_some(i)
    });
    // No third restart comes later.
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(restart_count(&sb.inspect("flaky")), 2);
    assert_eq!(delays(&sb, &id), vec![100, 200], "docker's backoff");
    let runs = starts(&sb, "flaky");
    assert_eq!(runs.len(), 3, "one run and two restarts: {runs:?}");
    for (gap, delay) in runs.windows(2).map(|w| w[1] - w[0]).zip([0.1, 0.2]) {
        assert!(
            gap >= delay,
            "restarted after {gap}s, before its {delay}s delay"
        );
    }
    sb.den(&["rm", "flaky"]).ok();
    sb.assert_footprint(&before, "on-failure:2");
}

#[test]
fn always_comes_back_after_a_kill_and_stop_ends_it() {
    let sb = Sandbox::new();
    let before = sb.footprint();
    let run = |name: &str, policy: &str| {
        sb.run_detached(&[
            "--network",
            "none",
            "--name",
            name,
            "--restart",
            policy,
            img(),
            "sleep",
            "1000",
        ])
    };
    run("keeper", "always");
    let first = sb.inspect("keeper").pid().expect("keeper runs");
    sb.den(&["kill", "keeper"]).ok();
    let again = wait_for(EXIT_TIMEOUT, "keeper to run again", || {
        let i = sb.inspect("keeper");
        (i.status().as_deref() == Some("running") && i.pid().is_some_and(|p| p != first))
            .then_some(i)
    });
    assert_eq!(restart_count(&again), 1);
    assert!(sb.ps_line(false, "keeper").is_some(), "ps does not list it");

    let stopped = Instant::now();
    sb.den(&["stop", "-t", "1", "keeper"]).ok();
    assert!(
        stopped.elapsed() < Duration::from_secs(5),
        "stop waited too long"
    );
    std::thread::sleep(Duration::from_millis(600));
    let i = sb.inspect("keeper");
    assert_eq!(i.status().as_deref(), Some("exited"), "stop did not end it");
    assert_eq!(restart_count(&i), 1);

    // After a reboot: always comes back, unless-stopped stopped by hand does not.
    run("lasting", "unless-stopped");
    sb.den(&["stop", "-t", "1", "lasting"]).ok();
    let out = sb.den(&["start", "--restart-policies"]).ok();
    assert_eq!(out.out(), "keeper", "{out}");
    assert_eq!(sb.inspect("keeper").status().as_deref(), Some("running"));
    assert_eq!(sb.inspect("lasting").status().as_deref(), Some("exited"));
    assert_eq!(
        restart_count(&sb.inspect("keeper")),
        0,
        "a start resets the count"
    );

    // `den restart` gives a new PID 1; rm -f of a restarting container leaves nothing.
    let pid = sb.inspect("keeper").pid();
    sb.den(&["restart", "-t", "0", "keeper"]).ok();
    let i = sb.inspect("keeper");
    assert_eq!(i.status().as_deref(), Some("running"));
    assert_ne!(i.pid(), pid, "restart kept the old process");
    sb.den(&["rm", "-f", "keeper", "lasting"]).ok();
    sb.assert_footprint(&before, "always, unless-stopped, restart");
}

fn health(sb: &Sandbox, name: &str) -> Option<String> {
    sb.inspect(name)
        .get(&["State", "Health", "Status"])
        .and_then(|v| v.as_str().map(str::to_string))
}

#[test]
fn health_goes_starting_healthy_unhealthy() {
    let sb = Sandbox::new();
    let before = sb.footprint();
    sb.run_detached(&[
        "--network",
        "none",
        "--name",
        "doc",
        "--health-cmd",
        "cat /tmp/ok",
        "--health-interval",
        "200ms",
        "--health-retries",
        "2",
        "--health-start-period",
        "60s",
        img(),
        "sleep",
        "1000",
    ]);
    // Failures within the start period leave it starting.
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(health(&sb, "doc").as_deref(), Some("starting"));
    let line = sb.ps_line(false, "doc").expect("ps lists doc");
    assert!(line.contains("(health: starting)"), "{line}");

    sb.den(&["exec", "doc", "sh", "-c", "echo fine > /tmp/ok"])
        .ok();
    wait_for(EXIT_TIMEOUT, "doc to be healthy", || {
        (health(&sb, "doc").as_deref() == Some("healthy")).then_some(())
    });
    let line = sb.ps_line(false, "doc").expect("ps lists doc");
    assert!(line.contains("(healthy)"), "{line}");
    let i = sb.inspect("doc");
    let log = i
        .get(&["State", "Health", "Log"])
        .and_then(|l| l.as_array())
        .unwrap();
    let last = log.last().expect("a check result");
    assert_eq!(last["ExitCode"], 0);
    assert_eq!(last["Output"], "fine\n");

    sb.den(&["exec", "doc", "rm", "/tmp/ok"]).ok();
    wait_for(EXIT_TIMEOUT, "doc to be unhealthy", || {
        (health(&sb, "doc").as_deref() == Some("unhealthy")).then_some(())
    });
    let i = sb.inspect("doc");
    let streak = i
        .get(&["State", "Health", "FailingStreak"])
        .and_then(|v| v.as_u64());
    assert!(streak >= Some(2), "{streak:?}");
    sb.den(&["rm", "-f", "doc"]).ok();
    sb.assert_footprint(&before, "health checks");
}

#[test]
fn stop_timeout_and_signal_come_from_the_run() {
    let sb = Sandbox::new();
    // sleep as PID 1 has no handler for TERM: only the KILL after the timeout ends it.
    sb.run_detached(&[
        "--network",
        "none",
        "--name",
        "slow",
        "--stop-timeout",
        "1",
        img(),
        "sleep",
        "1000",
    ]);
    let t = Instant::now();
    sb.den(&["stop", "slow"]).ok();
    let took = t.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(8),
        "{took:?}"
    );
    // A signal PID 1 does handle by dying (its default): INT here ends it at once.
    sb.run_detached(&[
        "--network",
        "none",
        "--name",
        "quick",
        "--stop-signal",
        "KILL",
        img(),
        "sleep",
        "1000",
    ]);
    let t = Instant::now();
    sb.den(&["stop", "quick"]).ok();
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    sb.wait_exited("quick", 137);
    sb.den(&["rm", "slow", "quick"]).ok();
}

#[test]
fn bad_lifecycle_flags_are_refused() {
    let sb = Sandbox::new();
    let before = sb.footprint();
    let none = ["--network", "none"];
    let cases: [(&[&str], &[&str]); 5] = [
        (&["--restart", "sometimes", "-d"], &["sometimes"]),
        (&["--restart", "always"], &["-d", "restart"]),
        (&["--restart", "always", "--rm", "-d"], &["--rm"]),
        (&["--health-interval", "5", "-d"], &["health-interval"]),
        (
            &["--no-healthcheck", "--health-cmd", "true", "-d"],
            &["no-healthcheck"],
        ),
    ];
    for (flags, culprits) in cases {
        let args = [&["run"][..], &none, flags, &[img(), "true"]].concat();
        assert_rejected(&sb.den(&args), culprits);
    }
    sb.assert_footprint(&before, "rejected lifecycle flags");
}
