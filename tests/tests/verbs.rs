//! The verbs on a container's lifecycle besides run/stop/start/rm: pause and unpause (the
//! freezer), wait, rename, port NAME PORT, container prune; each with docker's exit codes.

use std::fs;
use std::time::Duration;

use den_tests::{fixtures, wait_for, Sandbox, EXIT_TIMEOUT};

fn img() -> &'static str {
    fixtures().dir_arg()
}

/// The counter the "ticker" container writes every 20 ms, read from the host.
fn count(sb: &Sandbox, pid: u32) -> u64 {
    let path = sb.container_path(pid, "/tmp/n");
    fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn pause_freezes_every_process_until_unpause() {
    let sb = Sandbox::new();
    let before = sb.footprint();
    let tick = "i=0; while :; do i=$((i+1)); echo $i > /tmp/n; sleep 0.02; done";
    sb.run_detached(&[
        "--network",
        "none",
        "--name",
        "ticker",
        img(),
        "sh",
        "-c",
        tick,
    ]);
    let pid = sb.inspect("ticker").pid().expect("ticker runs");
    wait_for(EXIT_TIMEOUT, "the ticker to count", || {
        (count(&sb, pid) > 2).then_some(())
    });

    assert_eq!(sb.den(&["pause", "ticker"]).ok().out(), "ticker");
    let frozen = count(&sb, pid);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(count(&sb, pid), frozen, "it counted while paused");
    let i = sb.inspect("ticker");
    assert_eq!(i.status().as_deref(), Some("paused"));
    assert_eq!(i.get(&["State", "Paused"]), Some(&serde_json::json!(true)));
    let line = sb
        .ps_line(false, "ticker")
        .expect("ps lists a paused container");
    assert!(line.contains("(Paused)"), "{line}");
    let again = sb.den(&["pause", "ticker"]).expect_code(1);
    assert!(again.stderr.contains("already paused"), "{again}");

    assert_eq!(sb.den(&["unpause", "ticker"]).ok().out(), "ticker");
    wait_for(EXIT_TIMEOUT, "the ticker to count again", || {
        (count(&sb, pid) > frozen + 2).then_some(())
    });
    sb.den(&["unpause", "ticker"]).expect_code(1);

    // A paused container still stops (thawed after the signal, as docker does).
    sb.den(&["pause", "ticker"]).ok();
    sb.den(&["stop", "-t", "1", "ticker"]).ok();
    sb.wait_exited("ticker", 137);
    sb.den(&["pause", "ticker"]).expect_code(1);
    sb.den(&["rm", "ticker"]).ok();
    sb.assert_footprint(&before, "pause, unpause, stop");
}

#[test]
fn wait_prints_the_exit_code_once_it_stops() {
    let sb = Sandbox::new();
    sb.run_detached(&[
        "--network",
        "none",
        "--name",
        "late",
        img(),
        "sh",
        "-c",
        "sleep 0.5; exit 7",
    ]);
    assert_eq!(sb.den(&["wait", "late"]).ok().out(), "7");
    // Stopped already: at once.
    assert_eq!(sb.den(&["wait", "late"]).ok().out(), "7");
    let missing = sb.den(&["wait", "late", "nosuch"]).expect_code(1);
    assert_eq!(missing.out(), "7");
    assert!(missing.stderr.contains("nosuch"), "{missing}");
    sb.den(&["rm", "late"]).ok();
}

#[test]
fn rename_moves_the_name_and_frees_the_old_one() {
    let sb = Sandbox::new();
    let id = sb.run_detached(&["--network", "none", "--name", "old", img(), "sleep", "1000"]);
    sb.den(&["rename", "old", "new"]).ok();
    assert_eq!(sb.inspect("new").id().as_deref(), Some(id.as_str()));
    assert!(
        sb.try_inspect("old").is_none(),
        "the old name still finds it"
    );
    assert!(sb.ps_line(false, "new").is_some());
    // The old name is free again; a taken or bad name is refused and changes nothing.
    sb.run_detached(&["--network", "none", "--name", "old", img(), "sleep", "1000"]);
    let taken = sb.den(&["rename", "new", "old"]);
    assert!(
        !taken.success() && taken.stderr.contains("already in use"),
        "{taken}"
    );
    assert!(!sb.den(&["rename", "new", "bad/name"]).success());
    assert_eq!(sb.inspect("new").id().as_deref(), Some(id.as_str()));
    sb.den(&["rm", "-f", "new", "old"]).ok();
}

#[test]
fn port_with_a_port_prints_its_host_addresses() {
    let sb = Sandbox::new();
    sb.run_detached(&[
        "--name",
        "ports",
        "-p",
        "8080:80",
        "-p",
        "5353:53/udp",
        img(),
        "sleep",
        "1000",
    ]);
    assert_eq!(sb.den(&["port", "ports", "80"]).ok().out(), "0.0.0.0:8080");
    assert_eq!(
        sb.den(&["port", "ports", "80/tcp"]).ok().out(),
        "0.0.0.0:8080"
    );
    assert_eq!(
        sb.den(&["port", "ports", "53/udp"]).ok().out(),
        "0.0.0.0:5353"
    );
    let none = sb.den(&["port", "ports", "81"]).expect_code(1);
    assert!(none.stderr.contains("81/tcp"), "{none}");
    let all = sb.den(&["port", "ports"]).ok();
    assert_eq!(all.stdout.lines().count(), 2, "{all}");
    sb.den(&["rm", "-f", "ports"]).ok();
}

#[test]
fn container_prune_removes_only_stopped_containers() {
    let sb = Sandbox::new();
    let before = sb.footprint();
    let done = sb.run_detached(&["--network", "none", "--name", "done", img(), "true"]);
    sb.run_detached(&[
        "--network",
        "none",
        "--name",
        "busy",
        img(),
        "sleep",
        "1000",
    ]);
    sb.wait_exited("done", 0);
    // Without -f it asks; no answer keeps everything.
    sb.den(&["container", "prune"]).ok();
    assert!(sb.try_inspect("done").is_some(), "pruned without a yes");
    let out = sb.den(&["container", "prune", "-f"]).ok();
    assert_eq!(
        out.stdout,
        format!("Deleted Containers:\n{done}\n"),
        "{out}"
    );
    assert!(sb.try_inspect("done").is_none());
    assert!(
        sb.ps_line(false, "busy").is_some(),
        "prune took a running container"
    );
    sb.den(&["rm", "-f", "busy"]).ok();
    sb.assert_footprint(&before, "container prune");
}

#[test]
fn create_makes_a_container_that_start_runs() {
    let sb = Sandbox::new();
    sb.den(&["run", "--rm", "-p", "9999:80", img(), "true"])
        .ok();
    let before = sb.footprint();
    let out = sb
        .den(&[
            "create",
            "--name",
            "made",
            "-p",
            "8080:80",
            img(),
            "sleep",
            "1000",
        ])
        .ok();
    let id = out.out().to_string();
    assert_eq!(id.len(), 64, "{out}");
    let line = sb.ps_line(true, "made").expect("ps -a lists it");
    assert!(line.contains("Created"), "{line}");
    assert!(
        sb.ps_line(false, "made").is_none(),
        "ps lists a created container"
    );
    assert_eq!(sb.inspect("made").status().as_deref(), Some("created"));
    // A container at rest, not a dead den's leftover.
    sb.den(&["gc"]).ok();
    assert!(
        sb.try_inspect("made").is_some(),
        "gc removed a created container"
    );
    sb.den(&["create", "--name", "made", img(), "true"])
        .expect_code(125);

    assert_eq!(sb.den(&["start", "made"]).ok().out(), "made");
    let i = sb.inspect("made");
    assert_eq!(i.status().as_deref(), Some("running"));
    assert_eq!(i.id().as_deref(), Some(id.as_str()));
    assert_eq!(sb.den(&["port", "made", "80"]).ok().out(), "0.0.0.0:8080");

    // start -a: in the foreground, with its output and its exit status.
    sb.den(&[
        "create",
        "--network",
        "none",
        "--name",
        "fg",
        img(),
        "sh",
        "-c",
        "echo hi; echo oops >&2; exit 3",
    ])
    .ok();
    let fg = sb.den(&["start", "-a", "fg"]).expect_code(3);
    assert_eq!((fg.stdout.as_str(), fg.stderr.as_str()), ("hi\n", "oops\n"));
    sb.den(&["rm", "-f", "made", "fg"]).ok();
    sb.assert_footprint(&before, "create, start, start -a");
}

#[test]
fn exec_d_returns_at_once_and_the_command_runs_on() {
    let sb = Sandbox::new();
    sb.run_detached(&[
        "--network",
        "none",
        "--name",
        "host",
        img(),
        "sleep",
        "1000",
    ]);
    let t = std::time::Instant::now();
    let out = sb
        .den(&[
            "exec",
            "-d",
            "host",
            "sh",
            "-c",
            "sleep 0.5; echo done > /tmp/mark",
        ])
        .ok();
    assert!(out.stdout.is_empty(), "{out}");
    assert!(
        t.elapsed() < Duration::from_millis(450),
        "exec -d waited: {:?}",
        t.elapsed()
    );
    let pid = sb.inspect("host").pid().unwrap();
    let mark = sb.container_path(pid, "/tmp/mark");
    assert!(!mark.exists(), "ran before its sleep ended?");
    wait_for(EXIT_TIMEOUT, "the detached exec to finish", || {
        fs::read_to_string(&mark).ok().filter(|s| s == "done\n")
    });
    sb.den(&["exec", "-d", "nosuch", "true"]).expect_code(125);
    sb.den(&["exec", "-d", "-t", "host", "true"])
        .expect_code(125);
    sb.den(&["rm", "-f", "host"]).ok();
}

#[test]
fn system_prune_takes_what_no_container_uses() {
    let sb = Sandbox::new();
    for name in ["kept", "spare"] {
        sb.den(&["image", "load", fixtures().tar_arg(), "--name", name])
            .ok();
    }
    sb.run_detached(&[
        "--network",
        "none",
        "--name",
        "busy",
        "kept",
        "sleep",
        "1000",
    ]);
    sb.run_detached(&[
        "--network",
        "none",
        "--name",
        "gone",
        "-v",
        "/data",
        img(),
        "true",
    ]);
    sb.wait_exited("gone", 0);
    let volumes = sb.den(&["volume", "ls", "-q"]).ok().stdout;
    assert_eq!(volumes.lines().count(), 1, "{volumes}");
    // Without -a, images stay; without --volumes, volumes stay.
    sb.den(&["system", "prune", "-f"]).ok();
    assert!(
        sb.try_inspect("gone").is_none(),
        "the stopped container is still there"
    );
    assert_eq!(sb.den(&["volume", "ls", "-q"]).ok().stdout, volumes);
    // spare is the same image (id) as kept, which a container uses: docker keeps both.
    let out = sb.den(&["system", "prune", "-a", "--volumes", "-f"]).ok();
    assert!(out.stdout.contains("Deleted Volumes:"), "{out}");
    assert!(out.stdout.contains("Total reclaimed space:"), "{out}");
    let images = sb.den(&["images"]).ok().stdout;
    assert!(
        images.contains("kept") && images.contains("spare"),
        "{images}"
    );
    assert_eq!(sb.den(&["volume", "ls", "-q"]).ok().stdout, "");
    assert!(
        sb.ps_line(false, "busy").is_some(),
        "prune took a running container"
    );
    sb.den(&["rm", "-f", "busy"]).ok();
    let out = sb.den(&["system", "prune", "-a", "-f"]).ok();
    assert!(out.stdout.contains("Deleted Images:"), "{out}");
    let images = sb.den(&["images"]).ok().stdout;
    assert!(
        !images.contains("kept") && !images.contains("spare"),
        "{images}"
    );
}
